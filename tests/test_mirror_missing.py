"""The rows a full scan did not see, found in steps that yield (``mirror.missing``)."""

from __future__ import annotations

import pytest

from core.library import mirror


async def test_missing_is_the_rows_not_seen(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(mirror, "_READ_CHUNK", 3)  # several steps
    known = {f"g{i}": mirror.Known(i, str(i), "h", None) for i in range(10)}
    seen = {"g1", "g4", "g9", "elsewhere"}
    assert await mirror.missing(known, seen) == known.keys() - seen
    assert await mirror.missing({}, seen) == set()
