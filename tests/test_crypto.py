"""Token encryption at rest, the key file, and the plain-text fallback (the seed's fix #8)."""

from __future__ import annotations

import logging
import stat
from pathlib import Path

import pytest
from cryptography.fernet import Fernet

from core.crypto import CryptoError, TokenCipher, key_source, load_or_create_key


def test_key_file_created_with_mode_0600_and_reused(tmp_path: Path) -> None:
    path = tmp_path / "sub" / "secret.key"
    key = load_or_create_key(path, env={})
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert load_or_create_key(path, env={}) == key
    TokenCipher(key)  # a valid Fernet key


def test_key_from_environment_wins(tmp_path: Path) -> None:
    key = Fernet.generate_key()
    assert load_or_create_key(tmp_path / "k", env={"EARMARK_SECRET_KEY": key.decode()}) == key
    assert not (tmp_path / "k").exists()


def test_bad_key_is_a_clear_error() -> None:
    with pytest.raises(CryptoError, match="not a valid Fernet key"):
        TokenCipher(b"short")


def test_round_trip_and_ciphertext_hides_value() -> None:
    cipher = TokenCipher(Fernet.generate_key())
    sealed = cipher.encrypt("plex-token-123")
    assert "plex-token-123" not in sealed
    assert cipher.decrypt(sealed) == ("plex-token-123", True)


def test_plain_text_falls_back_and_warns_once(caplog: pytest.LogCaptureFixture) -> None:
    cipher = TokenCipher(Fernet.generate_key())
    with caplog.at_level(logging.WARNING, logger="core.crypto"):
        assert cipher.decrypt("legacy-plain-token") == ("legacy-plain-token", False)
        assert cipher.decrypt("another-plain") == ("another-plain", False)
    warnings = [r for r in caplog.records if "plain text" in r.getMessage()]
    assert len(warnings) == 1
    assert "legacy-plain-token" not in caplog.text


def test_token_of_another_key_is_unusable_not_plain() -> None:
    other = TokenCipher(Fernet.generate_key()).encrypt("secret-value")
    cipher = TokenCipher(Fernet.generate_key())
    assert cipher.decrypt(other) == (None, True)


def test_garbage_key_file_names_the_file(tmp_path: Path) -> None:
    path = tmp_path / "secret.key"
    path.write_text("garbage\n")
    with pytest.raises(CryptoError, match=f"the key file {path} is not a valid key"):
        load_or_create_key(path, env={})


def test_bad_environment_key_names_the_variable_not_the_value() -> None:
    with pytest.raises(CryptoError) as err:
        load_or_create_key("unused", env={"EARMARK_SECRET_KEY": "hunter2-value"})
    assert str(err.value).startswith("EARMARK_SECRET_KEY is not a valid key")
    assert "hunter2-value" not in str(err.value)


def test_key_file_that_is_a_directory_or_empty(tmp_path: Path) -> None:
    (tmp_path / "dir.key").mkdir()
    with pytest.raises(CryptoError, match="is a directory"):
        load_or_create_key(tmp_path / "dir.key", env={})
    (tmp_path / "empty.key").write_bytes(b"  \n")
    with pytest.raises(CryptoError, match="is empty"):
        load_or_create_key(tmp_path / "empty.key", env={})


def test_key_source_names_the_variable_or_the_file(tmp_path: Path) -> None:
    assert key_source(tmp_path / "k", env={}) == str(tmp_path / "k")
    assert key_source(tmp_path / "k", env={"EARMARK_SECRET_KEY": "x"}) == "EARMARK_SECRET_KEY"


def test_can_decrypt_is_false_only_for_another_keys_token(caplog: pytest.LogCaptureFixture) -> None:
    cipher = TokenCipher(Fernet.generate_key())
    with caplog.at_level(logging.DEBUG, logger="core.crypto"):
        assert cipher.can_decrypt(cipher.encrypt("mine"))
        assert cipher.can_decrypt("legacy-plain-token")
        assert not cipher.can_decrypt(TokenCipher(Fernet.generate_key()).encrypt("theirs"))
    assert caplog.records == []
