"""`bot.render` and `bot.limits`: untrusted text escaped first, then cut to Discord's limits.

The fake Discord's validation is the judge: whatever these functions make
must pass the same checks that refuse a message in the end-to-end tests.
"""

from __future__ import annotations

import discord
import pytest

from bot import limits
from bot.limits import ZWSP, cut, fit_embed, fit_embeds
from bot.render import choice, choices, clean, modal_title, option, plain, safe
from tests.fakes.discord.validation import Errors, check_embeds

STARS = "*" * 250
UNDERSCORES = "_a" * 600
PINGS = "@everyone @here <@123> <@&456> <#789> <t:1:R>"
TICKS = "`" * 300
RTL = "\u202eevil\u202c \u2066isolate\u2069 \u200fmark"
ZERO_WIDTH = "zero\u200bwidth\ufeff\u2060joined"
LONG_ASIN = "B0" + "X1" * 74
WORST = [STARS, UNDERSCORES, PINGS, TICKS, RTL, ZERO_WIDTH, "\\" * 300, "a\\" * 300,
         "line\n" * 1000, "@" * 500, "<" * 500, LONG_ASIN]


def dangling(text: str) -> bool:
    """True when the text ends inside an escape (an odd run of backslashes before the end)."""
    body = text.removesuffix("…").rstrip()
    return (len(body) - len(body.rstrip("\\"))) % 2 == 1


def embed_errors(*embeds: discord.Embed) -> Errors:
    errors: Errors = {}
    check_embeds([e.to_dict() for e in embeds], errors)  # type: ignore[misc]
    return errors


def test_escaping_never_pushes_a_title_over_the_limit() -> None:
    title = safe(STARS, limits.TITLE)

    assert len(title) <= limits.TITLE
    assert title.startswith("\\*\\*") and title.endswith("…")
    assert not dangling(title)


@pytest.mark.parametrize("text", WORST)
@pytest.mark.parametrize("limit", [1, 2, 3, 45, 100, 101, 256, 1024])
def test_safe_fits_and_never_ends_inside_an_escape(text: str, limit: int) -> None:
    out = safe(text, limit)

    assert len(out) <= limit
    assert not dangling(out)
    assert not out.endswith(("@", "<")) or out == ""  # '@'/'<' keep their zero-width space


def test_every_cut_point_of_an_escaped_text_is_whole() -> None:
    escaped = safe("a*b_c\\d@everyone<@1>`e", 1000)
    for limit in range(1, len(escaped) + 1):
        out = cut(escaped, limit)
        assert len(out) <= limit and not dangling(out), (limit, out)
        assert "@e" not in out and "<@" not in out


def test_mentions_and_tags_are_defused() -> None:
    out = safe(PINGS, 500)

    for raw in ("@everyone", "@here", "<@123>", "<@&456>", "<#789>", "<t:"):
        assert raw not in out
    assert out.replace(ZWSP, "") == PINGS  # visible text unchanged


def test_markdown_is_escaped_everywhere_and_line_markup_at_the_start() -> None:
    assert safe("**bold** __u__ ~~s~~ ||spoiler|| `code` [x](https://e.x)") == (
        "\\*\\*bold\\*\\* \\_\\_u\\_\\_ \\~\\~s\\~\\~ \\|\\|spoiler\\|\\| \\`code\\` "
        "\\[x\\](https://e.x)"
    )
    assert safe("# Heading") == "\\# Heading"
    assert safe("-# small") == "\\-# small"
    assert safe("> quote") == "\\> quote"
    assert safe("1. First") == "1\\. First"
    assert safe("Dr. Who - Part 1") == "Dr. Who - Part 1"  # no noise mid-line


def test_invisible_and_direction_characters_are_removed() -> None:
    assert clean(RTL) == "evil isolate mark"
    assert clean(ZERO_WIDTH) == "zerowidthjoined"
    assert clean("a\u200db\u200cc") == "a\u200db\u200cc"  # joiners shape scripts and emoji
    assert clean("one\n\ntwo\tthree\x00") == "one two three"


