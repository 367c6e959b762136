"""Secrets never reach logs: the filter masks registered values and URL tokens."""

from __future__ import annotations

import io
import logging

from core.redact import SecretsFilter, mask, redact, register_secret


def make_logger() -> tuple[logging.Logger, io.StringIO]:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.addFilter(SecretsFilter())
    logger = logging.getLogger("test.redact")
    logger.handlers = [handler]
    logger.propagate = False
    logger.setLevel(logging.DEBUG)
    return logger, stream


def test_registered_secret_masked_in_message_args_and_traceback() -> None:
    register_secret("s3cr3t-plex-token")
    logger, stream = make_logger()
    logger.info("token is %s", "s3cr3t-plex-token")
    logger.info("inline s3cr3t-plex-token here")
    try:
        raise RuntimeError("failed with s3cr3t-plex-token")
    except RuntimeError:
        logger.exception("boom")
    out = stream.getvalue()
    assert "s3cr3t-plex-token" not in out
    assert out.count("***") >= 3


def test_url_tokens_masked_without_registration() -> None:
    assert redact("GET http://h/x?X-Plex-Token=abcdefgh&a=1") == "GET http://h/x?X-Plex-Token=***&a=1"


def test_short_values_are_not_registered() -> None:
    register_secret("abc")
    assert redact("abc") == "abc"


def test_mask_never_shows_value() -> None:
    assert mask("supersecret") == "*** (set, 11 chars)"
    assert mask("") == "(not set)"
