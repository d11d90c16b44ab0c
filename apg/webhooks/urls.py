"""Build callback URLs that pass Daraja's URL rules."""

from __future__ import annotations

from apg.processors.mpesa.mapping import forbidden_callback_word

CALLBACK_PATH = "/webhooks/daraja/{token}/{kind}"


def callback_url(public_base_url: str, token: str, kind: str) -> str:
    url = f"{callback_url_base(public_base_url, token)}/{kind}"
    word = forbidden_callback_word(url)
    if word:  # Daraja would refuse it with "Invalid CallBackURL"
        raise ValueError(f"callback URL contains {word!r}, which Daraja rejects")
    return url


def callback_url_base(public_base_url: str, token: str) -> str:
    """Where a tenant's callbacks go, without the /<kind>: what the tenant is shown."""
    return public_base_url.rstrip("/") + CALLBACK_PATH.format(token=token, kind="").rstrip("/")
