"""MpesaProcessor: the processor contract, for each tenant's own Daraja app and accounts."""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable
from dataclasses import replace
from typing import Any

from apg.clock import Clock
from apg.crypto import SecretBox
from apg.ops.latency import calls_for
from apg.payments import ports
from apg.payments.ports import CallbackRejected
from apg.processors.mpesa import accounts, catalog, lookups, retry
from apg.processors.mpesa.breaker import BreakerKey, Breakers, CircuitOpenError, make_breakers
from apg.processors.mpesa.catalog import BY_KIND, BY_TYPE
from apg.processors.mpesa.client import (
    CredentialsRejectedError,
    DarajaClient,
    DarajaError,
    NotSentError,
    OutcomeUnknownError,
    RefusedError,
    credential_fingerprint,
    new_session,
)
from apg.processors.mpesa.products import c2b, results, stk
from apg.processors.mpesa.products.base import AsyncProduct, AsyncRequest
from apg.processors.mpesa.security import security_credential
from apg.processors.mpesa.tokens import TokenStore
from apg.settings import Settings

ACK = {"ResultCode": 0, "ResultDesc": "Accepted"}
CONSUMER_CREDENTIALS = "consumer_key/consumer_secret"


class MpesaProcessor:
    name = "mpesa"
    method_types = catalog.METHOD_TYPES
    lifecycles = catalog.LIFECYCLES
    callback_kinds = catalog.CALLBACK_KINDS

    def __init__(
        self,
        settings: Settings,
        clock: Clock,
        tokens: TokenStore,
        box: SecretBox,
        callback_url_for: Callable[[str, str], str],
        *,
        breakers: Breakers | None = None,
        sleep: Callable[[float], None] = time.sleep,
        random: Callable[[], float] = random.random,
    ) -> None:
        self._settings = settings
        self._clock = clock
        self._tokens = tokens
        self._box = box
        self._callback_url_for = callback_url_for  # (tenant_id, kind) -> URL
        self._base_urls = {
            env: settings.base_url_for(env) for env in ("emulator", "sandbox", "production")
        }
        self._clients: dict[str, DarajaClient] = {}
        self._lock = threading.Lock()
        self._breakers = breakers or make_breakers(settings, clock)
        self.sleep, self.random = sleep, random  # between retries (tests replace them)
        # security.confirm_callbacks_by_query: an STK success completes once STK Query agrees.
        self.confirm_by_query = settings.security.confirm_callbacks_by_query

    def account_for(
        self,
        tenant_id: str,
        transaction_type: str,
        preferred: str | None = None,
        *,
        mode: str | None = None,
    ) -> str:
        return lookups.account_for(tenant_id, transaction_type, preferred, mode)

    # The tenant's accounts: lookups answers for the processor.
    accounts_of_mode = staticmethod(lookups.accounts_of_mode)
    accounts_of_mode_query = staticmethod(lookups.accounts_of_mode_query)
    account_by_number = staticmethod(lookups.account_by_number)

    def credentials(self, account_id: str) -> accounts.Credentials:
        return accounts.load_credentials(account_id, self._box, self._base_urls)

    def callback_url(self, tenant_id: str, kind: str) -> str:
        """Where Daraja sends the tenant's callbacks of `kind`; ValueError when Daraja would
        refuse the URL (a forbidden word in callbacks.public_base_url)."""
        return self._callback_url_for(tenant_id, kind)

    def call(
        self, creds: accounts.Credentials, path: str, payload: dict[str, Any]
    ) -> dict[str, Any] | ports.Refused | ports.Misconfigured | ports.NotSent | ports.Unknown:
        """One synchronous Daraja command (C2B register or simulate): its answer or failure."""
        return self._call(creds, path, payload)

    def refs_before_submit(self, operation: ports.Operation) -> tuple[ports.Ref, ...]:
        product = BY_TYPE.get(operation.transaction_type)
        if product is None:
            return ()
        creds = accounts.load_credentials(operation.account_id, self._box, self._base_urls)
        return product.submitted_refs(self._async_request(operation, creds))

    def submit(self, operation: ports.Operation) -> ports.SubmitResult:
        creds = accounts.load_credentials(operation.account_id, self._box, self._base_urls)
        if (product := BY_TYPE.get(operation.transaction_type)) is not None:
            return self._submit_async(product, operation, creds)
        if operation.amount is None or operation.phone_number is None or creds.passkey is None:
            return ports.Refused("invalid_operation", "an STK Push needs amount, phone, passkey")
        payload = stk.push_payload(
            creds.shortcode,
            creds.passkey,
            amount_minor=operation.amount,
            phone_number=operation.phone_number,
            reference=operation.reference,
            description=operation.description or operation.reference,
            callback_url=self._callback_url_for(operation.tenant_id, stk.CALLBACK_KIND),
            now=self._clock.now(),
        )
        answer = self._call(creds, stk.PUSH_PATH, payload)
        if isinstance(answer, ports.Refused):
            return stk.classify_refusal(answer)
        if not isinstance(answer, dict):
            return answer
        refs = stk.accepted_refs(answer)
        if refs is None:
            return ports.Refused(
                str(answer.get("ResponseCode"))[:32],
                str(answer.get("ResponseDescription") or "not accepted")[:255],
            )
        return ports.Accepted(refs)

    def _submit_async(
        self, product: AsyncProduct, operation: ports.Operation, creds: accounts.Credentials
    ) -> ports.SubmitResult:
        try:
            request = self._async_request(operation, creds)
            payload = product.payload(request)
        except ValueError as exc:  # the API validates first: this is a bug, and nothing went out
            return ports.Refused("invalid_request", str(exc)[:255])
        answer = self._call(creds, product.path(request), payload)
        if isinstance(answer, ports.Refused) and "duplicate originator" in answer.message.lower():
            # Only a request that reached Daraja before can be a duplicate: never "failed".
            return ports.Unknown(f"Daraja says {answer.code} {answer.message}"[:255])
        if isinstance(answer, ports.Refused):
            return stk.classify_refusal(answer)
        if not isinstance(answer, dict):
            return answer
        refs = product.accepted_refs(answer)
        if refs is None:
            return ports.Refused(
                str(answer.get("ResponseCode"))[:32],
                str(answer.get("ResponseDescription") or "not accepted")[:255],
            )
        return ports.Accepted(refs)

    def _async_request(
        self, operation: ports.Operation, creds: accounts.Credentials
    ) -> AsyncRequest:
        kind = BY_TYPE[operation.transaction_type].KIND
        if not (creds.initiator_name and creds.initiator_password):
            raise ValueError("the account has no initiator name and password")
        return AsyncRequest(
            operation=operation,
            shortcode=creds.number,
            initiator_name=creds.initiator_name,
            security_credential=security_credential(creds.initiator_password, creds.environment),
            result_url=self._callback_url_for(operation.tenant_id, f"{kind}-result"),
            timeout_url=self._callback_url_for(operation.tenant_id, f"{kind}-timeout"),
            options=creds.options,
        )

    def query(self, operation: ports.Operation) -> ports.QueryResult:
        if operation.transaction_type in BY_TYPE:
            return ports.StillPending()  # their Result comes by callback; reconciliation asks
        checkout = operation.ref(stk.CHECKOUT)
        if checkout is None:
            return ports.StillPending()
        creds = accounts.load_credentials(operation.account_id, self._box, self._base_urls)
        payload = stk.query_payload(
            creds.shortcode.business_short_code, creds.passkey or "", checkout, self._clock.now()
        )
        answer = self._call(creds, stk.QUERY_PATH, payload, read_only=True)
        if isinstance(answer, ports.Refused):
            return stk.query_still_pending(answer.code, answer.message) or stk.classify_refusal(
                answer
            )
        if not isinstance(answer, dict):
            return answer
        try:
            return stk.parse_query(answer)
        except CallbackRejected as exc:
            return ports.Unknown(f"the query answer was not understood: {exc}")

    def parse_callback(self, kind: str, raw: bytes) -> ports.ProcessorEvent:
        """The callback, reporting only on the operations its URL's kind is for (a C2B
        confirmation may be a copy of an STK Push: any)."""
        if kind not in self.callback_kinds:
            raise CallbackRejected(f"unknown callback kind {kind[:20]!r}")
        if kind == stk.CALLBACK_KIND:
            return replace(stk.parse_callback(raw), reports_on=(stk.TRANSACTION_TYPE,))
        if kind == c2b.CONFIRMATION_KIND:
            return c2b.parse_confirmation(raw)
        if kind == c2b.VALIDATION_KIND:
            return c2b.parse_validation(raw)
        product_kind, _, end = kind.rpartition("-")
        product = BY_KIND[product_kind]
        event = results.parse_timeout(raw) if end == "timeout" else product.parse_result(raw)
        return replace(event, reports_on=(product.TRANSACTION_TYPE,))

    def cross_check(self, operation: ports.Operation, outcome: ports.Outcome) -> tuple[str, ...]:
        """The receipt's shape and what the product's report names (products.checks)."""
        return lookups.cross_check(operation, outcome)

    def needs_confirmation(self, operation: ports.Operation) -> bool:
        """STK Push alone has a query that answers with the outcome (the others' answers
        come by Result, a callback like the one to confirm)."""
        return self.confirm_by_query and operation.transaction_type == stk.TRANSACTION_TYPE

    def answer(self, kind: str, verdict: str) -> dict[str, Any]:
        return c2b.answer(kind, verdict) if kind in c2b.KINDS else dict(ACK)

    def health(self) -> ports.Health:
        """Each Daraja base URL's recent calls and each circuit breaker's state."""
        return ports.Health(*self._breakers.health())

    def client_for(self, creds: accounts.Credentials) -> DarajaClient:
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
                    log_traffic=self._settings.monitoring.log_daraja_traffic,
                )
                self._clients[key] = client
            return client

    def _call(
        self,
        creds: accounts.Credentials,
        path: str,
        payload: dict[str, Any],
        *,
        read_only: bool = False,
    ) -> dict[str, Any] | ports.Refused | ports.Misconfigured | ports.NotSent | ports.Unknown:
        """One upstream call, retried where that is safe (`read_only`: it moves nothing), behind
        the account's circuit breaker; its failure as a contract result."""
        try:
            return retry.call_with_retries(
                lambda: self._attempt(creds, path, payload),
                read_only=read_only,
                policy=self._settings.retry,
                sleep=self.sleep,
                random=self.random,
            )
        except RefusedError as exc:
            wait = retry.THROTTLED_RETRY_AFTER.get(exc.code)
            return ports.Refused(exc.code, exc.message, wait, throttled=wait is not None)
        except CredentialsRejectedError as exc:
            return ports.Misconfigured(CONSUMER_CREDENTIALS, message=exc.reason)
        except CircuitOpenError as exc:
            return ports.NotSent(exc.reason, retry_after_seconds=exc.retry_after_seconds)
        except NotSentError as exc:
            return ports.NotSent(exc.reason)
        except OutcomeUnknownError as exc:
            return ports.Unknown(exc.reason, timed_out=exc.timed_out)

    def _attempt(
        self, creds: accounts.Credentials, path: str, payload: dict[str, Any]
    ) -> dict[str, Any]:
        """One try, unless the breaker is open; its outcome counted by the breaker and noted
        in health (an answer in Daraja's own words means Daraja is up)."""
        key = BreakerKey(creds.account_id, creds.base_url)
        self._breakers.guard(key)
        try:
            with calls_for(creds.account_id):  # its latency counts for the account's tenant
                answer = self.client_for(creds).post(path, payload)
        except DarajaError as exc:
            self._breakers.record(key, exc)
            raise
        self._breakers.record(key, None)
        return answer
