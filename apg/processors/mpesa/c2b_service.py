"""C2B commands for a tenant: register the callback URLs, simulate a payment (not production),
and set the rules its validation URL answers by. M-Pesa only, so beside its processor."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy.exc import IntegrityError

from apg.clock import Clock
from apg.errors import (
    ConfigurationError,
    InvalidRequestError,
    ProcessorUnavailableError,
    RateLimitedError,
    UpstreamError,
    UpstreamRejectedError,
    UpstreamTimeoutError,
    UpstreamUnavailableError,
)
from apg.extensions import db
from apg.payments import collections, ports
from apg.payments.operations import account_refused, misconfigured
from apg.processors.mpesa.accounts import Credentials
from apg.processors.mpesa.c2b_registrations import C2BRegistration
from apg.processors.mpesa.processor import MpesaProcessor
from apg.processors.mpesa.products import c2b

ALREADY_REGISTERED_HINT = (
    " Production registers a shortcode's URLs once: delete them in the Daraja portal"
    " (Self Services → URL Management) or ask apisupport@safaricom.co.ke, then register again."
)


@dataclass(frozen=True)
class Simulation:
    """Daraja took a simulated payment; its confirmation comes to the registered URL."""

    account_id: str
    shortcode: str
    command_id: str
    amount: int  # minor units
    phone_number: str
    bill_ref_number: str
    originator_conversation_id: str | None
    response_description: str | None


class C2BCommands:
    def __init__(self, processor: MpesaProcessor, clock: Clock) -> None:
        self.processor = processor
        self.clock = clock

    def register_urls(
        self,
        tenant_id: str,
        account_id: str | None,
        response_type: str,
        version: str,
        *,
        mode: str | None = None,
    ) -> C2BRegistration:
        """Register the tenant's callback URLs for the account's shortcode, and remember it.
        `mode`, in every command here: the API key's (test | live), None without one."""
        account_id = self._account(tenant_id, account_id, mode)
        creds = self.processor.credentials(account_id)
        confirmation, validation = self._urls(tenant_id, creds)
        shortcode = creds.shortcode.business_short_code
        payload = c2b.register_payload(shortcode, response_type, confirmation, validation)
        ack = self._send(tenant_id, creds, c2b.register_path(version), payload)
        registration = C2BRegistration(
            account_id=account_id,
            tenant_id=tenant_id,
            shortcode=shortcode,
            response_type=response_type,
            version=version,
            confirmation_url=confirmation,
            validation_url=validation,
            originator_conversation_id=ack.originator_conversation_id,
            response_description=ack.description,
            registered_at=self.clock.now(),
        )
        try:
            db.session.merge(registration)
            db.session.commit()
        except IntegrityError:  # registered twice at once: the last answer is as good
            db.session.rollback()
            db.session.merge(registration)
            db.session.commit()
        return registration

    def simulate(
        self,
        tenant_id: str,
        account_id: str | None,
        *,
        command_id: str,
        amount: int,
        phone_number: str,
        bill_ref_number: str,
        mode: str | None = None,
    ) -> Simulation:
        """Ask Daraja to pretend a customer paid (emulator and sandbox only)."""
        account_id = self._account(tenant_id, account_id, mode)
        creds = self.processor.credentials(account_id)
        if creds.environment == "production":
            raise InvalidRequestError(
                "Daraja has no simulation in production: pay from a real phone.",
                code="simulation_not_available",
                param="account_id",
            )
        registered = db.session.get(C2BRegistration, account_id)
        shortcode = creds.shortcode.business_short_code
        payload = c2b.simulate_payload(shortcode, command_id, amount, phone_number, bill_ref_number)
        path = c2b.simulate_path(registered.version if registered else "v2")
        ack = self._send(tenant_id, creds, path, payload)
        return Simulation(
            account_id,
            shortcode,
            command_id,
            amount,
            phone_number,
            bill_ref_number,
            ack.originator_conversation_id,
            ack.description,
        )

    def validation_rules(
        self, tenant_id: str, account_id: str | None, *, mode: str | None = None
    ) -> collections.CollectionRule:
        return collections.rules_of(tenant_id, self._account(tenant_id, account_id, mode))

    def set_validation_rules(
        self,
        tenant_id: str,
        account_id: str | None,
        rules: collections.Rules,
        *,
        mode: str | None = None,
    ) -> collections.CollectionRule:
        """Replace the rules the account's validation URL answers by (400 if they cannot work)."""
        account_id = self._account(tenant_id, account_id, mode)
        row = collections.save_rules(tenant_id, account_id, rules, self.clock.now())
        db.session.commit()
        return row

    def _account(self, tenant_id: str, preferred: str | None, mode: str | None) -> str:
        try:
            return self.processor.account_for(tenant_id, c2b.TRANSACTION_TYPE, preferred, mode=mode)
        except ports.NoAccount as exc:
            raise account_refused(exc, preferred) from exc

    def _urls(self, tenant_id: str, creds: Credentials) -> tuple[str, str]:
        """The tenant's confirmation and validation URLs, as Daraja will take them."""
        try:
            urls = [self.processor.callback_url(tenant_id, kind) for kind in c2b.URL_KINDS]
        except ValueError as exc:
            raise ConfigurationError(
                f"Daraja would refuse the callback URLs: {exc}. Change callbacks.public_base_url.",
                code="callback_url_rejected",
                setting="callbacks.public_base_url",
            ) from exc
        if creds.environment == "production" and not all(u.startswith("https://") for u in urls):
            raise ConfigurationError(
                "Daraja registers only https URLs in production: callbacks.public_base_url must"
                " start with https://.",
                code="callback_url_rejected",
                setting="callbacks.public_base_url",
            )
        return urls[0], urls[1]

    def _send(
        self, tenant_id: str, creds: Credentials, path: str, payload: dict[str, Any]
    ) -> c2b.Acknowledged:
        """One command to Daraja; its acknowledgement, or the error its failure is."""
        db.session.commit()  # end the read: hold no transaction while Daraja answers
        answer = self.processor.call(creds, path, payload)
        match answer:
            case dict():
                ack = c2b.acknowledgement(answer)
                if ack is None:
                    code = str(answer.get("ResponseCode"))[:32]
                    raise _refused(code, str(answer.get("ResponseDescription") or "")[:255])
                return ack
            case ports.Refused(throttled=True, retry_after_seconds=int() as wait):
                raise RateLimitedError(
                    "M-Pesa is limiting how fast this account may call it, so it refused this"
                    f" command: nothing changed. Ask again in about {wait} seconds.",
                    retry_after=wait,
                )
            case ports.Refused(code=code, message=message):
                raise _refused(code, message)
            case ports.Misconfigured():
                raise misconfigured(tenant_id, creds.account_id, answer)
            case ports.NotSent(retry_after_seconds=int() as wait):
                raise ProcessorUnavailableError(
                    "M-Pesa has been failing for this account (its circuit breaker is open;"
                    f" GET /health shows it), so nothing was sent. Ask again in about {wait}"
                    " seconds.",
                    retry_after=wait,
                )
            case ports.NotSent(reason=reason):
                raise UpstreamUnavailableError(f"M-Pesa could not be reached ({reason}).")
            case ports.Unknown(reason=reason, timed_out=timed_out):
                error = UpstreamTimeoutError if timed_out else UpstreamError
                raise error(
                    f"M-Pesa may have acted on this but did not say ({reason}); check before"
                    " trying again."
                )
        raise TypeError(f"not a call result: {answer!r}")


def _refused(code: str, message: str) -> UpstreamRejectedError:
    hint = ALREADY_REGISTERED_HINT if "already registered" in message.lower() else ""
    return UpstreamRejectedError(
        f"M-Pesa refused: {code} {message}.{hint}",
        status=424,
        daraja_code=code,
        daraja_message=message,
    )
