"""`/request` and `/requests`: ask for an audiobook, and see your requests.

Thin over `RequestService` (the rules) and `CachedCatalog` (the catalog with
a cache and a deadline, so autocomplete answers inside Discord's 3 s even
when Audible hangs). New requests are posted to the admin channel by
`cogs.approval`, whose persistent buttons this module registers.
"""

from __future__ import annotations

import logging
from typing import Any

import discord
from discord import app_commands
from discord.ext import commands

from bot.app import EarmarkBot, Interaction
from bot.limits import CHOICE_NAME, cut, fit_embed
from bot.render import NO_PINGS, choices, clean, option, plain, safe
from cogs._approval import refresh_post, register, unregister
from cogs._embeds import COLOUR, length_text, plural, series_text, status_label
from cogs._login_flow import refused_unlinked
from cogs._submit import edit_reply, submit
from cogs._views import OwnedView
from core.asin import normalize_asin
from core.catalog.models import CatalogBook
from core.errors import NotLinked, UserError
from core.follow.days import upcoming
from core.models import OPEN_STATUSES, BookRequest, RequestStatus
from core.requests.service import CANCELLABLE
from core.users import require_linked

log = logging.getLogger(__name__)

IN_LIBRARY_MARK = "✅ In library · "
AUTOCOMPLETE_RESULTS = 10
MIN_QUERY = 2
PICKER_RESULTS = 25  # a select menu holds at most 25 options
# Seconds to wait for a cold library index before marking choices: the catalog may
# already have used 2.5 s of autocomplete's 3; the deferred picker can wait longer.
AUTOCOMPLETE_INDEX_WAIT = 0.3
PICKER_INDEX_WAIT = 10.0
PAGE_SIZE = 5  # rows per page of /requests (a select menu names each one)
#: The one choice an unlinked member gets; its value submits nothing (the command says why).
LOGIN_FIRST_LABEL = "🔒 Link your Plex account first (/login)"
LOGIN_FIRST = "earmark:login-first"
#: What title, author and narrator keep at least when a label is cut: a first pass cuts
#: down to the first row (title first), a second, for the worst metadata, to the second.
MIN_PARTS = ((40, 20, 20), (12, 12, 12))


def progress_bar(percent: int, width: int = 8) -> str:
    """`▰▰▰▰▱▱▱▱ 52%`: the download's progress as the backend reports it."""
    percent = max(0, min(100, percent))
    full = round(percent * width / 100)
    return f"{'▰' * full}{'▱' * (width - full)} {percent}%"


def book_label(book: CatalogBook, in_library: bool, limit: int = CHOICE_NAME) -> str:
    """`Title — Author · Narrator · 16 h (2021)`: what tells editions apart, <= `limit`.

    Plain text (Discord shows choices as is). When too long, the title is cut
    first, then the author, then the narrator; length and year always stay.
    """
    mark = IN_LIBRARY_MARK if in_library else ""
    parts = [clean(book.title), clean(book.author), clean(book.narrator)]
    hours = length_text(book.runtime_minutes, short=True)
    year = f" ({book.release_year})" if book.release_year else ""
    tail = (f" · {hours}" if hours else "") + year

    def joined() -> str:
        title, author, narrator = parts
        people = " · ".join(p for p in (author, narrator) if p)
        return mark + title + (f" — {people}" if people else "") + tail

    for minimums in MIN_PARTS:
        for i, least in enumerate(minimums):  # title, then author, then narrator
            over = len(joined()) - limit
            if over > 0 and len(parts[i]) > least:
                parts[i] = cut(parts[i], max(least, len(parts[i]) - over))
    return plain(joined(), limit)


def picker_options(
    books: list[CatalogBook], owned: set[str]
) -> dict[str, discord.SelectOption]:
    """One option per book whose ASIN fits a select value, at most 25, by ASIN.

    The label names title, people, length and year; the description adds the
    series, the one thing that tells editions apart which the label leaves out.
    """
    options: dict[str, discord.SelectOption] = {}
    for book in books:
        made = option(book_label(book, book.asin in owned), book.asin, series_text(book.series))
        if made is not None and book.asin not in options:
            options[book.asin] = made
    return dict(list(options.items())[:PICKER_RESULTS])


class _BookSelect(discord.ui.Select["BookPicker"]):
    """The picker's menu: hands the chosen ASIN to its view."""

    async def callback(self, interaction: discord.Interaction) -> None:
        if self.view is not None:
            await self.view.picked(interaction, self.values[0])