def test_a_long_multiline_text_loses_whole_lines() -> None:
    text = "\n".join(f"**line {i}**" for i in range(100))

    out = cut(text, 100)

    assert out.endswith("\n…") and out.count("**") % 2 == 0


def test_choice_drops_a_value_that_cannot_fit_and_keeps_the_others() -> None:
    made = choices(
        [("Good " + STARS, "B0GOOD0001"), ("Bad", LONG_ASIN), ("Also good", "B0GOOD0002")]
    )

    assert [c.value for c in made] == ["B0GOOD0001", "B0GOOD0002"]
    assert all(1 <= len(c.name) <= limits.CHOICE_NAME for c in made)
    assert made[0].name.startswith("Good ***")  # plain text: no escapes in choice names
    assert choice("x", LONG_ASIN) is None
    assert choice("", "v") is not None and choice("", "v").name == "?"  # type: ignore[union-attr]
    assert choice("n", 42) is not None


def test_choices_stop_at_25() -> None:
    assert len(choices((f"n{i}", f"v{i}") for i in range(40))) == limits.CHOICES


def test_option_fits_label_and_description_and_drops_long_values() -> None:
    opt = option(UNDERSCORES, "B0GOOD0001", description="Narrated by " + TICKS)

    assert opt is not None
    assert len(opt.label) <= 100 and opt.description and len(opt.description) <= 100
    assert option("x", LONG_ASIN) is None


def test_modal_title_fits() -> None:
    title = modal_title("Deny: ", STARS)

    assert len(title) <= limits.MODAL_TITLE and title.startswith("Deny: ***")


def test_plain_text_is_cut_but_not_escaped() -> None:
    assert plain("a*b", 10) == "a*b"
    assert plain(STARS, 10) == "*" * 9 + "…"


def test_fit_embed_enforces_every_per_embed_limit() -> None:
    embed = discord.Embed(title="T" * 1000, description="D" * 9000, colour=0xE5A00D)
    embed.set_author(name="A" * 1000)
    embed.set_footer(text="F" * 5000)
    embed.set_thumbnail(url="https://example.com/c.jpg")
    for i in range(30):
        embed.add_field(name=f"N{i}" * 200, value="V" * 3000)
    embed.add_field(name="  ", value="")

    fitted = fit_embed(embed)

    assert embed_errors(fitted) == {}
    assert len(fitted.fields) <= limits.FIELDS
    assert fitted.thumbnail.url == "https://example.com/c.jpg" and fitted.colour == embed.colour
    assert fitted.title and fitted.title.startswith("TTT")


def test_fit_embeds_keeps_6000_across_the_message() -> None:
    first = discord.Embed(title="one", description="x" * 4000)
    second = discord.Embed(title="two", description="y" * 4000)
    second.add_field(name="field", value="z" * 1000)

    fitted = fit_embeds([first, second])

    assert embed_errors(*fitted) == {}
    assert sum(len(e) for e in fitted) <= limits.EMBED_TOTAL
    assert all(e.description for e in fitted)  # both shrunk, neither emptied


def test_fit_embed_with_many_small_fields_drops_fields_not_the_message() -> None:
    embed = discord.Embed(title="many")
    for i in range(25):
        embed.add_field(name=f"#{i} " + "n" * 250, value="v" * 1000)

    fitted = fit_embed(embed)

    assert embed_errors(fitted) == {}
    assert fitted.fields and fitted.fields[0].name and fitted.fields[0].name.startswith("#0 ")


def test_fit_embed_leaves_a_fitting_embed_alone() -> None:
    embed = discord.Embed(title="Dune", description="A desert planet.")
    embed.add_field(name="Author", value="Frank Herbert")
    embed.set_footer(text="ASIN B002V1OF70")

    assert fit_embed(embed).to_dict() == embed.to_dict()
