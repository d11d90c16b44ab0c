"""Sends callbacks the way Daraja does (JSON POST, no auth, no retry) and records each attempt."""

from __future__ import annotations

import logging
from typing import Any

import requests

from daraja_emulator.clock import Clock
from daraja_emulator.state import AsyncTransaction, EmulatorState

log = logging.getLogger(__name__)

RESPONSE_BODY_LIMIT = 2000


class CallbackSender:
    """POSTs rendered callbacks through an injected requests session."""

    def __init__(
        self, state: EmulatorState, http: requests.Session, clock: Clock, timeout: float
    ) -> None:
        self._state = state
        self.http = http
        self._clock = clock
        self._timeout = timeout

    def deliver_first(self, key: str) -> dict[str, Any] | None:
        """Send the first callback for `key` unless another thread has claimed it.

        Either way, return the first delivery record (waiting for an in-flight one), or None
        if there is no such transaction or the other sender did not finish in time.
        """
        if self._state.get(key) is None:
            return None
        transaction = self._state.claim(key)
        if transaction is not None:
            return self.send(transaction, kind="callback")
        return self._state.wait_for_delivery(key, self._timeout + 5)

    def send(self, transaction: AsyncTransaction, *, kind: str) -> dict[str, Any]:
        """POST the transaction's callback once and record the attempt, whatever happens."""
        body = transaction.render_callback()
        record: dict[str, Any] = {
            **transaction.labels(),
            "kind": kind,
            "url": transaction.callback_url,
            "sent_at": self._clock(),
            "status_code": None,
            "response_body": None,
            "error": None,
            "body": body,
        }
        record.update(self._post(transaction.callback_url, body))
        self._state.record_delivery(transaction, record)
        outcome = record["status_code"] or record["error"]
        log.info("%s %s -> %s: %s", kind, transaction.key, transaction.callback_url, outcome)
        return dict(record)

    def _post(self, url: str, body: str) -> dict[str, Any]:
        try:
            response = self.http.post(
                url,
                data=body.encode("utf-8"),
                headers={"Content-Type": "application/json"},
                timeout=self._timeout,
                allow_redirects=False,
            )
        except requests.RequestException as exc:
            return {"error": f"{type(exc).__name__}: {exc}"}
        with response:
            return {
                "status_code": response.status_code,
                "response_body": response.text[:RESPONSE_BODY_LIMIT],
            }
