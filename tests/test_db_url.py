"""Database URLs: every usual PostgreSQL spelling works, one place normalises them."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from bot.config import ConfigError, load_settings
from core.db import normalize_db_url, redact_db_url


@pytest.mark.parametrize(
    "given",
    [
        "postgres://u:p@db.example:5432/earmark",
        "postgresql://u:p@db.example:5432/earmark",
        "postgresql+asyncpg://u:p@db.example:5432/earmark",
        "PostgreSQL://u:p@db.example:5432/earmark",
        "asyncpg://u:p@db.example:5432/earmark",
    ],
)
def test_every_postgres_spelling_becomes_postgres(given: str) -> None:
    assert normalize_db_url(given) == "postgres://u:p@db.example:5432/earmark"


@pytest.mark.parametrize(
    "url",
    ["sqlite://data/earmark.db", "sqlite://:memory:", "sqlite:///srv/e.db", "psycopg://u@h/db"],
)
def test_other_supported_urls_are_kept_as_they_are(url: str) -> None:
    assert normalize_db_url(url) == url


@pytest.mark.parametrize("url", ["mysql://u:p@h/db", "data/earmark.db", "", "postgres:/x"])
def test_an_unsupported_url_is_refused(url: str) -> None:
    with pytest.raises(ValueError, match="sqlite://PATH or postgres://user:pass@host/db"):
        normalize_db_url(url)


def test_the_config_accepts_postgresql_and_stores_the_normal_form(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in [k for k in os.environ if k.startswith("EARMARK_")]:
        monkeypatch.delenv(name)
    config = tmp_path / "config.toml"
    config.write_text('[database]\nurl = "postgresql://earmark:s3cret@db:5432/earmark"\n')
    settings = load_settings(config)
    assert settings.database.url == "postgres://earmark:s3cret@db:5432/earmark"

    config.write_text('[database]\nurl = "mysql://earmark:s3cret@db/earmark"\n')
    with pytest.raises(ConfigError, match=r"\[database\] url: expected a database URL"):
        load_settings(config)


def test_the_password_is_masked_in_every_spelling() -> None:
    for scheme in ("postgres", "postgresql"):
        shown = redact_db_url(f"{scheme}://earmark:s3cret@db:5432/earmark")
        assert "s3cret" not in shown and shown.endswith("earmark:***@db:5432/earmark")


def test_a_refused_url_is_shown_without_its_password(tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    config.write_text("[discord]\n")
    env = {"EARMARK_DATABASE_URL": "mysql://earmark:s3cret@db/earmark"}
    with pytest.raises(ConfigError) as caught:
        load_settings(config, env=env)
    assert "s3cret" not in str(caught.value)
    assert str(caught.value).endswith("got 'mysql://earmark:***@db/earmark'")
