"""`/setup plex|library|channel|approval|show`: the admin's configuration commands.

Thin over core: the Plex client tests a server, `ConfigStore` keeps what
`/setup` sets (the token encrypted), the request service owns auto-approve.
A value pinned in config.toml or the environment wins over `/setup`, so the
command refuses to change it and says where to change it instead. The Plex
token is never echoed back: replies show it masked.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass

import discord
from discord import app_commands
from discord.ext import commands

from bot.app import EarmarkBot, Interaction
from bot.checks import AdminOnly, is_admin
from bot.config import Settings
from bot.limits import FOOTER, fit_content, fit_embed
from bot.render import NO_PINGS, choices, plain, safe
from bot.tree import plex_problem
from core.config_store import (
    ADMIN_CHANNEL,
    AUTO_APPROVE,
    FULFIL_BACKEND,
    FULFIL_SECRET,
    FULFIL_TOKEN,
    FULFIL_URL,
    PLEX_CLIENT_ID,
    PLEX_LIBRARY,
    PLEX_MACHINE_ID,
    PLEX_TOKEN,
    PLEX_URL,
)
from core.errors import PlexNotConfigured, UserError
from core.follow import arrivals
from core.fulfil.config import BACKENDS, FulfilConfig
from core.fulfil.errors import FulfilError, FulfilUnauthorized
from core.fulfil.service import EVENT_TEST
from core.plex import (
    PlexBadResponse,
    PlexError,
    PlexLibrary,
    PlexServer,
    PlexUnauthorized,
)
from core.plex.errors import strip_tokens
from core.plex_setup import find_library
from core.redact import mask, register_secret

log = logging.getLogger(__name__)

AUTOCOMPLETE_DEADLINE = 2.5  # Discord drops autocomplete answers after 3 s
SETUP_COMPLETE = "Setup complete — next: `/admin scan mode:full`"
NEXT_COMMAND = {"Plex": "/setup plex", "Library": "/setup library", "Channel": "/setup channel"}

# Settings keys as config.toml spells them (for "pinned" refusals and /setup show).
DOTTED = {
    PLEX_URL: "plex.url",
    PLEX_TOKEN: "plex.token",
    PLEX_LIBRARY: "plex.library_id",
    PLEX_CLIENT_ID: "plex.client_identifier",
    FULFIL_BACKEND: "fulfil.backend",
    FULFIL_URL: "fulfil.url",
    FULFIL_TOKEN: "fulfil.token",
    FULFIL_SECRET: "fulfil.secret",
}


def pinned_where(settings: Settings, dotted: str) -> str:
    """Where a pinned value lives, as an admin would go and change it."""
    section, key = dotted.split(".", 1)
    if settings.origin(dotted) == "env":
        return f"the environment variable `EARMARK_{section.upper()}_{key.upper()}`"
    name = settings.path.name if settings.path else "config.toml"
    return f"`{name}` (`[{section}] {key}`)"


def refuse_if_pinned(settings: Settings, dotted: str, label: str) -> None:
    """/setup never overrides the file or the environment: say where to change it."""
    if settings.is_pinned(dotted):
        raise UserError(
            f"The {label} is set in {pinned_where(settings, dotted)}; change it there "
            "(then restart Earmark). `/setup` did not change anything."
        )


def library_label(lib: PlexLibrary, count: int | None) -> str:
    kind = "music" if lib.is_music else lib.type or "unknown type"
    books = f", {count} books" if count is not None else ""
    return f"{lib.title} ({kind}{books})"


@dataclass(frozen=True, slots=True)
class Current:
    """The settings `/setup` cares about, pinned values merged over stored ones."""

    settings: Settings
    stored: dict[str, str | None]
    values: dict[str, str | None]  # effective plex url, token, library

    @property
    def steps(self) -> dict[str, bool]:
        """The checklist, in the order an admin does it."""
        return {
            "Plex": bool(self.values[PLEX_URL] and self.values[PLEX_TOKEN]),
            "Library": bool(self.values[PLEX_LIBRARY]),
            "Channel": bool(self.stored[ADMIN_CHANNEL]),
        }

    @property
    def complete(self) -> bool:
        return all(self.steps.values())

    def checklist(self) -> str:
        """One line, e.g. ✅ Plex · ✅ Library · ❌ Channel · Auto-approve off."""
        marks = [f"{'✅' if done else '❌'} {name}" for name, done in self.steps.items()]
        auto = "on" if self.stored[AUTO_APPROVE] == "1" else "off"
        return " · ".join([*marks, f"Auto-approve {auto}"])

    def next_step(self) -> str:
        if self.complete:
            return SETUP_COMPLETE
        missing = next(name for name, done in self.steps.items() if not done)
        return f"Next: `{NEXT_COMMAND[missing]}`"

    def pin(self, dotted: str) -> str:
        """A 📌 mark naming where a value is pinned; nothing for a /setup or default one."""
        origin = self.settings.origin(dotted)
        if origin == "file":
            return f" 📌 {self.settings.path.name if self.settings.path else 'config.toml'}"
        if origin == "env":
            section, key = dotted.split(".", 1)
            return f" 📌 `EARMARK_{section.upper()}_{key.upper()}`"
        return ""


@app_commands.default_permissions(manage_guild=True)
@app_commands.guild_only()
class SetupCog(
    AdminOnly, commands.GroupCog, group_name="setup", group_description="Configure Earmark"
):
    """Admin-only configuration; every subcommand passes `interaction_check` first."""

    def __init__(self, bot: EarmarkBot) -> None:
        self.bot = bot
        self.runtime = bot.runtime
        super().__init__()

    # ----- /setup plex ------------------------------------------------------------------

    @app_commands.command(name="plex", description="Connect a Plex server (tested before saving)")
    @app_commands.describe(
        url="The server's address, e.g. http://192.168.1.10:32400",
        token="The server owner's X-Plex-Token (stored encrypted, never shown again)",
    )
    async def plex(
        self,
        interaction: Interaction,
        url: app_commands.Range[str, 8, 500],
        token: app_commands.Range[str, 8, 200],
    ) -> None:
        settings = self.runtime.settings
        refuse_if_pinned(settings, "plex.url", "Plex URL")
        refuse_if_pinned(settings, "plex.token", "Plex token")
        token = token.strip()
        register_secret(token)  # masked in every log line from here on, saved or not
        url = url.strip().rstrip("/")
        shown_url = safe(strip_tokens(url, token), 200)
        if not url.startswith(("http://", "https://")):
            raise UserError(
                f"`{shown_url}` is not a URL: start it with http:// or https:// "
                "(e.g. http://192.168.1.10:32400). Nothing was saved."
            )

        await interaction.response.defer(ephemeral=True, thinking=True)
        try:
            saved = await self.runtime.plex_setup.connect_server(url, token)
        except PlexError as err:
            await self._edit(interaction, self._plex_failure(shown_url, err))
            return
        identity = saved.identity
        log.info(
            "/setup plex by %s: %s (machine %s)",
            interaction.user.id, shown_url, identity.machine_identifier,
        )

        music = saved.music
        version = f" {safe(identity.version, 40)}" if identity.version else ""
        lines = [
            f"✅ Connected to Plex Media Server{version} at {shown_url}.",
            f"Saved the URL, the token (encrypted) and the machine identifier "
            f"`{safe(identity.machine_identifier, 64)}`.",
        ]
        if saved.library_reset:
            lines.append("This is a different server: the audiobook library was unset.")
        current = await self._current()
        if music and not current.steps["Library"]:
            lines.append("\nMusic libraries (audiobooks live in one of these):")
            lines += [f"• `{safe(lib.id, 20)}` = {safe(lib.title, 100)}" for lib in music]
            lines.append("\nNext: choose the audiobook library with `/setup library`.")
        elif music:
            lines.append(f"\n{current.next_step()}")
        else:
            lines.append(
                "\n⚠️ This server has no music library. Audiobooks must live in a music "
                "library: create one in Plex, then run `/setup library`."
            )
        await self._edit(interaction, "\n".join(lines))

    @staticmethod
    def _plex_failure(shown_url: str, err: PlexError) -> str:
        """What the test of the server found; the error's own text (URL, path) stays in the log."""
        if isinstance(err, PlexUnauthorized):
            why = "refused the token (401): check that it is the server owner's X-Plex-Token"
        elif isinstance(err, PlexBadResponse):
            why = "answered, but not like a Plex Media Server: check the address"
        else:
            why = f"could not be used: {plex_problem(err)}"
        log.info("/setup plex: testing %s failed: %s", shown_url, err)
        return f"❌ The server at {shown_url} {why}. Nothing was saved."

    # ----- /setup library ---------------------------------------------------------------

    @app_commands.command(name="library", description="Choose the Plex library of audiobooks")
    @app_commands.describe(library="A music library of the configured server")
    async def library(
        self, interaction: Interaction, library: app_commands.Range[str, 1, 100]
    ) -> None:
        settings = self.runtime.settings
        refuse_if_pinned(settings, "plex.library_id", "audiobook library")
        server = await self.runtime.plex.server()  # PlexNotConfigured -> the tree's sentence
        await interaction.response.defer(ephemeral=True, thinking=True)
        try:
            libraries = await server.libraries()
        except PlexError as err:
            log.warning("/setup library: listing the libraries failed: %s", err)
            await self._edit(
                interaction,
                f"❌ Couldn't list the libraries: {plex_problem(err)}. Nothing was saved.",
            )
            return
        wanted = library.strip()
        chosen = find_library(libraries, wanted)
        music = [lib for lib in libraries if lib.is_music]
        available = ", ".join(f"`{safe(lib.id, 20)}` = {safe(lib.title, 60)}" for lib in music)
        if chosen is None:
            await self._edit(
                interaction,
                f"❌ The Plex server has no library `{safe(wanted, 100)}`. Music libraries: "
                f"{available or 'none'}. Nothing was saved.",
            )
            return
        if not chosen.is_music:
            await self._edit(
                interaction,
                f"❌ {safe(chosen.title, 100)} is a {safe(chosen.type, 20)} library; audiobooks "
                f"live in a music library ({available or 'this server has none'}). "
                "Nothing was saved.",
            )
            return
        count = await self._album_count(server, chosen)
        await self.runtime.plex_setup.save_library(chosen.id)
        log.info("/setup library by %s: %s", interaction.user.id, chosen.id)
        current = await self._current()
        after = (
            f"{current.next_step()}: it fills the library mirror; the scheduled scans keep "
            "it current afterwards." if current.complete
            else f"{current.next_step()}, then `/admin scan mode:full` to fill the library mirror."
        )
        await self._edit(
            interaction,
            f"✅ Audiobook library: {safe(library_label(chosen, count), 150)} "
            f"(section `{safe(chosen.id, 20)}`).\n{after}",
        )

    @library.autocomplete("library")
    async def library_autocomplete(
        self, interaction: Interaction, current: str
    ) -> list[app_commands.Choice[str]]:
        """Music libraries of the configured server; nothing for non-admins or no server."""
        if not is_admin(interaction.user, self.runtime.settings.discord.admin_role_ids):
            return []
        try:
            async with asyncio.timeout(AUTOCOMPLETE_DEADLINE):
                server = await self.runtime.plex.server()
                libraries = [lib for lib in await server.libraries() if lib.is_music]
                needle = current.strip().casefold()
                libraries = [
                    lib for lib in libraries
                    if not needle or needle in lib.title.casefold() or needle == lib.id
                ][:25]
                counts = await asyncio.gather(
                    *(self._album_count(server, lib) for lib in libraries)
                )
        except (PlexNotConfigured, PlexError, TimeoutError) as err:
            log.info("/setup library autocomplete: no libraries (%s)", type(err).__name__)
            return []
        return choices(
            (library_label(lib, count), lib.id)
            for lib, count in zip(libraries, counts, strict=True)
        )

    @staticmethod
    async def _album_count(server: PlexServer, lib: PlexLibrary) -> int | None:
        if lib.item_count is not None:
            return lib.item_count
        try:
            return await server.album_count(lib.id)
        except PlexError:
            return None

    # ----- /setup channel, /setup approval ----------------------------------------------

    @app_commands.command(
        name="channel", description="Channel for admin notifications and the DM fallback"
    )
    @app_commands.describe(channel="A text channel the bot can write in")
    async def channel(
        self, interaction: Interaction, channel: discord.TextChannel
    ) -> None:
        await self.runtime.store.set(ADMIN_CHANNEL, str(channel.id))
        log.info("/setup channel by %s: %s", interaction.user.id, channel.id)
        text = (
            f"✅ Admin notifications (new requests, and messages for members whose DMs are "
            f"closed) will go to {channel.mention}."
        )
        me = channel.guild.me if channel.guild else None
        if me is not None and not channel.permissions_for(me).send_messages:
            text += (
                "\n⚠️ Earmark can't send messages there yet: give it the Send Messages "
                "permission in that channel."
            )
        text += f"\n{(await self._current()).next_step()}"
        await interaction.response.send_message(text, ephemeral=True, allowed_mentions=NO_PINGS)

    @app_commands.command(
        name="announce", description="Channel for posts about books new in Plex (empty: off)"
    )
    @app_commands.describe(channel="A text channel the bot can write in; leave empty to stop")
    async def announce(
        self, interaction: Interaction, channel: discord.TextChannel | None = None
    ) -> None:
        await arrivals.set_channel(self.runtime.store, channel.id if channel else None)
        log.info("/setup announce by %s: %s", interaction.user.id, channel.id if channel else None)
        text = (
            f"✅ Books new in Plex from now on will be posted in {channel.mention}, with a "
            "button to follow their series. Books already in Plex are not posted."
            if channel else "✅ New books are no longer posted in a channel."
        )
        await interaction.response.send_message(text, ephemeral=True, allowed_mentions=NO_PINGS)

    @app_commands.command(name="approval", description="Approve new requests automatically")
    @app_commands.describe(auto="On: new requests start approved. Off: an admin decides each")
    async def approval(self, interaction: Interaction, auto: bool) -> None:
        await self.runtime.requests.set_auto_approve(auto)
        log.info("/setup approval by %s: %s", interaction.user.id, auto)
        text = (
            "✅ Auto-approve is **on**: new requests start approved."
            if auto
            else "✅ Auto-approve is **off**: new requests wait for an admin "
            "(`/admin pending`, or the buttons in the admin channel)."
        )
        await interaction.response.send_message(text, ephemeral=True, allowed_mentions=NO_PINGS)

    # ----- /setup fulfil ---------------------------------------------------------------

    @app_commands.command(name="fulfil", description="Where approved requests go (tested first)")
    @app_commands.describe(
        backend="none, readmeabook or webhook",
        url="ReadMeABook's address, or the webhook URL",
        token="ReadMeABook API token (rmab_..., stored encrypted)",
        secret="Webhook signing secret (stored encrypted)",
    )
    @app_commands.choices(backend=[app_commands.Choice(name=b, value=b) for b in BACKENDS])
    async def fulfil(
        self,
        interaction: Interaction,
        backend: str,
        url: app_commands.Range[str, 8, 500] | None = None,
        token: app_commands.Range[str, 8, 300] | None = None,
        secret: app_commands.Range[str, 8, 300] | None = None,
    ) -> None:
        settings = self.runtime.settings
        for dotted, given in (("fulfil.backend", backend), ("fulfil.url", url),
                              ("fulfil.token", token), ("fulfil.secret", secret)):
            if given is not None:
                refuse_if_pinned(settings, dotted, f"fulfilment {dotted.split('.')[1]}")
        token, secret = (token or "").strip(), (secret or "").strip()
        register_secret(token)
        register_secret(secret)
        current = await self.runtime.fulfil.config()
        url = (url or current.url).strip().rstrip("/")
        config = FulfilConfig(
            backend="none" if backend == "none" else (
                "readmeabook" if backend == "readmeabook" else "webhook"),
            url=url, token=token or current.token, secret=secret or current.secret,
        )
        if config.backend != "none" and not config.active:
            need = "`url:` and `token:`" if config.backend == "readmeabook" else \
                "`url:` and `secret:`"
            raise UserError(f"The {config.backend} backend needs {need}. Nothing was saved.")
        if url and not url.startswith(("http://", "https://")):
            raise UserError("The URL must start with http:// or https://. Nothing was saved.")
        await interaction.response.defer(ephemeral=True, thinking=True)
        try:
            tested = await self._test_fulfil(config)
        except FulfilError as err:
            why = "refused the credentials" if isinstance(err, FulfilUnauthorized) else "failed"
            await self._edit(interaction, f"❌ The test {why}: {safe(str(err), 300)}. "
                                          "Nothing was saved.")
            return
        store = self.runtime.store
        await store.set(FULFIL_BACKEND, config.backend)
        for key, value in ((FULFIL_URL, config.url), (FULFIL_TOKEN, token),
                           (FULFIL_SECRET, secret)):
            if value:
                await store.set(key, value)
        log.info("/setup fulfil by %s: %s", interaction.user.id, config.backend)
        await self._edit(interaction, tested)

    async def _test_fulfil(self, config: FulfilConfig) -> str:
        """The test of a backend, as the sentence for the admin; raises `FulfilError`."""
        service = self.runtime.fulfil
        if config.backend == "readmeabook":
            user = await service.rmab(config).me()
            return (
                f"✅ ReadMeABook answers at {safe(config.url, 200)}: approved requests are "
                f"created as **{safe(user.username, 100)}** (role {safe(user.role, 20)}).\n"
                "Turn on auto-approve for that user in ReadMeABook, or the requests wait "
                "there for a second approval."
            )
        if config.backend == "webhook":
            status = await service.webhook(config).deliver(
                EVENT_TEST, "earmark-test", {"event": EVENT_TEST}
            )
            return f"✅ The webhook took a signed test delivery ({status}). Saved."
        return "✅ Fulfilment is off: approved requests wait for an admin (`/admin status`)."

    # ----- /setup show ------------------------------------------------------------------

    @app_commands.command(name="show", description="Current settings and where each comes from")
    async def show(self, interaction: Interaction) -> None:
        current = await self._current()
        embed = discord.Embed(
            title="Earmark settings",
            description=f"{current.checklist()}\n{current.next_step()}",
            colour=discord.Colour.blurple(),
        )
        fields = self._show_fields(current)
        for name, more in await self._more_fields(current):
            fields = [(n, f"{v}\n{more}" if n == name else v) for n, v in fields]
        for name, value in fields:
            embed.add_field(name=name, value=value, inline=True)
        machine = current.stored[PLEX_MACHINE_ID]
        footer = "📌 = pinned in the config file or environment: /setup can't change it."
        if machine:
            footer = f"Plex server ID {machine} · {footer}"
        embed.set_footer(text=plain(footer, FOOTER))
        await interaction.response.send_message(
            embed=fit_embed(embed), ephemeral=True, allowed_mentions=NO_PINGS
        )

    async def _current(self) -> Current:
        settings = self.runtime.settings
        store = self.runtime.store
        stored = {key: await store.get(key) for key in (
            PLEX_URL, PLEX_TOKEN, PLEX_LIBRARY, PLEX_MACHINE_ID, ADMIN_CHANNEL, AUTO_APPROVE,
        )}
        pinned = {
            PLEX_URL: settings.plex.url,
            PLEX_TOKEN: settings.plex.token,
            PLEX_LIBRARY: settings.plex.library_id,
        }
        values = {
            key: pinned[key] if settings.is_pinned(DOTTED[key]) else stored[key]
            for key in pinned
        }
        return Current(settings, stored, values)

    def _show_fields(self, current: Current) -> list[tuple[str, str]]:
        """Compact inline fields; a pinned value says where it is pinned."""
        settings = current.settings
        scan, discord_settings = settings.scan, settings.discord
        url, token = current.values[PLEX_URL], current.values[PLEX_TOKEN]
        library, channel = current.values[PLEX_LIBRARY], current.stored[ADMIN_CHANNEL]
        plex = (
            f"`{safe(url, 200)}`{current.pin('plex.url')}\n"
            f"token {mask(token)}{current.pin('plex.token')}"
            if url or token else "not set: `/setup plex`"
        )
        roles = ", ".join(f"<@&{r}>" for r in discord_settings.admin_role_ids)
        return [
            ("Plex server", plex),
            ("Audiobook library",
             f"section `{safe(library, 20)}`{current.pin('plex.library_id')}"
             if library else "not set: `/setup library`"),
            ("Admin channel", f"<#{channel}>" if channel else "not set: `/setup channel`"),
            ("Scans",
             f"new books every {scan.recently_added_minutes:g} min"
             f"{current.pin('scan.recently_added_minutes')}\n"
             f"full scan every {scan.full_scan_hours:g} h{current.pin('scan.full_scan_hours')}"),
            ("Requests",
             f"at most {settings.requests.max_open_per_user} open per member"
             f"{current.pin('requests.max_open_per_user')}\n"
             f"catalog region `{safe(settings.catalog.region, 10)}`"
             f"{current.pin('catalog.region')}"),
            ("Who is admin",
             "Manage Server" + (f", or {roles}" if roles else "")
             + current.pin("discord.admin_role_ids")),
        ]

    async def _more_fields(self, current: Current) -> list[tuple[str, str]]:
        """Lines added to compact fields: where approved requests go, the new-arrivals channel."""
        config = await self.runtime.fulfil.config()
        if config.backend in ("", "none"):
            fulfil = "fulfilment off (`/setup fulfil`)"
        else:
            where = f" → `{safe(config.url, 120)}`" if config.url else ""
            secret = config.token or config.secret
            fulfil = f"handed to {config.backend}{where}" + (f" {mask(secret)}" if secret else "")
            fulfil += current.pin("fulfil.backend")
        announce = await self.runtime.store.get(arrivals.ANNOUNCE_CHANNEL)
        more = [("Requests", fulfil)]
        if announce:
            more.append(("Admin channel", f"new books posted in <#{announce}>"))
        return more

    # ----- helpers ----------------------------------------------------------------------

    @staticmethod
    async def _edit(interaction: Interaction, content: str) -> None:
        await interaction.edit_original_response(
            content=fit_content(content), allowed_mentions=NO_PINGS
        )


async def setup(bot: EarmarkBot) -> None:
    await bot.add_cog(SetupCog(bot))
