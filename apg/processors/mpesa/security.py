"""SecurityCredential: the initiator password encrypted to M-Pesa's certificate (API.md §15.2)."""

from __future__ import annotations

import base64
from functools import cache
from importlib import resources

from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import padding
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPublicKey

# Safaricom's public certificates (production; sandbox = the one Safaricom's own node library
# ships, API.md §15.2) and the emulator's, whose private key the emulator holds. Only the public
# key is used, so their long-past expiry dates do not matter.
CERTIFICATES = {
    "emulator": "emulator.cer",
    "sandbox": "sandbox.cer",
    "production": "production.cer",
}


def security_credential(password: str, environment: str) -> str:
    """base64(RSA PKCS#1 v1.5 encryption of the password's UTF-8 bytes) to the environment's
    certificate. Randomised: every call differs, and any of them is valid."""
    if not password:
        raise ValueError("the initiator password is empty")
    # Not OAEP and no trailing newline: that is what Daraja decrypts (API.md §15.2).
    ciphertext = public_key(environment).encrypt(password.encode(), padding.PKCS1v15())
    return base64.b64encode(ciphertext).decode("ascii")


@cache
def public_key(environment: str) -> RSAPublicKey:
    """The RSA key of the environment's certificate (read from the package once)."""
    name = CERTIFICATES.get(environment)
    if name is None:
        raise ValueError(f"environment must be one of {', '.join(CERTIFICATES)}")
    pem = resources.files(__package__).joinpath("certs", name).read_bytes()
    key = x509.load_pem_x509_certificate(pem).public_key()
    if not isinstance(key, RSAPublicKey):
        raise ValueError(f"{name} does not hold an RSA key")
    return key
