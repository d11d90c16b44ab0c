"""MpesaProcessor: STK Push and STK Query for each tenant's own Daraja app."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from apg.clock import Clock
from apg.errors import UpstreamError, UpstreamRejectedError
from apg.payments.status import PaymentStatus
from apg.processors.base import HealthResult, PaymentProcessor, PaymentResult, StatusResult
from apg.processors.mpesa import mapping
from apg.processors.mpesa.client import DarajaClient, credential_fingerprint, new_session
from apg.processors.mpesa.tokens import TokenCache
from apg.settings import Settings

if TYPE_CHECKING:
    from apg.payments.models import PaymentMethod, PaymentTransaction
    from apg.tenants.service import MpesaCredentials


@dataclass
class UpstreamHealth:
    consecutive_failures: int = 0
    last_success_at: str | None = None
    last_failure_at: str | None = None
    last_error: str | None = None


class MpesaProcessor(PaymentProcessor):
    method_type = "mpesa_stk"

    def __init__(
        self,
        settings: Settings,
        clock: Clock,
        tokens: TokenCache,
        credentials_for: Callable[[str], MpesaCredentials],
        callback_url_for: Callable[[str], str],
    ) -> None:
        self._settings = settings
        self._clock = clock
        self._tokens = tokens
        self._credentials_for = credentials_for
        self._callback_url_for = callback_url_for
        self._clients: dict[str, DarajaClient] = {}
        self._health: dict[str, UpstreamHealth] = {}
        self._lock = threading.Lock()

    def process_payment(
        self,
        transaction: PaymentTransaction,
        payment_method: PaymentMethod,
        additional_data: dict[str, Any],
    ) -> PaymentResult:
        creds = self._credentials_for(transaction.tenant_id)
        payload = mapping.stk_push_payload(
            creds.shortcode,
            creds.passkey,
            amount_minor=transaction.amount,
            phone_number=payment_method.phone_number,
            reference=transaction.reference,
            description=transaction.description or transaction.reference,
            callback_url=self._callback_url_for(transaction.tenant_id),
            now=self._clock.now(),
        )
        try:
            body = self._call(creds, lambda client: client.stk_push(payload))
        except UpstreamRejectedError as exc:
            return PaymentResult(
                PaymentStatus.FAILED,
                result_code=exc.extra.get("daraja_code") or exc.code,
                result_desc=exc.extra.get("daraja_message") or exc.message,
            )
        if str(body.get("ResponseCode")) != "0" or not body.get("CheckoutRequestID"):
            return PaymentResult(
                PaymentStatus.FAILED,
                result_code=str(body.get("ResponseCode")),
                result_desc=str(body.get("ResponseDescription") or ""),
            )
        return PaymentResult(
            PaymentStatus.PROCESSING,
            external_ids={
                "merchant_request_id": str(body.get("MerchantRequestID") or ""),
                "checkout_request_id": str(body["CheckoutRequestID"]),
            },
        )

    def get_transaction_status(self, transaction: PaymentTransaction) -> StatusResult:
        if not transaction.checkout_request_id:
            return StatusResult(PaymentStatus(transaction.status))
        creds = self._credentials_for(transaction.tenant_id)
        payload = mapping.stk_query_payload(
            creds.shortcode.business_short_code,
            creds.passkey,
            transaction.checkout_request_id,
            self._clock.now(),
        )
        try:
            body = self._call(creds, lambda client: client.stk_query(payload))
        except UpstreamRejectedError as exc:
            if _still_processing(exc):
                return StatusResult(PaymentStatus.PROCESSING)
            raise
        try:
            outcome = mapping.parse_stk_query(body)
        except mapping.CallbackFormatError as exc:
            raise UpstreamError("M-Pesa's STK Query answer was not understood.") from exc
        return StatusResult(outcome.status, outcome.result_code, outcome.result_desc)

    def health_check(self) -> HealthResult:
        threshold = self._settings.circuit_breaker.failure_threshold
        with self._lock:
            upstreams = {url: vars(h).copy() for url, h in self._health.items()}
        healthy = all(h["consecutive_failures"] < threshold for h in upstreams.values())
        return HealthResult(healthy, {"upstreams": upstreams})

    def client_for(self, creds: MpesaCredentials) -> DarajaClient:
        key = credential_fingerprint(creds.base_url, creds.consumer_key, creds.consumer_secret)
        with self._lock:
            client = self._clients.get(key)
            if client is None:
                perf = self._settings.performance
                client = DarajaClient(
                    creds.base_url,
                    creds.consumer_key,
                    creds.consumer_secret,
                    session=new_session(perf.http_pool_maxsize),
                    tokens=self._tokens,
                    timeout=(perf.connect_timeout_seconds, perf.read_timeout_seconds),
                    refresh_buffer_seconds=self._settings.token.refresh_buffer_seconds,
                )
                self._clients[key] = client
            return client

    def _call(self, creds: MpesaCredentials, send: Callable[[DarajaClient], Any]) -> Any:
        """Run one upstream call and record whether Daraja was reachable."""
        try:
            result = send(self.client_for(creds))
        except UpstreamRejectedError:
            self._record(creds.base_url, error=None)  # Daraja answered: it is up
            raise
        except UpstreamError as exc:
            self._record(creds.base_url, error=exc.code)
            raise
        self._record(creds.base_url, error=None)
        return result

    def _record(self, base_url: str, error: str | None) -> None:
        now = self._clock.now().isoformat()
        with self._lock:
            health = self._health.setdefault(base_url, UpstreamHealth())
            if error is None:
                health.consecutive_failures, health.last_success_at = 0, now
            else:
                health.consecutive_failures += 1
                health.last_failure_at, health.last_error = now, error


def _still_processing(exc: UpstreamRejectedError) -> bool:
    return (
        exc.extra.get("daraja_code") == mapping.STK_QUERY_PENDING_CODE
        and mapping.STK_QUERY_PENDING_MESSAGE.lower()
        in str(exc.extra.get("daraja_message", "")).lower()
    )
