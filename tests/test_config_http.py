"""The `[http]` section: off by default, a listen address that parses, never without a token."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.config import ConfigError, load_settings

TOKEN = "s3cret-inbound-token-0123456789"


@pytest.fixture
def path(tmp_path: Path) -> Path:
    """The config file of a test, empty until the test writes its `[http]` section."""
    (tmp_path / "config.toml").write_text("")
    return tmp_path / "config.toml"


def test_off_by_default() -> None:
    settings = load_settings(Path(__file__).parents[1] / "config.example.toml", env={})
    assert settings.http.listen == "" and settings.http.token == ""


def test_listen_and_token_from_the_file(path: Path) -> None:
    path.write_text(f'[http]\nlisten = "127.0.0.1:8787"\ntoken = "{TOKEN}"\n')
    settings = load_settings(path, env={})
    assert settings.http.listen == "127.0.0.1:8787" and settings.http.token == TOKEN
    assert TOKEN in settings.secrets()  # masked in every log record


def test_listen_and_token_from_the_environment(path: Path) -> None:
    env = {"EARMARK_HTTP_LISTEN": "[::1]:9000", "EARMARK_HTTP_TOKEN": TOKEN}
    settings = load_settings(path, env=env)
    assert settings.http.listen == "[::1]:9000" and settings.http.token == TOKEN


def test_listen_without_a_token_is_a_one_line_error(path: Path) -> None:
    path.write_text('[http]\nlisten = "127.0.0.1:8787"\n')
    with pytest.raises(ConfigError) as err:
        load_settings(path, env={})
    message = str(err.value)
    assert "[http] token" in message and str(path) in message and "\n" not in message


def test_a_short_token_is_refused_without_echoing_it(path: Path) -> None:
    path.write_text('[http]\nlisten = "127.0.0.1:8787"\ntoken = "abc123"\n')
    with pytest.raises(ConfigError) as err:
        load_settings(path, env={})
    assert "16 characters" in str(err.value) and "abc123" not in str(err.value)


def test_a_token_alone_starts_nothing_and_is_fine(path: Path) -> None:
    path.write_text(f'[http]\ntoken = "{TOKEN}"\n')
    settings = load_settings(path, env={})
    assert settings.http.listen == ""


@pytest.mark.parametrize(
    "listen",
    ["8787", ":8787", "127.0.0.1", "127.0.0.1:0", "127.0.0.1:70000", "127.0.0.1:http",
     "http://127.0.0.1:8787", "::1:8787"],
)
def test_bad_listen_addresses_are_refused(path: Path, listen: str) -> None:
    path.write_text(f'[http]\nlisten = "{listen}"\ntoken = "{TOKEN}"\n')
    with pytest.raises(ConfigError) as err:
        load_settings(path, env={})
    assert "[http] listen" in str(err.value) and "host:port" in str(err.value)
