"""The layering rules of DESIGN.md, checked on the source: a broken rule fails here first."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
            found.update(f"{node.module}.{alias.name}" for alias in node.names)
        elif isinstance(node, ast.ImportFrom):  # `from . import name`
            found.update("." * node.level + alias.name for alias in node.names)
    return found


@pytest.mark.parametrize("path", sorted((ROOT / "core").rglob("*.py")), ids=str)
def test_core_never_imports_discord_or_the_bot(path: Path) -> None:
    bad = {
        name for name in imported_modules(path)
        if name.split(".")[0] in {"discord", "bot", "cogs"}
    }
    assert not bad, f"{path.relative_to(ROOT)} imports {sorted(bad)}"


@pytest.mark.parametrize("path", sorted((ROOT / "cogs").glob("*.py")), ids=str)
def test_cogs_share_only_private_modules(path: Path) -> None:
    """A cog imports no other cog: shared pieces live in `cogs/_*.py`, which no extension loads."""
    others = {
        name for name in imported_modules(path)
        if name.startswith("cogs.") and not name.split(".")[1].startswith("_")
    }
    assert not others, f"{path.relative_to(ROOT)} imports the cog(s) {sorted(others)}"


def test_no_extension_is_a_private_module() -> None:
    from bot.app import COGS

    assert all(not name.split(".")[-1].startswith("_") for name in COGS)
    assert {f"cogs.{p.stem}" for p in (ROOT / "cogs").glob("[!_]*.py")} == set(COGS)


@pytest.mark.parametrize("path", sorted((ROOT / "tests").rglob("*.py")), ids=str)
def test_no_module_of_the_tests_imports_a_test_module(path: Path) -> None:
    """Helpers and fixtures that test modules share live in helper modules (tests/e2e/helpers.py,
    tests/cli_env.py, ...) or a conftest.py, never in a `test_*` module that others import."""
    tests = {
        name for name in imported_modules(path) if name.split(".")[-1].startswith("test_")
    }
    assert not tests, f"{path.relative_to(ROOT)} imports the test module(s) {sorted(tests)}"
