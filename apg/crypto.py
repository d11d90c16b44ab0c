"""Secrets at rest: Fernet encryption for credentials, SHA-256 digests for API keys."""

from __future__ import annotations

import base64
import hashlib

from cryptography.fernet import Fernet, InvalidToken, MultiFernet

# What development uses when APG_ENCRYPTION_KEY is unset. Fixed so that restarts can still
# decrypt, and public (it is right here), so nothing encrypted under it is secret.
DEV_ENCRYPTION_KEY = base64.urlsafe_b64encode(hashlib.sha256(b"apg-dev-only").digest()).decode()

# Prints a new key for APG_ENCRYPTION_KEY; error messages quote it.
KEYGEN_COMMAND = (
    'python -c "from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())"'
)


def parse_keys(keys: str) -> list[Fernet]:
    """Fernets for comma-separated keys, newest first.

    Raises ValueError naming a bad key by its position, never by its value.
    """
    parts = _split(keys)
    if not parts:
        raise ValueError(f"no Fernet key given; make one with: {KEYGEN_COMMAND}")
    fernets = []
    for position, key in enumerate(parts, start=1):
        try:
            fernets.append(Fernet(key))
        except ValueError:  # binascii.Error included; its text is dropped with the key
            raise ValueError(
                f"key {position} of {len(parts)} is not a Fernet key (32 url-safe base64-encoded"
                f" bytes); make one with: {KEYGEN_COMMAND}"
            ) from None
    return fernets


class SecretBox:
    """Encrypts with the first key, decrypts with any (comma-separated keys allow rotation)."""

    def __init__(self, keys: str) -> None:
        self._fernet = MultiFernet(parse_keys(keys))
        self._development = _key_bytes(_split(keys)[0]) == _key_bytes(DEV_ENCRYPTION_KEY)

    @property
    def is_development_key(self) -> bool:
        """True if new secrets are encrypted under the public DEV_ENCRYPTION_KEY."""
        return self._development

    def encrypt(self, plaintext: str) -> str:
        return self._fernet.encrypt(plaintext.encode()).decode("ascii")

    def rotate(self, token: str) -> str:
        """The same secret, encrypted under the first (newest) key."""
        try:
            return self._fernet.rotate(token.encode("ascii")).decode("ascii")
        except InvalidToken as exc:
            raise ValueError("cannot decrypt: wrong APG_ENCRYPTION_KEY?") from exc

    def decrypt(self, token: str) -> str:
        try:
            return self._fernet.decrypt(token.encode("ascii")).decode()
        except InvalidToken as exc:
            raise ValueError("cannot decrypt: wrong APG_ENCRYPTION_KEY?") from exc


def digest(secret: str) -> str:
    """API keys carry 256 random bits, so a plain SHA-256 is a safe, fast lookup key."""
    return hashlib.sha256(secret.encode()).hexdigest()


def _split(keys: str) -> list[str]:
    return [key.strip() for key in keys.split(",") if key.strip()]


def _key_bytes(key: str) -> bytes:
    # One key has several spellings ("+/" or "-_", stray characters skipped): compare bytes.
    return base64.urlsafe_b64decode(key)
