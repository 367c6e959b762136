"""Typed settings from config.toml plus EARMARK_* environment overrides.

Every key of the file can be overridden by `EARMARK_<SECTION>_<KEY>` (for
example `EARMARK_DISCORD_TOKEN`, `EARMARK_PLEX_URL`); lists take commas. The
origin of each value (file, env or default) is kept: a value given in the file
or the environment pins the setting, and `/setup` refuses to change it.
Errors name the file, the key and what was expected.

Relative paths (`[database] url` of SQLite, `[security] key_file`, `[health]
file`) resolve against the config file's folder, so the working directory of
a command never decides which database it opens. Without a config file (a
setup from the environment alone: Docker, systemd) they resolve against the
working directory.
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from core.catalog.client import AUDIBLE_HOSTS
from core.db import normalize_db_url, redact_db_url
from core.inbound.address import LISTEN_FORMAT, parse_listen

CONFIG_ENV = "EARMARK_CONFIG"
DEFAULT_CONFIG = "config.toml"

Origin = Literal["file", "env", "default"]


class ConfigError(Exception):
    """The configuration is unusable; the message is meant for the operator."""


@dataclass(frozen=True, slots=True)
class DiscordSettings:
    token: str = ""
    guild_ids: tuple[int, ...] = ()
    admin_role_ids: tuple[int, ...] = ()


@dataclass(frozen=True, slots=True)
class PlexSettings:
    url: str = ""
    token: str = ""
    library_id: str = ""
    product: str = "Earmark"
    client_identifier: str = ""
    tv_url: str = "https://plex.tv"
    app_url: str = "https://app.plex.tv"


@dataclass(frozen=True, slots=True)
class CatalogSettings:
    region: str = "us"
    audible_url: str = ""


@dataclass(frozen=True, slots=True)
class ScanSettings:
    recently_added_minutes: float = 5.0
    full_scan_hours: float = 6.0


@dataclass(frozen=True, slots=True)
class RequestSettings:
    max_open_per_user: int = 10


@dataclass(frozen=True, slots=True)
class DatabaseSettings:
    url: str = "sqlite://data/earmark.db"


@dataclass(frozen=True, slots=True)
class SecuritySettings:
    key_file: str = "data/secret.key"


@dataclass(frozen=True, slots=True)
class FollowSettings:
    check_hours: float = 24.0  # new-release check interval (`[follow]`)


@dataclass(frozen=True, slots=True)
class HealthSettings:
    file: str = ""  # the heartbeat file for `python -m bot health`; empty = none written


@dataclass(frozen=True, slots=True)
class FulfilSettings:
    """`[fulfil]`: where approved requests go; empty values are managed by `/setup fulfil`."""

    backend: str = ""  # "none" | "readmeabook" | "webhook"
    url: str = ""
    token: str = ""
    secret: str = ""


@dataclass(frozen=True, slots=True)
class HttpSettings:
    """The inbound API and /healthz (`core.inbound`); off while `listen` is empty."""

    listen: str = ""  # "host:port"
    token: str = ""  # bearer token of /api; required when listen is set


#: The shortest inbound token accepted: a guessable token would open the status API.
MIN_HTTP_TOKEN = 16


@dataclass(frozen=True, slots=True)
class Settings:
    discord: DiscordSettings = field(default_factory=DiscordSettings)
    plex: PlexSettings = field(default_factory=PlexSettings)
    catalog: CatalogSettings = field(default_factory=CatalogSettings)
    scan: ScanSettings = field(default_factory=ScanSettings)
    requests: RequestSettings = field(default_factory=RequestSettings)
    database: DatabaseSettings = field(default_factory=DatabaseSettings)
    security: SecuritySettings = field(default_factory=SecuritySettings)
    health: HealthSettings = field(default_factory=HealthSettings)
    fulfil: FulfilSettings = field(default_factory=FulfilSettings)
    http: HttpSettings = field(default_factory=HttpSettings)
    follow: FollowSettings = field(default_factory=FollowSettings)
    path: Path | None = None
    origins: Mapping[str, Origin] = field(default_factory=dict)

    def origin(self, dotted: str) -> Origin:
        """Where a value came from: 'file', 'env' or 'default'."""
        return self.origins.get(dotted, "default")

    def is_pinned(self, dotted: str) -> bool:
        """True when the file or the environment fixed the value (so /setup may not change it)."""
        return self.origin(dotted) != "default"

    def secrets(self) -> list[str]:
        """Every secret in these settings, for the log filter."""
        secrets = (
            self.discord.token, self.plex.token, self.fulfil.token, self.fulfil.secret,
            self.http.token,
        )
        return [s for s in secrets if s]


_SECTIONS: dict[str, type] = {
    "discord": DiscordSettings,
    "plex": PlexSettings,
    "catalog": CatalogSettings,
    "scan": ScanSettings,
    "requests": RequestSettings,
    "database": DatabaseSettings,
    "security": SecuritySettings,
    "health": HealthSettings,
    "fulfil": FulfilSettings,
    "http": HttpSettings,
    "follow": FollowSettings,
}


def _as_str(value: Any) -> str:
    if isinstance(value, str):
        return value.strip()
    raise TypeError("a string")


def _as_id_list(value: Any) -> tuple[int, ...]:
    if isinstance(value, str):
        value = [v for v in (p.strip() for p in value.split(",")) if v]
    if not isinstance(value, list):
        raise TypeError("a list of Discord ids, e.g. [123456789012345678]")
    out: list[int] = []
    for item in value:
        try:
            number = int(item)
        except (TypeError, ValueError):
            raise TypeError("a list of Discord ids (numbers)") from None
        if not 0 < number <= MAX_SNOWFLAKE or isinstance(item, bool | float):
            raise TypeError("a list of Discord ids (positive whole numbers)")
        out.append(number)
    return tuple(out)


MIN_INTERVAL_SECONDS = 1.0
MAX_INTERVAL_SECONDS = 30 * 24 * 3600.0
MAX_OPEN_PER_USER = 1_000_000
MAX_SNOWFLAKE = 2**64 - 1


def _number(value: Any, convert: Callable[[Any], Any], expected: str) -> Any:
    """`convert(value)`, or TypeError(expected) for booleans, garbage and overflows."""
    if isinstance(value, bool):
        raise TypeError(expected)
    try:
        return convert(value)
    except (TypeError, ValueError, OverflowError):
        raise TypeError(expected) from None


def _as_interval(unit: str, unit_seconds: float) -> Callable[[Any], float]:
    """A parser for an interval in `unit`: from one second to 30 days.

    Shorter polls burn the CPU (0.000001 minutes made 1,370 polls in 10 s);
    longer ones overflow the scheduler's timedelta (3e10 hours killed the job).
    """
    low, high = MIN_INTERVAL_SECONDS / unit_seconds, MAX_INTERVAL_SECONDS / unit_seconds
    expected = f"a number of {unit} between {low:.3g} (1 second) and {high:g} (30 days)"

    def parse(value: Any) -> float:
        number: float = _number(value, float, expected)
        # Compared in seconds so that 1/60 minutes is exactly the lower bound; NaN fails too.
        if not MIN_INTERVAL_SECONDS <= number * unit_seconds <= MAX_INTERVAL_SECONDS:
            raise TypeError(expected)
        return number

    return parse


def _as_count(high: int) -> Callable[[Any], int]:
    """A parser for a whole number from 1 to `high`."""
    expected = f"a whole number from 1 to {high}"

    def parse(value: Any) -> int:
        number: int = _number(value, int, expected)
        if not 1 <= number <= high or (isinstance(value, float) and value != number):
            raise TypeError(expected)
        return number

    return parse


def _as_url(value: Any) -> str:
    text = _as_str(value).rstrip("/")
    if text and not text.startswith(("http://", "https://")):
        raise TypeError("a URL starting with http:// or https://")
    return text


def _as_region(value: Any) -> str:
    text = _as_str(value).lower()
    if text not in AUDIBLE_HOSTS:
        raise TypeError(f"one of {', '.join(sorted(AUDIBLE_HOSTS))}")
    return text


def _as_library_id(value: Any) -> str:
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    text = _as_str(value)
    if text and not text.isdigit():
        raise TypeError("a Plex library section key (a number such as \"7\")")
    return text


def _as_backend(value: Any) -> str:
    text = _as_str(value).lower()
    if text not in ("", "none", "readmeabook", "webhook"):
        raise TypeError('one of "none", "readmeabook", "webhook"')
    return text


def _as_listen(value: Any) -> str:
    text = _as_str(value)
    if text:
        try:
            parse_listen(text)
        except ValueError:
            raise TypeError(LISTEN_FORMAT) from None
    return text


def _as_db_url(value: Any) -> str:
    try:
        return normalize_db_url(_as_str(value))
    except ValueError as err:
        raise TypeError(str(err)) from None


_PARSERS: dict[str, Callable[[Any], Any]] = {
    "discord.token": _as_str,
    "discord.guild_ids": _as_id_list,
    "discord.admin_role_ids": _as_id_list,
    "plex.url": _as_url,
    "plex.token": _as_str,
    "plex.library_id": _as_library_id,
    "plex.product": _as_str,
    "plex.client_identifier": _as_str,
    "plex.tv_url": _as_url,
    "plex.app_url": _as_url,
    "catalog.region": _as_region,
    "catalog.audible_url": _as_url,
    "scan.recently_added_minutes": _as_interval("minutes", 60.0),
    "scan.full_scan_hours": _as_interval("hours", 3600.0),
    "requests.max_open_per_user": _as_count(MAX_OPEN_PER_USER),
    "database.url": _as_db_url,
    "security.key_file": _as_str,
    "health.file": _as_str,
    "fulfil.backend": _as_backend,
    "fulfil.url": _as_url,
    "fulfil.token": _as_str,
    "fulfil.secret": _as_str,
    "http.listen": _as_listen,
    "http.token": _as_str,
    "follow.check_hours": _as_interval("hours", 3600.0),
}


def config_path(explicit: str | os.PathLike[str] | None, env: Mapping[str, str]) -> Path:
    """The config file to read: --config, else $EARMARK_CONFIG, else ./config.toml."""
    return Path(explicit or env.get(CONFIG_ENV) or DEFAULT_CONFIG).expanduser()


def _env_name(dotted: str) -> str:
    section, key = dotted.split(".", 1)
    return f"EARMARK_{section.upper()}_{key.upper()}"


def _env_configured(env: Mapping[str, str]) -> bool:
    """True when the environment sets at least one setting (a file-less setup)."""
    return any(env.get(_env_name(dotted)) for dotted in _PARSERS)


def _read_file(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as fh:
            return tomllib.load(fh)
    except tomllib.TOMLDecodeError as err:
        raise ConfigError(f"{path}: not valid TOML: {err}") from err
    except OSError as err:
        raise ConfigError(f"{path}: cannot be read: {err.strerror}") from err


def _missing_file(path: Path) -> ConfigError:
    return ConfigError(
        f"{path}: no such configuration file. Copy config.example.toml to {path} "
        f"and fill in at least [discord] token (or set {CONFIG_ENV} to another file, "
        "or set EARMARK_<SECTION>_<KEY> variables such as EARMARK_DISCORD_TOKEN to run "
        "without a file)."
    )


def _absolute(value: str, base: Path) -> Path:
    path = Path(value).expanduser()
    return path if path.is_absolute() else base / path


def resolve_db_url(url: str, base: Path) -> str:
    """A SQLite URL with its file made absolute against `base`; other URLs unchanged."""
    if not url.startswith("sqlite://"):
        return url
    file, sep, query = url.removeprefix("sqlite://").partition("?")
    if not file or file == ":memory:":
        return url
    return f"sqlite://{_absolute(file, base)}{sep}{query}"


def load_settings(
    explicit_path: str | os.PathLike[str] | None = None,
    *,
    env: Mapping[str, str] | None = None,
) -> Settings:
    """Read the file (if any), apply EARMARK_* overrides, validate every value.

    A missing file is an error when it was named (--config or $EARMARK_CONFIG),
    or when nothing else configures Earmark; the default ./config.toml may be
    absent when EARMARK_* variables carry the settings.
    """
    env = os.environ if env is None else env
    named = bool(explicit_path or env.get(CONFIG_ENV))
    path: Path | None = config_path(explicit_path, env)
    if path is not None and not path.exists():
        if named or not _env_configured(env):
            raise _missing_file(path)
        path = None
    raw = _read_file(path) if path is not None else {}

    values: dict[str, dict[str, Any]] = {name: {} for name in _SECTIONS}
    origins: dict[str, Origin] = {}
    for section, content in raw.items():
        if section not in _SECTIONS:
            raise ConfigError(
                f"{path}: unknown section [{section}]; known sections: "
                f"{', '.join(_SECTIONS)}"
            )
        if not isinstance(content, dict):
            raise ConfigError(f"{path}: [{section}] must be a table of keys")
        for key, value in content.items():
            dotted = f"{section}.{key}"
            if dotted not in _PARSERS:
                known = ", ".join(k.split(".", 1)[1] for k in _PARSERS if k.startswith(section))
                raise ConfigError(f"{path}: unknown key [{section}] {key}; known keys: {known}")
            values[section][key] = _parse(dotted, value, where=f"{path}: [{section}] {key}")
            origins[dotted] = "file"

    for dotted, parser in _PARSERS.items():
        section, key = dotted.split(".", 1)
        name = _env_name(dotted)
        if name in env and env[name] != "":
            where = f"environment {name}"
            values[section][key] = _parse(dotted, env[name], where=where, parser=parser)
            origins[dotted] = "env"

    # Empty strings in the file mean "not set": they pin nothing.
    for dotted in list(origins):
        section, key = dotted.split(".", 1)
        if values[section][key] in ("", ()):
            del origins[dotted]
            del values[section][key]

    built = {name: cls(**values[name]) for name, cls in _SECTIONS.items()}
    base = Path.cwd() if path is None else path.absolute().parent
    built["database"] = DatabaseSettings(url=resolve_db_url(built["database"].url, base))
    built["security"] = SecuritySettings(key_file=str(_absolute(built["security"].key_file, base)))
    if built["health"].file:
        built["health"] = HealthSettings(file=str(_absolute(built["health"].file, base)))
    _check_http(built["http"], path)
    return Settings(**built, path=path, origins=origins)


def _check_http(http: HttpSettings, path: Path | None) -> None:
    """An open inbound API without a strong token would let anyone move requests."""
    if not http.listen:
        return
    where = path or "the environment"
    if not http.token:
        raise ConfigError(
            f"{where}: [http] listen is set but [http] token is empty: set a long random "
            "token (e.g. `openssl rand -hex 32`) there or in EARMARK_HTTP_TOKEN"
        )
    if len(http.token) < MIN_HTTP_TOKEN:
        raise ConfigError(
            f"{where}: [http] token is too short: use at least {MIN_HTTP_TOKEN} characters "
            "(e.g. `openssl rand -hex 32`)"
        )


def _parse(
    dotted: str, value: Any, *, where: str, parser: Callable[[Any], Any] | None = None
) -> Any:
    parser = parser or _PARSERS[dotted]
    try:
        return parser(value)
    except TypeError as err:
        shown = "(hidden)" if "token" in dotted or "secret" in dotted else repr(value)
        if dotted == "database.url" and isinstance(value, str):
            shown = repr(redact_db_url(value))
        raise ConfigError(f"{where}: expected {err}, got {shown}") from None