class BookPicker(OwnedView):
    """Catalog results for free text; picking one submits it like a chosen ASIN."""

    def __init__(
        self,
        cog: RequestsCog,
        origin: discord.Interaction,
        books: list[CatalogBook],
        owned: set[str],
    ) -> None:
        super().__init__(origin.user.id, origin)
        self.cog = cog
        options = picker_options(books, owned)
        self.books = {book.asin: book for book in books if book.asin in options}
        self.select = _BookSelect(
            placeholder="Pick the book to request", options=list(options.values())
        )
        self.add_item(self.select)

    async def picked(self, interaction: discord.Interaction, asin: str) -> None:
        book = self.books[asin]

        async def show(embed: discord.Embed, view: discord.ui.View | None) -> None:
            self.stop()
            await interaction.response.edit_message(
                content=None, embed=embed, view=view, allowed_mentions=NO_PINGS
            )

        await submit(self.cog.bot, interaction.user.id, book, show, undo=self._origin)


class _ActionSelect(discord.ui.Select["RequestsPager"]):
    """Cancel (own pending/approved requests) or Leave (joined ones) for a row of the page."""

    async def callback(self, interaction: discord.Interaction) -> None:
        if self.view is not None:
            await self.view.act(interaction, self.values[0])


class RequestsPager(OwnedView):
    """The caller's requests, newest first, a page at a time, each one cancellable or left."""

    def __init__(self, cog: RequestsCog, origin: discord.Interaction) -> None:
        super().__init__(origin.user.id, origin)
        self.cog = cog
        self.page = 0
        self.total = 0
        self.actions = _ActionSelect(placeholder="Cancel or leave a request…", row=0)

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // PAGE_SIZE))

    async def render(self, note: str = "") -> discord.Embed:
        """Fetch the current page fresh (states move) and update the components."""
        rows, self.total = await self.cog.runtime.requests.for_user(
            self.owner_id, offset=self.page * PAGE_SIZE, limit=PAGE_SIZE
        )
        if self.page >= self.pages:  # requests vanished under us: show the last page
            self.page = self.pages - 1
            rows, self.total = await self.cog.runtime.requests.for_user(
                self.owner_id, offset=self.page * PAGE_SIZE, limit=PAGE_SIZE
            )
        self._components(rows)
        waiting = await upcoming(r.asin for r in rows if r.status in OPEN_STATUSES)
        lines = "\n\n".join(
            self._line(req) + (f" · ⏳ not released yet ({waiting[req.asin]})"
                               if req.asin in waiting else "")
            for req in rows
        ) or "Nothing here."
        embed = discord.Embed(
            title="Your requests",
            description=f"{note}\n\n{lines}" if note else lines,
            colour=COLOUR,
        )
        count = plural(self.total, "request")
        where = f"Page {self.page + 1} of {self.pages} · " if self.pages > 1 else ""
        embed.set_footer(text=where + count)
        return fit_embed(embed)

    @property
    def useful(self) -> bool:
        """Whether the reply needs components at all."""
        return bool(self.children)

    def _components(self, rows: list[BookRequest]) -> None:
        self.clear_items()
        options = [made for req in rows if (made := self._option(req)) is not None]
        if options:
            self.actions.options = options
            self.add_item(self.actions)
        if self.pages > 1:
            self.previous.disabled = self.page == 0
            self.next.disabled = self.page >= self.pages - 1
            self.add_item(self.previous)
            self.add_item(self.next)

    def _option(self, req: BookRequest) -> discord.SelectOption | None:
        if req.requester_id == self.owner_id:
            if req.status not in CANCELLABLE:
                return None
            return option(f"Cancel #{req.id} · {req.title}", f"cancel:{req.id}",
                          "Withdraw your request")
        return option(f"Leave #{req.id} · {req.title}", f"leave:{req.id}",
                      "Stop waiting for this book (no DM about it)")

    def _line(self, req: BookRequest) -> str:
        by = f" — {safe(req.author, 80)}" if req.author else ""
        whose = "" if req.requester_id == self.owner_id else " · you joined this request"
        when = f"<t:{int(req.created_at.timestamp())}:R>"
        line = (
            f"**#{req.id}** {safe(req.title, 120)}{by}\n"
            f"{status_label(req.status)}{whose} · requested {when}"
        )
        if req.status == RequestStatus.DENIED:
            why = safe(req.reason, 200) if req.reason else "no reason given"
            line += f"\nReason: {why}"
        if req.status == RequestStatus.DOWNLOADING and req.progress is not None:
            line += f"\n{progress_bar(req.progress)}"
        if req.stage_note and req.status not in (RequestStatus.DENIED, RequestStatus.AVAILABLE):
            line += f"\n{safe(req.stage_note, 200)}"  # the backend's words: untrusted
        return line

    async def act(self, interaction: discord.Interaction, value: str) -> None:
        """Cancel or leave the chosen request, then show the page again with what happened."""
        action, _, number = value.partition(":")
        service = self.cog.runtime.requests
        user_id = interaction.user.id
        if action == "cancel":
            done = await service.cancel(int(number), user_id)
            req = done.request
            note = f"🚫 Cancelled request #{req.id}."
            if done.handed_to:
                note = (f"🚫 Cancelled for you: others asked for #{req.id} too, so it stays "
                        "open for them.")
        else:
            req = await service.leave(int(number), user_id)
            note = f"👋 You left request #{req.id}: no DM about it any more."
        embed = await self.render(note)
        await interaction.response.edit_message(
            embed=embed, view=self if self.useful else None, allowed_mentions=NO_PINGS
        )
        await refresh_post(self.cog.bot, req)

    async def _turn(self, interaction: discord.Interaction, step: int) -> None:
        self.page = max(0, self.page + step)
        embed = await self.render()
        await interaction.response.edit_message(embed=embed, view=self, allowed_mentions=NO_PINGS)

    @discord.ui.button(label="Previous", style=discord.ButtonStyle.secondary, row=1)
    async def previous(
        self, interaction: discord.Interaction, button: discord.ui.Button[RequestsPager]
    ) -> None:
        await self._turn(interaction, -1)

    @discord.ui.button(label="Next", style=discord.ButtonStyle.secondary, row=1)
    async def next(
        self, interaction: discord.Interaction, button: discord.ui.Button[RequestsPager]
    ) -> None:
        await self._turn(interaction, 1)


