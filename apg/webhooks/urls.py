"""Build callback URLs that pass Daraja's URL rules."""

from __future__ import annotations

from apg.processors.mpesa.mapping import forbidden_callback_word

STK_CALLBACK_PATH = "/webhooks/daraja/{token}/stk"


def stk_callback_url(public_base_url: str, token: str) -> str:
    url = public_base_url.rstrip("/") + STK_CALLBACK_PATH.format(token=token)
    word = forbidden_callback_word(url)
    if word:  # Daraja would refuse it with "Invalid CallBackURL"
        raise ValueError(f"callback URL contains {word!r}, which Daraja rejects")
    return url
