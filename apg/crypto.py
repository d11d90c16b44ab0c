"""Secrets at rest: Fernet encryption for credentials, SHA-256 digests for API keys."""

from __future__ import annotations

import hashlib

from cryptography.fernet import Fernet, InvalidToken, MultiFernet


class SecretBox:
    """Encrypts with the first key, decrypts with any (comma-separated keys allow rotation)."""

    def __init__(self, keys: str) -> None:
        fernets = [Fernet(k.strip().encode()) for k in keys.split(",") if k.strip()]
        if not fernets:
            raise ValueError("at least one Fernet key is required")
        self._fernet = MultiFernet(fernets)

    def encrypt(self, plaintext: str) -> str:
        return self._fernet.encrypt(plaintext.encode()).decode("ascii")

    def decrypt(self, token: str) -> str:
        try:
            return self._fernet.decrypt(token.encode("ascii")).decode()
        except InvalidToken as exc:
            raise ValueError("cannot decrypt: wrong APG_ENCRYPTION_KEY?") from exc


def digest(secret: str) -> str:
    """API keys carry 256 random bits, so a plain SHA-256 is a safe, fast lookup key."""
    return hashlib.sha256(secret.encode()).hexdigest()
