"""Secrets never reach logs: the filter masks registered values and URL tokens."""

from __future__ import annotations

import io
import logging

from core.redact import SecretsFilter, install_record_factory, mask, redact, register_secret


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


GATEWAY_REPR = (
    "For Shard ID None: WebSocket Event: {'t': 'INTERACTION_CREATE', 'd': {'token': "
    "'itoken.1.abcdef', 'data': {'options': [{'type': 1, 'name': 'plex', 'options': ["
    "{'value': 'http://plex:32400', 'type': 3, 'name': 'url'}, "
    "{'value': \"it's-unregistered\", 'type': 3, 'name': 'token'}]}]}}}"
)


def test_secret_options_and_keys_masked_in_a_gateway_payload_repr() -> None:
    out = redact(GATEWAY_REPR)
    assert "it's-unregistered" not in out and "itoken.1.abcdef" not in out
    assert "http://plex:32400" in out  # ordinary options stay readable
    assert redact("later it's-unregistered again") == f"later {'***'} again"  # learnt


def test_secret_options_masked_in_json_in_any_key_order() -> None:
    text = '[{"name":"secret","type":3,"value":"hmac-value-1"},{"value":"x-val-2","name":"token"}]'
    out = redact(text)
    assert "hmac-value-1" not in out and "x-val-2" not in out
    assert redact('{"authToken": "plex-tv-token-9"}') == "{\"authToken\": '***'}"


def test_interaction_and_webhook_tokens_masked_in_urls() -> None:
    url = "PATCH http://h/api/v10/webhooks/123/itoken.55.xyz/messages/@original returned 200"
    assert redact(url) == "PATCH http://h/api/v10/webhooks/123/***/messages/@original returned 200"
    assert "itoken" not in redact("POST http://h/api/v10/interactions/9/itoken.9.q/callback")


def test_record_factory_masks_records_for_handlers_without_the_filter() -> None:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)  # no SecretsFilter on it
    logger = logging.getLogger("test.redact.factory")
    logger.handlers = [handler]
    logger.propagate = False
    logger.setLevel(logging.DEBUG)
    previous = logging.getLogRecordFactory()
    try:
        install_record_factory()
        install_record_factory()  # idempotent: one wrapper, not two
        logger.debug("event %s", {"name": "token", "value": "raw-debug-token"})
    finally:
        logging.setLogRecordFactory(previous)
    assert "raw-debug-token" not in stream.getvalue()
    assert "***" in stream.getvalue()
