"""Sends callbacks the way Daraja does (JSON POST, no auth, no retry) and records each attempt."""

from __future__ import annotations

import logging
import re
from typing import Any

import requests

from daraja_emulator.clock import Clock
from daraja_emulator.state import EmulatorState
from daraja_emulator.transaction import DUPLICATE, AsyncTransaction, ScheduledCallback

log = logging.getLogger(__name__)

RESPONSE_BODY_LIMIT = 2000
# A whole URL path segment this long is probably a secret (APG puts a token in each callback
# path): after a single "/" (not the "//" before a host), up to "/", "?", "#", a quote or a space.
TOKEN_SEGMENT = re.compile(r"(?<=[^/]/)([A-Za-z0-9_-]{4})[A-Za-z0-9_-]{12,}(?=[/?#\s'\"]|$)")


def mask_tokens(text: str) -> str:
    """Text for the log: each token-like URL path segment shortened to 4 characters + "…".

    Applied to URLs and to error messages (requests quotes the URL path in them).
    """
    return TOKEN_SEGMENT.sub(r"\1…", text)


class CallbackSender:
    """POSTs rendered callbacks through an injected requests session."""

    def __init__(
        self, state: EmulatorState, http: requests.Session, clock: Clock, timeout: float
    ) -> None:
        self._state = state
        self.http = http
        self._clock = clock
        self._timeout = timeout

    def deliver_all(self, key: str) -> bool:
        """Send every callback `key` owes now, in order; wait for those another thread sends.

        False if there is no such transaction or another sender did not finish in time.
        """
        transaction = self._state.get(key)
        if transaction is None:
            return False
        for callback in transaction.callbacks:
            if self._state.claim(callback):
                self.deliver(transaction, callback)
                continue
            patience = (callback.timeout or self._timeout) * callback.copies + 5
            if not self._state.wait_until_done(key, callback, patience):
                return False
        return True

    def deliver(self, transaction: AsyncTransaction, callback: ScheduledCallback) -> None:
        """POST a callback its caller has claimed (`copies` times, back to back; never when
        dropped or no longer owed), then mark it done, whatever happens."""
        try:
            body = transaction.render_callback(callback)
            if body is None:
                return
            if callback.dropped:
                self._drop(transaction, callback, body)
                return
            for copy in range(callback.copies):
                kind = DUPLICATE if copy else callback.kind
                self.send(
                    transaction, kind=kind, body=body, url=callback.url, timeout=callback.timeout
                )
        finally:
            self._state.finish(transaction, callback)

    def send(
        self,
        transaction: AsyncTransaction,
        *,
        kind: str,
        body: str,
        url: str | None = None,
        timeout: float | None = None,
    ) -> dict[str, Any]:
        """POST `body` once (to `url`, else the transaction's callback_url; waiting `timeout`,
        else callback_timeout_seconds) and record the attempt, whatever happens."""
        target = url or transaction.callback_url
        record = self._record(transaction, kind, body, target)
        record.update(self._post(target, body, timeout or self._timeout))
        self._state.record_delivery(transaction, record)
        outcome = mask_tokens(str(record["status_code"] or record["error"]))
        log.info("%s %s -> %s: %s", kind, transaction.key, mask_tokens(target), outcome)
        return dict(record)

    def _drop(self, transaction: AsyncTransaction, callback: ScheduledCallback, body: str) -> None:
        target = callback.url or transaction.callback_url
        record = {**self._record(transaction, callback.kind, body, target), "dropped": True}
        self._state.record_delivery(transaction, record, listed=False)
        log.info(
            "%s %s -> %s: dropped (never POSTed)",
            callback.kind,
            transaction.key,
            mask_tokens(target),
        )

    def _record(
        self, transaction: AsyncTransaction, kind: str, body: str, url: str
    ) -> dict[str, Any]:
        return {
            **transaction.labels(),
            "kind": kind,
            "url": url,
            "sent_at": self._clock(),
            "status_code": None,
            "response_body": None,
            "error": None,
            "dropped": False,
            "body": body,
        }

    def _post(self, url: str, body: str, timeout: float) -> dict[str, Any]:
        try:
            response = self.http.post(
                url,
                data=body.encode("utf-8"),
                headers={"Content-Type": "application/json"},
                timeout=timeout,
                allow_redirects=False,
            )
        except requests.RequestException as exc:
            return {"error": f"{type(exc).__name__}: {exc}"}
        with response:
            return {
                "status_code": response.status_code,
                "response_body": response.text[:RESPONSE_BODY_LIMIT],
            }
