"""Secrets never reach logs: a process-wide registry and a logging filter that masks them.

Every token the process learns (config, setup, a user's login) is registered;
the filter replaces each one in the message, its arguments and tracebacks.
"""

from __future__ import annotations

import logging
import re
import threading

MASK = "***"
_MIN_LEN = 6  # shorter values would mask ordinary words

_lock = threading.Lock()
_secrets: set[str] = set()
_pattern: re.Pattern[str] | None = None

# Tokens that appear in URLs are masked even before anyone registered them.
_URL_TOKEN = re.compile(r"(?i)(X-Plex-Token=)[^&\s'\"]+")


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


def redact(text: str) -> str:
    """The text with every known secret and URL token replaced by ***."""
    text = _URL_TOKEN.sub(rf"\g<1>{MASK}", text)
    pattern = _pattern
    return pattern.sub(MASK, text) if pattern else text


def mask(value: str | None) -> str:
    """A short display form of a secret for `/setup show`: never the value itself."""
    if not value:
        return "(not set)"
    return f"{MASK} (set, {len(value)} chars)"


class SecretsFilter(logging.Filter):
    """Rewrites records so that no registered secret leaves the process."""

    def filter(self, record: logging.LogRecord) -> bool:
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
        return True


def install_filter(logger: logging.Logger | None = None) -> SecretsFilter:
    """Attach the filter to every handler of the root (or given) logger."""
    target = logger or logging.getLogger()
    flt = SecretsFilter()
    for handler in target.handlers:
        if not any(isinstance(f, SecretsFilter) for f in handler.filters):
            handler.addFilter(flt)
    return flt
