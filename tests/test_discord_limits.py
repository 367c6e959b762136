"""The fake Discord refuses what Discord refuses: every limit at its edge (n ok, n+1 refused).

If these hold, an end-to-end test that passes through the fake proves the
bot's messages would pass Discord too.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from bot import limits
from tests.fakes.discord.validation import (
    Errors,
    check_choices,
    check_message,
    check_modal,
)

Build = Callable[[int], dict[str, Any]]


def embed(**parts: Any) -> dict[str, Any]:
    return {"embeds": [parts]}


MESSAGE_LIMITS: list[tuple[str, int, Build]] = [
    ("content", limits.CONTENT, lambda n: {"content": "c" * n}),
    ("title", limits.TITLE, lambda n: embed(title="t" * n)),
    ("description", limits.DESCRIPTION, lambda n: embed(description="d" * n)),
    ("footer", limits.FOOTER, lambda n: embed(footer={"text": "f" * n})),
    ("author", limits.AUTHOR_NAME, lambda n: embed(author={"name": "a" * n})),
    ("field name", limits.FIELD_NAME,
     lambda n: embed(fields=[{"name": "n" * n, "value": "v"}])),
    ("field value", limits.FIELD_VALUE,
     lambda n: embed(fields=[{"name": "n", "value": "v" * n}])),
    ("fields", limits.FIELDS,
     lambda n: embed(fields=[{"name": "n", "value": "v"}] * n)),
    ("embeds", limits.EMBEDS, lambda n: {"embeds": [{"title": "t"}] * n}),
    ("total", limits.EMBED_TOTAL, lambda n: {"embeds": [
        {"description": "d" * 3000}, {"description": "d" * (n - 3000)}
    ]}),
    ("option label", limits.OPTION_LABEL, lambda n: select({"label": "l" * n, "value": "v"})),
    ("option value", limits.OPTION_VALUE, lambda n: select({"label": "l", "value": "v" * n})),
    ("option description", limits.OPTION_DESCRIPTION,
     lambda n: select({"label": "l", "value": "v", "description": "d" * n})),
    ("options", limits.OPTIONS,
     lambda n: select(*({"label": "l", "value": f"v{i}"} for i in range(n)))),
]


def select(*options: dict[str, Any]) -> dict[str, Any]:
    menu = {"type": 3, "custom_id": "pick", "options": list(options)}
    return {"content": "x", "components": [{"type": 1, "components": [menu]}]}


def choice_list(name: str = "n", value: Any = "v", count: int = 1) -> list[dict[str, Any]]:
    return [{"name": name, "value": value}] * count


def modal(title: str = "T", label: str = "L", **text: Any) -> dict[str, Any]:
    field = {"type": 4, "custom_id": "reason", "style": 2, "label": label, **text}
    return {"title": title, "custom_id": "m", "components": [{"type": 1, "components": [field]}]}


@pytest.mark.parametrize(
    ("what", "limit", "build"), MESSAGE_LIMITS, ids=[m[0] for m in MESSAGE_LIMITS]
)
def test_message_limits_at_the_edge(what: str, limit: int, build: Build) -> None:
    assert check_message(build(limit), creating=True) == {}
    assert check_message(build(limit + 1), creating=True) != {}


OTHER_LIMITS: list[tuple[str, int, Callable[[int], Errors]]] = [
    ("choice name", limits.CHOICE_NAME, lambda n: check_choices(choice_list(name="n" * n))),
    ("choice value", limits.CHOICE_VALUE, lambda n: check_choices(choice_list(value="v" * n))),
    ("choices", limits.CHOICES, lambda n: check_choices(choice_list(count=n))),
    ("modal title", limits.MODAL_TITLE, lambda n: check_modal(modal(title="t" * n))),
    ("text input label", 45, lambda n: check_modal(modal(label="l" * n))),
    ("text input placeholder", 100, lambda n: check_modal(modal(placeholder="p" * n))),
]


@pytest.mark.parametrize(
    ("what", "limit", "check"), OTHER_LIMITS, ids=[m[0] for m in OTHER_LIMITS]
)
def test_choice_and_modal_limits_at_the_edge(
    what: str, limit: int, check: Callable[[int], Errors]
) -> None:
    assert check(limit) == {}
    assert check(limit + 1) != {}


def test_empty_names_and_values_are_refused() -> None:
    assert check_choices(choice_list(name="")) != {}
    assert check_choices(choice_list(value="")) != {}
    assert check_choices(choice_list(value=None)) != {}
    assert check_choices(choice_list(value=7)) == {}
    assert check_modal(modal(title="")) != {}
    assert check_message(select({"label": "", "value": "v"}), creating=True) != {}
    assert check_message(select({"label": "l", "value": ""}), creating=True) != {}
    assert check_message(embed(fields=[{"name": " ", "value": "v"}]), creating=True) != {}
