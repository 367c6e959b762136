"""Secrets never reach logs: a process-wide registry and a logging filter that masks them.

Every token the process learns (config, setup, a user's login) is registered;
the filter replaces each one in the message, its arguments and tracebacks.
Some secrets are logged before anyone could register them: discord.py logs raw
gateway payloads at DEBUG (the `token` option of `/setup plex`, the interaction
token) and callback URLs. Those are recognised by shape: secret-named keys and
options in JSON or dict reprs, and webhook/interaction tokens in URL paths.
A record factory applies all of it when a record is made, so every handler
(pytest's included) only ever sees the masked text.
"""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Callable
from typing import Any

MASK = "***"
_MIN_LEN = 6  # shorter values would mask ordinary words

_lock = threading.Lock()
_secrets: set[str] = set()
_pattern: re.Pattern[str] | None = None

# Tokens that appear in URLs are masked even before anyone registered them.
_URL_TOKEN = re.compile(r"(?i)(X-Plex-Token=)[^&\s'\"]+")
# discord.com/api/v10/webhooks/<app id>/<token>/..., /interactions/<id>/<token>/callback
_PATH_TOKEN = re.compile(r"(/(?:webhooks|interactions)/\d+/)[^/\s?#'\"]+")

# A quoted string in JSON or a Python repr (either quote, escapes allowed).
_QUOTED = r"(?:'(?:[^'\\\n]|\\.)*'|\"(?:[^\"\\\n]|\\.)*\")"
_SECRET_NAME = r"(?:[A-Za-z_]*(?:token|Token)|secret|password|api_?key)"
# "token": "...", 'accessToken': '...' and the like: the value is masked.
_SECRET_KEY = re.compile(rf"(['\"]{_SECRET_NAME}['\"]\s*:\s*){_QUOTED}")
# One innermost object, e.g. a slash command option {"name": "token", "value": "..."}.
_LEAF_OBJECT = re.compile(rf"\{{(?:[^{{}}'\"]|{_QUOTED})*\}}")
_SECRET_OPTION = re.compile(rf"['\"]name['\"]\s*:\s*['\"]{_SECRET_NAME}['\"]")
_OPTION_VALUE = re.compile(rf"(['\"]value['\"]\s*:\s*)({_QUOTED})")


def register_secret(value: str | None) -> None:
    """Mask this value in every log record from now on."""
    global _pattern
    if not value or len(value) < _MIN_LEN:
        return
    with _lock:
        if value in _secrets:
            return
        _secrets.add(value)
        ordered = sorted(_secrets, key=len, reverse=True)
        _pattern = re.compile("|".join(re.escape(s) for s in ordered))


def _mask_option(match: re.Match[str]) -> str:
    """Mask the value of a secret-named option, and remember it for later records."""
    obj = match.group(0)
    if not _SECRET_OPTION.search(obj):
        return obj
    value = _OPTION_VALUE.search(obj)
    if value is not None:
        register_secret(value.group(2)[1:-1])
    return _OPTION_VALUE.sub(rf"\g<1>'{MASK}'", obj)


def _redact_shapes(text: str) -> str:
    """Mask secrets recognised by where they sit, registered or not."""
    text = _URL_TOKEN.sub(rf"\g<1>{MASK}", text)
    if "/webhooks/" in text or "/interactions/" in text:
        text = _PATH_TOKEN.sub(rf"\g<1>{MASK}", text)
    if "name" in text and "value" in text:
        text = _LEAF_OBJECT.sub(_mask_option, text)
    return _SECRET_KEY.sub(rf"\g<1>'{MASK}'", text)


def redact(text: str) -> str:
    """The text with every known secret, URL token and secret-named value replaced by ***."""
    text = _redact_shapes(text)
    pattern = _pattern
    return pattern.sub(MASK, text) if pattern else text


def mask(value: str | None) -> str:
    """A short display form of a secret for `/setup show`: never the value itself."""
    if not value:
        return "(not set)"
    return f"{MASK} (set, {len(value)} chars)"


def scrub(record: logging.LogRecord) -> logging.LogRecord:
    """Rewrite the record in place: message, arguments, traceback and stack, masked."""
    try:
        message = record.getMessage()
    except (TypeError, ValueError):
        message = str(record.msg)
    record.msg = redact(message)
    record.args = None
    if record.exc_info and not record.exc_text:
        record.exc_text = logging.Formatter().formatException(record.exc_info)
    if record.exc_text:
        record.exc_text = redact(record.exc_text)
    if record.stack_info:
        record.stack_info = redact(record.stack_info)
    return record


class SecretsFilter(logging.Filter):
    """Rewrites records so that no registered secret leaves the process."""

    def filter(self, record: logging.LogRecord) -> bool:
        scrub(record)
        return True


class _ScrubbingFactory:
    """A log record factory that masks every record as it is made (wraps the previous one)."""

    def __init__(self, previous: Callable[..., logging.LogRecord]) -> None:
        self.previous = previous

    def __call__(self, *args: Any, **kwargs: Any) -> logging.LogRecord:
        return scrub(self.previous(*args, **kwargs))


def install_record_factory() -> None:
    """Mask every record at creation, so no handler, however added, sees a secret.

    The factory only runs for records a logger accepted, so DEBUG costs nothing
    when DEBUG is off.
    """
    current = logging.getLogRecordFactory()
    if not isinstance(current, _ScrubbingFactory):
        logging.setLogRecordFactory(_ScrubbingFactory(current))


def install_filter(logger: logging.Logger | None = None) -> SecretsFilter:
    """Attach the filter to every handler of the root (or given) logger."""
    target = logger or logging.getLogger()
    flt = SecretsFilter()
    for handler in target.handlers:
        if not any(isinstance(f, SecretsFilter) for f in handler.filters):
            handler.addFilter(flt)
    return flt
