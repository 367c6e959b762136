"""Async client of one Plex Media Server: identity, sections, paged album/track listings.

Listings are async generators that fetch one page per step and never ahead,
so a caller that stops early (the recently-added poll) costs one request, and
a 50,000-album scan holds one page in memory at a time.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncGenerator, AsyncIterator, Callable, Mapping
from functools import partial
from typing import Any, TypeVar
from urllib.parse import quote

import aiohttp

from core.aio import AsyncClosing
from core.plex.errors import PlexBadResponse, PlexNotFound
from core.plex.http import DEFAULT_TIMEOUT, ParamValue, PlexHTTP, PlexResponse
from core.plex.models import AlbumPage, FolderPage, PlexAudiobook, PlexIdentity, PlexLibrary
from core.plex.parse import (
    ALBUM_LISTING,
    TRACK_LISTING,
    AlbumListing,
    Listing,
    TrackListing,
    album_folder_from,
    albums_from,
    common_folder,
    container_offset,
    container_total,
    folders_from,
    media_container,
    parse_identity,
    parse_libraries,
)
from core.retry import DEFAULT_RETRY, RetryPolicy

__all__ = ["ALBUM_TYPE", "TRACK_TYPE", "PlexServer"]

log = logging.getLogger(__name__)

ALBUM_TYPE = 9
TRACK_TYPE = 10
#: Track attributes a path lookup never reads (it reads ``parentRatingKey`` and the
#: files under ``Media``). PMS documents ``excludeFields`` as a request it may ignore;
#: where honoured it roughly halves the track listing a first scan reads.
TRACK_FIELDS_LEFT_OFF = frozenset(
    {
        "key", "guid", "title", "summary", "thumb", "art", "parentKey", "parentTitle",
        "parentThumb", "grandparentKey", "grandparentRatingKey", "grandparentTitle",
        "grandparentThumb", "grandparentArt", "addedAt", "updatedAt", "duration",
    }
)  # fmt: skip
_LEFT_OFF = ",".join(sorted(TRACK_FIELDS_LEFT_OFF))

T = TypeVar("T")
L = TypeVar("L", AlbumListing, TrackListing)


def _seg(value: str | int) -> str:
    """A path segment from a caller-supplied key, so ``../`` cannot escape the route."""
    return quote(str(value), safe="")


class PlexServer(AsyncClosing):
    """One PMS reached with one token (the system token, or a user's server access token)."""

    def __init__(
        self,
        url: str,
        token: str,
        *,
        session: aiohttp.ClientSession | None = None,
        client_identifier: str,
        product: str = "Earmark",
        timeout: float = DEFAULT_TIMEOUT,
        retry: RetryPolicy = DEFAULT_RETRY,
    ) -> None:
        self._token = token
        self._http = PlexHTTP(
            url,
            service="Plex Media Server",
            client_identifier=client_identifier,
            product=product,
            session=session,
            timeout=timeout,
            retry=retry,
        )

    @property
    def url(self) -> str:
        """The server's base URL without a trailing slash."""
        return self._http.base_url

    async def close(self) -> None:
        """Release the HTTP session if this client created it."""
        await self._http.close()

    async def _get(
        self,
        path: str,
        params: Mapping[str, ParamValue] | None = None,
        *,
        parse: bool = True,
        listing: Listing[Any] | None = None,
    ) -> PlexResponse:
        return await self._http.request(
            "GET", path, token=self._token, params=params, parse=parse, listing=listing
        )

    # -- server and sections ----------------------------------------------------

    async def identity(self) -> PlexIdentity:
        """``GET /identity``. PMS answers it without checking the token: use
        ``libraries()`` to prove a token works."""
        return parse_identity((await self._get("/identity")).data)

    async def libraries(self) -> list[PlexLibrary]:
        """Every library section; audiobook candidates are those with ``is_music``."""
        return parse_libraries((await self._get("/library/sections")).data)

    async def album_count(self, section_id: str | int) -> int | None:
        """Number of albums (books) in a section, from an empty page's total; None if unsaid.

        ``libraries()`` cannot say it: PMS lists sections without counts.
        """
        resp = await self._get(
            f"/library/sections/{_seg(section_id)}/all",
            {"type": ALBUM_TYPE, "X-Plex-Container-Start": 0, "X-Plex-Container-Size": 0},
        )
        return container_total(media_container(resp.data), resp.headers)

    async def refresh(self, section_id: str | int) -> None:
        """Ask PMS to rescan a section (it answers at once and scans in the background)."""
        await self._get(f"/library/sections/{_seg(section_id)}/refresh", parse=False)

    # -- paged listings -----------------------------------------------------------

    async def _paged(
        self,
        path: str,
        params: Mapping[str, ParamValue],
        page_size: int,
        listing: Listing[L],
        parse: Callable[[L], tuple[T, int]],
        *,
        start: int = 0,
        limit: int | None = None,
    ) -> AsyncIterator[tuple[T, int, int | None, int]]:
        """Yield (parsed page, start, total, raw entry count) until the listing is exhausted.

        Totals may be missing (then a short or empty page ends the listing) or
        may change while we page (items added or removed): the latest wins.
        With ``limit``, stop after about that many entries from ``start``.
        """
        if page_size < 1:
            raise ValueError("page_size must be at least 1")
        end = None if limit is None else start + limit
        while True:
            size = page_size if end is None else min(page_size, end - start)
            if size < 1:
                return
            query = {
                **params,
                "X-Plex-Container-Start": start,
                "X-Plex-Container-Size": size,
            }
            resp = await self._get(path, query, listing=listing)
            total = container_total(resp.data, resp.headers)
            offset = container_offset(resp.data, resp.headers)
            if offset is not None and offset != start:
                raise PlexBadResponse(
                    f"asked {path} for entries from {start}, the server answered from {offset}"
                )
            parsed, count = parse(resp.data)
            yield parsed, start, total, count
            if count == 0:
                return
            start += count
            if total is not None:
                if start >= total:
                    return
            elif count != size:
                # Short page: the end. Longer than asked: the server ignored paging
                # and sent everything; asking again would repeat it.
                return

    async def iter_albums(
        self,
        section_id: str | int,
        *,
        sort: str | None = None,
        page_size: int = 500,
        include_guids: bool = True,
    ) -> AsyncIterator[AlbumPage]:
        """Every album (book) of a section, one page per step; ``file_path`` is None here."""
        params: dict[str, ParamValue] = {"type": ALBUM_TYPE}
        if sort:
            params["sort"] = sort
        if include_guids:
            params["includeGuids"] = 1
        library_id = str(section_id)
        parse = partial(albums_from, library_id=library_id)
        path = f"/library/sections/{_seg(section_id)}/all"
        pages = self._paged(path, params, page_size, ALBUM_LISTING, parse)
        async for albums, start, total, _count in pages:
            yield AlbumPage(items=albums, start=start, total=total)

    async def recently_added(
        self, section_id: str | int, *, page_size: int = 50
    ) -> AsyncGenerator[AlbumPage, None]:
        """Albums newest first; stop iterating once you have seen enough (then `aclose()`)."""
        async for page in self.iter_albums(section_id, sort="addedAt:desc", page_size=page_size):
            yield page

    async def track_count(self, section_id: str | int) -> int | None:
        """Number of tracks in a section (an empty page's total); None if unsaid."""
        resp = await self._get(
            f"/library/sections/{_seg(section_id)}/all",
            {"type": TRACK_TYPE, "X-Plex-Container-Start": 0, "X-Plex-Container-Size": 0},
            listing=TRACK_LISTING,
        )
        return container_total(resp.data, resp.headers)

    async def iter_folders(
        self,
        section_id: str | int,
        *,
        page_size: int = 2000,
        start: int = 0,
        limit: int | None = None,
    ) -> AsyncIterator[FolderPage]:
        """Album rating key -> folder of its files, from the paged track (type=10) listing.

        One request per ``page_size`` tracks instead of one per album. An album
        split across pages is reported again with the common folder of all its
        tracks so far, so ``folders.update(page.folders)`` is always right.
        ``start``/``limit`` read a window of the listing only: an album on the
        window's edge may then be seen with part of its tracks.
        """
        path = f"/library/sections/{_seg(section_id)}/all"
        params: dict[str, ParamValue] = {"type": TRACK_TYPE, "excludeFields": _LEFT_OFF}
        seen: dict[str, str] = {}
        pages = self._paged(
            path, params, page_size, TRACK_LISTING, folders_from, start=start, limit=limit
        )
        async for folders, first, total, count in pages:
            for rating_key, folder in folders.items():
                previous = seen.get(rating_key)
                if previous is not None and previous != folder:
                    folder = common_folder(previous, folder)
                    folders[rating_key] = folder
                seen[rating_key] = folder
            yield FolderPage(folders=folders, start=first, total=total, tracks=count)

    # -- single items -------------------------------------------------------------

    async def album_folder(self, rating_key: str | int) -> str | None:
        """The folder of one album's files (via its tracks); None if it has none or is gone."""
        try:
            resp = await self._get(
                f"/library/metadata/{_seg(rating_key)}/children",
                {"excludeFields": _LEFT_OFF},
                listing=TRACK_LISTING,
            )
        except PlexNotFound:
            return None
        return album_folder_from(resp.data)

    async def metadata(self, rating_key: str | int) -> PlexAudiobook | None:
        """One album with its current metadata (and the token owner's rating); None on 404."""
        try:
            resp = await self._get(
                f"/library/metadata/{_seg(rating_key)}", {"includeGuids": 1}, listing=ALBUM_LISTING
            )
        except PlexNotFound:
            return None
        albums, _count = albums_from(resp.data)
        return albums[0] if albums else None

    async def search(
        self, section_id: str | int, title: str, *, limit: int = 20
    ) -> list[PlexAudiobook]:
        """Albums of a section whose title contains ``title`` (PMS's type=9 title filter)."""
        params: dict[str, ParamValue] = {
            "type": ALBUM_TYPE,
            "title": title,
            "includeGuids": 1,
            "X-Plex-Container-Start": 0,
            "X-Plex-Container-Size": limit,
        }
        resp = await self._get(
            f"/library/sections/{_seg(section_id)}/all", params, listing=ALBUM_LISTING
        )
        albums, _count = albums_from(resp.data, library_id=str(section_id))
        return albums[:limit]
