"""Token encryption at rest (Fernet).

The key comes from an environment variable or a key file created with mode
0600 on first start. Values that are not Fernet tokens (stored before
encryption existed, or by hand) are read as plain text once, with a warning,
and re-encrypted by the caller (the seed's fix #8).
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken

log = logging.getLogger(__name__)

KEY_ENV = "EARMARK_SECRET_KEY"
FERNET_PREFIX = "gAAAAA"  # version byte 0x80 plus a timestamp, base64


class CryptoError(Exception):
    """The key is unusable; the message says which and why."""


class TokenCipher:
    """Encrypts and decrypts secrets with one Fernet key."""

    def __init__(self, key: bytes | str) -> None:
        try:
            self._fernet = Fernet(key)
        except (ValueError, TypeError) as err:
            raise CryptoError(
                "the encryption key is not a valid Fernet key (32 url-safe base64 bytes)"
            ) from err
        self._warned_plain = False

    def encrypt(self, value: str) -> str:
        return self._fernet.encrypt(value.encode()).decode()

    def can_decrypt(self, value: str) -> bool:
        """False only for a Fernet token of another key (plain text is readable); silent."""
        try:
            self._fernet.decrypt(value.encode())
        except (InvalidToken, ValueError):
            return not value.startswith(FERNET_PREFIX)
        return True

    def decrypt(self, value: str) -> tuple[str | None, bool]:
        """Return (plain text, was_encrypted).

        A value that is not a Fernet token passes through as plain text with a
        warning (the caller re-encrypts it). A Fernet token made with another
        key gives None: using ciphertext as a token would only fail later.
        """
        try:
            return self._fernet.decrypt(value.encode()).decode(), True
        except (InvalidToken, ValueError):
            if value.startswith(FERNET_PREFIX):
                log.warning("a stored secret was encrypted with another key and is unusable")
                return None, True
            if not self._warned_plain:
                log.warning(
                    "a stored secret is not encrypted with the current key; "
                    "using it as plain text and re-encrypting it"
                )
                self._warned_plain = True
            return value, False


def _check_key(key: bytes, where: str) -> bytes:
    """The key if Fernet accepts it; else a CryptoError naming where it came from."""
    try:
        Fernet(key)
    except (ValueError, TypeError):
        raise CryptoError(
            f"{where} is not a valid key: Earmark expects the 44-character Fernet key it "
            "created (url-safe base64); restore the original"
        ) from None
    return key


def key_source(key_file: str | os.PathLike[str], env: Mapping[str, str] | None = None) -> str:
    """Where the key comes from, for messages: 'EARMARK_SECRET_KEY' or the key file's path."""
    env = os.environ if env is None else env
    return KEY_ENV if env.get(KEY_ENV) else str(Path(key_file).expanduser())


def load_or_create_key(
    key_file: str | os.PathLike[str], env: Mapping[str, str] | None = None
) -> bytes:
    """The Fernet key: from the environment, else the key file (created 0600 when missing).

    Every way the key can be unusable (garbage, empty, a directory, unreadable,
    not creatable) is a CryptoError naming the variable or file, never a traceback.
    """
    env = os.environ if env is None else env
    if env.get(KEY_ENV):
        return _check_key(env[KEY_ENV].strip().encode(), KEY_ENV)
    path = Path(key_file).expanduser()
    where = f"the key file {path}"
    try:
        key = path.read_bytes().strip()
    except FileNotFoundError:
        return _create_key(path)
    except IsADirectoryError:
        raise CryptoError(f"{where} is a directory, not a key file ([security] key_file)") from None
    except OSError as err:
        raise CryptoError(f"cannot read {where}: {err.strerror or err}") from None
    if not key:
        raise CryptoError(
            f"{where} is empty: restore the original key, or delete the file to create a new "
            "one (secrets stored with the old key are then lost)"
        )
    return _check_key(key, where)


def _create_key(path: Path) -> bytes:
    key = Fernet.generate_key()
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as fh:
            fh.write(key + b"\n")
    except OSError as err:
        raise CryptoError(f"cannot create the key file {path}: {err.strerror or err}") from None
    log.info("created a new encryption key at %s", path)
    return key
