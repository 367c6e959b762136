"""A saved index writes long posting lists in pieces and loads them whole (``packed``)."""

from __future__ import annotations

from pathlib import Path

import pytest

from core.matcher import LibraryIndex, chunks, packed
from tests.library_items import _library


def test_posting_lists_longer_than_a_piece_load_whole(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(chunks, "PIECE", 7)  # every list of "the" etc. spans many records
    built = LibraryIndex(_library(300))
    path = tmp_path / "lib.index"
    assert packed.save(built, path, 7, built.changes)
    loaded = packed.load(path, 7)
    assert loaded is not None
    for mine, theirs in zip(loaded.postings, built.postings, strict=True):
        assert mine.lists == theirs.lists
    assert max(len(keys) for keys in built.postings[1].lists.values()) > 7
    assert [i.rating_key for i, _ in loaded.search("the")] == [
        i.rating_key for i, _ in built.search("the")
    ]
