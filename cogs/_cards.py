"""Book cards that need the running bot: catalog details, links and the Listen button.

`cogs._embeds` builds embeds from what it is given; this module fetches
what a card may add: the catalog's details for a stored ASIN (cached, with
a short deadline, falling back to what is stored), the title's link to the
book's catalog page, the cover for a library item, and the "Listen in Plex"
link button (the app.plex.tv page of the item: no token, no server URL).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping
from typing import Any

import discord

from bot.app import EarmarkBot
from cogs._embeds import book_embed, library_embed, request_embed
from core.asin import is_asin
from core.catalog import CatalogBook, product_url
from core.matcher import BookQuery
from core.models import BookRequest, PlexItem
from core.notify import request_payload
from core.plex.links import listen_url

log = logging.getLogger(__name__)

CATALOG_WAIT = 1.0  # seconds a card waits for the catalog; then it shows what is stored
LISTEN_LABEL = "Listen in Plex"


class Cards:
    """Card builders bound to one bot (its settings, catalog cache and stored Plex server)."""

    def __init__(self, bot: EarmarkBot) -> None:
        self.bot = bot
        self.runtime = bot.runtime

    def link(self, asin: str | None) -> str | None:
        """The book's page in the catalog's marketplace (the card title's link)."""
        return product_url(asin, self.runtime.settings.catalog.region) if asin else None

    async def catalog_book(self, asin: str | None) -> CatalogBook | None:
        """The catalog's details for `asin` within `CATALOG_WAIT`; None rather than an error.

        The lookup goes on in the cache's own task after a timeout, so the
        next card for this book finds it.
        """
        if not asin or not is_asin(asin):
            return None
        try:
            async with asyncio.timeout(CATALOG_WAIT):
                return await self.runtime.catalog_cache.product(asin)
        except Exception as err:  # a card never fails for want of details
            log.info("no catalog details for %s on a card: %s", asin, type(err).__name__)
            return None

    def book(self, book: CatalogBook, *, heading: str = "", footer: str = "") -> discord.Embed:
        return book_embed(book, heading=heading, url=self.link(book.asin), footer=footer)

    async def request(
        self,
        req: BookRequest | Mapping[str, Any],
        *,
        heading: str = "",
        member: bool = True,
        show_status: bool = True,
    ) -> discord.Embed:
        """A stored request with the catalog's length, series, year and summary when known."""
        data: Mapping[str, Any] = request_payload(req) if isinstance(req, BookRequest) else req
        asin = data.get("asin")
        asin = asin if isinstance(asin, str) else None
        return request_embed(
            data, heading=heading, book=await self.catalog_book(asin), url=self.link(asin),
            member=member, show_status=show_status,
        )

    async def item(self, item: PlexItem, *, heading: str = "") -> discord.Embed:
        """A library item; cover and series from the catalog when the item has an ASIN."""
        book = await self.catalog_book(item.asin)
        return library_embed(item, heading=heading, book=book, url=self.link(item.asin))

    async def listen_links(self, rating_keys: list[object]) -> list[str | None]:
        """The item pages in Plex's web app (None where unknown), one lookup of the server."""
        machine = await self.runtime.stored_machine_identifier()
        app_url = self.runtime.settings.plex.app_url
        return [
            listen_url(app_url, machine, key)
            if isinstance(key, str | int) and not isinstance(key, bool) else None
            for key in rating_keys
        ]

    async def rating_key_of(self, payload: Mapping[str, Any]) -> object:
        """The Plex item of a request's payload: its rating key, else the request's linked
        item (`plex_guid`), else the matcher's pick from the library mirror; None if unknown.

        A request an admin marks available by hand carries no rating key, yet
        Plex often has the book already.
        """
        if payload.get("rating_key") is not None:
            return payload["rating_key"]
        req_id = payload.get("request_id")
        req = await BookRequest.get_or_none(id=req_id) if isinstance(req_id, int) else None
        if req is None:
            return None
        if req.plex_guid:
            item = await PlexItem.get_or_none(plex_guid=req.plex_guid)
            if item is not None:
                return item.rating_key
        try:
            match = await self.runtime.requests.in_library(BookQuery.of(req))
        except Exception as err:  # a DM never fails for want of its button
            log.info("no library match for request %s: %s", req.id, type(err).__name__)
            return None
        return match.item.rating_key if match.item is not None else None

    async def listen_button(self, rating_key: object) -> discord.ui.Button[Any] | None:
        """The link button to the item's page in Plex's web app, or None when unknown."""
        (url,) = await self.listen_links([rating_key])
        if url is None:
            return None
        return discord.ui.Button(style=discord.ButtonStyle.link, label=LISTEN_LABEL, url=url)

    async def listen_view(self, rating_key: object) -> discord.ui.View | None:
        """A view holding only the Listen button (link buttons never expire)."""
        button = await self.listen_button(rating_key)
        if button is None:
            return None
        view = discord.ui.View(timeout=None)
        view.add_item(button)
        return view

    def guild_name(self) -> str | None:
        """The name of the bot's home server, for DMs ("on Books"); None when not cached."""
        for guild_id in self.runtime.settings.discord.guild_ids:
            guild = self.bot.get_guild(guild_id)
            if guild is not None:
                return guild.name
        return None
