"""The links members see: Plex's web-app page of an item, and the book's catalog page."""

from __future__ import annotations

import pytest

from core.catalog import product_url
from core.plex.links import listen_url

APP = "https://app.plex.tv"
MACHINE = "a1b2c3d4e5f60718293a4b5c6d7e8f9012345678"


def test_listen_url_is_the_web_app_deep_link() -> None:
    assert listen_url(APP, MACHINE, "1234") == (
        f"{APP}/desktop/#!/server/{MACHINE}/details?key=%2Flibrary%2Fmetadata%2F1234"
    )
    assert listen_url(APP + "/", MACHINE, 7) == listen_url(APP, MACHINE, "7")


@pytest.mark.parametrize(
    ("app", "machine", "key"),
    [
        (APP, None, "1"),  # no /setup plex yet
        (APP, MACHINE, None),
        (APP, MACHINE, ""),
        (APP, MACHINE, "1?X-Plex-Token=secret"),  # a mangled key never reaches a link
        (APP, "abc/../x", "1"),
        ("http://app.plex.tv", MACHINE, "1"),  # only https links
        ("", MACHINE, "1"),
    ],
)
def test_listen_url_is_none_for_missing_or_odd_parts(
    app: str, machine: str | None, key: str | None
) -> None:
    assert listen_url(app, machine, key) is None


def test_listen_url_carries_no_token_or_server_address() -> None:
    url = listen_url(APP, MACHINE, "99")
    assert url is not None and "token" not in url.lower() and "127.0.0.1" not in url


def test_product_url_per_marketplace() -> None:
    assert product_url("B08G9PRS1K", "us") == "https://www.audible.com/pd/B08G9PRS1K"
    assert product_url("b08g9prs1k ", "UK") == "https://www.audible.co.uk/pd/B08G9PRS1K"
    assert product_url("B08G9PRS1K", "de") == "https://www.audible.de/pd/B08G9PRS1K"


@pytest.mark.parametrize(("asin", "region"), [("not an asin", "us"), ("B08G9PRS1K", "mars")])
def test_product_url_none_for_unknown(asin: str, region: str) -> None:
    assert product_url(asin, region) is None