class RequestsCog(commands.Cog):
    """Members ask for books; the admin channel hears about new requests."""

    def __init__(self, bot: EarmarkBot) -> None:
        self.bot = bot
        self.runtime = bot.runtime

    async def _in_library(self, books: list[CatalogBook], *, wait: float) -> set[str]:
        """ASINs the matcher finds in the library; never fails the caller (only a mark)."""
        try:
            return await self.runtime.requests.owned(books, wait=wait)
        except Exception:
            log.warning("library check for choices failed", exc_info=True)
            return set()

    @app_commands.command(name="request", description="Request an audiobook for the Plex library")
    @app_commands.describe(title="Title, author or ASIN: pick a book from the list")
    @app_commands.guild_only()
    async def request(
        self, interaction: Interaction, title: app_commands.Range[str, 1, 200]
    ) -> None:
        # Refuse unlinked users before touching the catalog (with a button that links
        # them); submit checks again.
        if await refused_unlinked(interaction, "request"):
            return
        if title == LOGIN_FIRST:  # the unlinked choice, picked before linking
            raise UserError("You're linked now: type a title and pick a book from the list.")
        await interaction.response.defer(ephemeral=True, thinking=True)
        asin = normalize_asin(title) if len(title.split()) == 1 else None
        book = await self.runtime.catalog_cache.product(asin) if asin else None
        if book is not None:
            await submit(
                self.bot, interaction.user.id, book, edit_reply(interaction), undo=interaction
            )
            return
        books = list(
            {b.asin: b for b in await self.runtime.catalog_cache.search(
                title, limit=PICKER_RESULTS
            )}.values()
        )
        owned = await self._in_library(books, wait=PICKER_INDEX_WAIT) if books else set()
        if not picker_options(books, owned):  # nothing, or no ASIN Discord can carry
            raise UserError(
                f"The catalog has nothing for “{safe(title, 100)}”. Try other words."
            )
        picker = BookPicker(self, interaction, books, owned)
        await interaction.edit_original_response(
            content=f"Which book did you mean by “{safe(title, 100)}”?",
            view=picker,
            allowed_mentions=NO_PINGS,
        )

    @request.autocomplete("title")
    async def request_title(
        self, interaction: Interaction, current: str
    ) -> list[app_commands.Choice[str]]:
        if not await _linked(interaction.user.id):
            return choices([(LOGIN_FIRST_LABEL, LOGIN_FIRST)])
        text = current.strip()
        if len(text) < MIN_QUERY:
            return []
        books = await self.runtime.catalog_cache.search_quick(text, limit=AUTOCOMPLETE_RESULTS)
        books = list({b.asin: b for b in books}.values())[:25]
        owned = await self._in_library(books, wait=AUTOCOMPLETE_INDEX_WAIT)
        return choices((book_label(book, book.asin in owned), book.asin) for book in books)

    @app_commands.command(name="requests", description="Your requests and their states")
    @app_commands.guild_only()
    async def requests(self, interaction: Interaction) -> None:
        pager = RequestsPager(self, interaction)
        embed = await pager.render()
        if pager.total == 0:
            await interaction.response.send_message(
                "You have no requests yet. Ask for a book with `/request`.", ephemeral=True
            )
            return
        kwargs: dict[str, Any] = {"view": pager} if pager.useful else {}
        await interaction.response.send_message(
            embed=embed, ephemeral=True, allowed_mentions=NO_PINGS, **kwargs
        )


async def _linked(discord_id: int) -> bool:
    try:
        await require_linked(discord_id)
    except NotLinked:
        return False
    return True


async def setup(bot: EarmarkBot) -> None:
    await bot.add_cog(RequestsCog(bot))
    register(bot)


async def teardown(bot: EarmarkBot) -> None:
    unregister(bot)
