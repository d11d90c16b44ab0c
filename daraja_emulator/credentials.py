"""SecurityCredential (API.md §15.2): the initiator password, RSA PKCS#1 v1.5 encrypted, base64.

The emulator has its own public test key pair in keys/ (not a secret). Clients encrypt with
keys/emulator.cer; the emulator decrypts with keys/emulator_private_key.pem.
"""

from __future__ import annotations

import base64
import binascii
import functools
import hmac
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from daraja_emulator.config import EmulatorConfig

KEYS = Path(__file__).resolve().parent / "keys"
CERTIFICATE = KEYS / "emulator.cer"
PRIVATE_KEY = KEYS / "emulator_private_key.pem"
MIN_PADDING = 8  # PKCS#1 v1.5: at least 8 non-zero padding bytes


@functools.cache
def _private_numbers() -> tuple[int, int, int]:
    """(modulus, private exponent, key size in bytes) of the emulator's key."""
    key = serialization.load_pem_private_key(PRIVATE_KEY.read_bytes(), password=None)
    if not isinstance(key, rsa.RSAPrivateKey):
        raise TypeError(f"{PRIVATE_KEY} is not an RSA private key")
    numbers = key.private_numbers()
    modulus = numbers.public_numbers.n
    return modulus, numbers.d, (modulus.bit_length() + 7) // 8


def decrypt(credential: str) -> bytes | None:
    """The plaintext of a credential made with the emulator's certificate, else None.

    The padding is checked by hand: OpenSSL 3's PKCS#1 v1.5 "implicit rejection" turns a
    ciphertext made for another key (Safaricom's certificate) into random bytes instead of an
    error, and the emulator must tell "not for me" from "wrong password". Whitespace inside the
    base64 is ignored (wrapped `openssl base64` output).
    """
    try:
        raw = base64.b64decode("".join(credential.split()), validate=True)
    except (binascii.Error, ValueError):
        return None
    modulus, exponent, size = _private_numbers()
    number = int.from_bytes(raw, "big")
    if len(raw) != size or number >= modulus:
        return None
    block = pow(number, exponent, modulus).to_bytes(size, "big")
    separator = block.find(b"\x00", 2)
    if block[:2] != b"\x00\x02" or separator < 2 + MIN_PADDING:
        return None
    return block[separator + 1 :]


def initiator_is_valid(
    config: EmulatorConfig, shortcode: str, initiator: str, credential: str
) -> bool:
    """Whether Daraja would accept this operator of `shortcode` with this SecurityCredential.

    An unknown shortcode or operator never is. A credential the emulator cannot decrypt (made
    with Safaricom's certificate by a library that ships it) counts as the right password
    unless `strict_security_credential` is on.
    """
    password = config.initiator_password(shortcode, initiator)
    if password is None:
        return False
    plaintext = decrypt(credential)
    if plaintext is None:
        return not config.strict_security_credential
    return hmac.compare_digest(plaintext, password.encode("utf-8"))
