"""Build callback URLs that pass Daraja's URL rules."""

from __future__ import annotations

from apg.processors.mpesa.mapping import forbidden_callback_word

CALLBACK_PATH = "/webhooks/daraja/{token}/{kind}"


def callback_url(public_base_url: str, token: str, kind: str) -> str:
    url = public_base_url.rstrip("/") + CALLBACK_PATH.format(token=token, kind=kind)
    word = forbidden_callback_word(url)
    if word:  # Daraja would refuse it with "Invalid CallBackURL"
        raise ValueError(f"callback URL contains {word!r}, which Daraja rejects")
    return url
