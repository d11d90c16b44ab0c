"""Pull Transactions for a tenant: register a shortcode, and recover C2B payments whose
confirmation never arrived (API.md §4.2 step 6). Every row Daraja lists is recorded through the
path confirmations take, so each payment exists once, whichever of the two reported it first."""

from __future__ import annotations

import logging
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any

from apg.clock import Clock
from apg.errors import (
    ConfigurationError,
    InvalidRequestError,
    UpstreamError,
    UpstreamRejectedError,
    UpstreamTimeoutError,
    UpstreamUnavailableError,
)
from apg.extensions import db
from apg.payments import ports
from apg.payments.events import EventApplier, Verdict
from apg.payments.operations import account_refused, misconfigured
from apg.processors.mpesa import accounts
from apg.processors.mpesa.accounts import Credentials
from apg.processors.mpesa.catalog import ACCOUNT_KINDS
from apg.processors.mpesa.processor import MpesaProcessor
from apg.processors.mpesa.products import c2b, pull

log = logging.getLogger(__name__)

MAX_PAGES = 1000  # a guard against an upstream that never says 1001
MAX_PROBLEMS = 20  # reasons for skipped rows kept in a Recovery


@dataclass(frozen=True)
class PullRegistration:
    """Daraja registered the shortcode for Pull, now (`already` False) or before."""

    account_id: str
    shortcode: str
    already: bool
    response_ref_id: str | None
    description: str | None


@dataclass
class Recovery:
    """What one account's recovery did: rows Daraja listed, and what recording each did."""

    account_id: str
    shortcode: str
    since: datetime
    until: datetime
    pages: int = 0
    rows: int = 0
    created: int = 0  # payments APG did not have: their confirmation never arrived
    duplicate: int = 0  # already recorded (from the confirmation, or an earlier recovery)
    unmatched: int = 0
    rejected: int = 0  # rows that could not be read; see `problems`
    created_ids: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {**asdict(self), "since": self.since.isoformat(), "until": self.until.isoformat()}


class PullCommands:
    def __init__(self, processor: MpesaProcessor, events: EventApplier, clock: Clock) -> None:
        self.processor = processor
        self.events = events
        self.clock = clock

    def accounts(self, tenant_id: str) -> list[str]:
        """The tenant's accounts customers pay into (paybills and tills), oldest first."""
        kinds = ACCOUNT_KINDS[c2b.TRANSACTION_TYPE]
        return [a.id for a in accounts.accounts_of(tenant_id) if a.kind in kinds]

    def register(
        self,
        tenant_id: str,
        account_id: str | None,
        nominated_number: str,
        *,
        mode: str | None = None,
    ) -> PullRegistration:
        """Register the account's shortcode for Pull (Daraja allows it once, in production;
        "already registered" is a success too). Its CallBackURL is the C2B confirmation URL.
        `mode`, here and in recover: an API key's (test | live); None (the CLI): any account."""
        account_id = self._account(tenant_id, account_id, mode)
        creds = self.processor.credentials(account_id)
        shortcode = creds.shortcode.business_short_code
        try:
            callback_url = self.processor.callback_url(tenant_id, c2b.CONFIRMATION_KIND)
        except ValueError as exc:
            raise ConfigurationError(
                f"Daraja would refuse the callback URL: {exc}. Change callbacks.public_base_url.",
                code="callback_url_rejected",
                setting="callbacks.public_base_url",
            ) from exc
        try:
            payload = pull.register_payload(shortcode, nominated_number, callback_url)
        except ValueError as exc:
            raise InvalidRequestError(str(exc), param="nominated_number") from exc
        answer = self._ask(tenant_id, creds, pull.REGISTER_PATH, payload)
        registered = pull.registration(answer)
        if registered is None:
            status = answer.get("ResponseStatus", answer.get("Response Status"))
            raise _refused(str(status)[:32], "Pull registration not accepted")
        return PullRegistration(
            account_id,
            shortcode,
            registered.already,
            registered.response_ref_id,
            registered.description,
        )

    def recover(
        self,
        tenant_id: str,
        account_id: str | None,
        since: datetime,
        until: datetime,
        *,
        mode: str | None = None,
    ) -> Recovery:
        """Record every C2B payment Daraja lists for the account's shortcode in [since, until]
        (cut to the last 48 hours) that APG does not have yet, exactly once each: a payment
        whose confirmation arrived is a duplicate, a missing one is created and announced like
        a confirmed one. Each row commits on its own, so a failure part-way keeps what was done
        and running it again is safe. Raises InvalidRequestError, ValueError for an empty
        window, or an UpstreamError (nothing more was recorded from that page on)."""
        account_id = self._account(tenant_id, account_id, mode)
        creds = self.processor.credentials(account_id)
        since, until = self.window(since, until)
        recovery = Recovery(account_id, creds.shortcode.business_short_code, since, until)
        seen: set[str] = set()
        previous: pull.Page | None = None
        while recovery.pages < MAX_PAGES:
            page = self._page(tenant_id, creds, recovery, offset=recovery.rows)
            fresh = [p for p in page.payments if p.receipt not in seen]
            if page.size == 0 or page == previous or (page.payments and not fresh):
                break  # 1001; or an upstream that ignores OffSetValue and repeats itself
            previous = page
            recovery.rows += page.size
            recovery.rejected += len(page.rejected)
            recovery.problems = [*recovery.problems, *page.rejected][:MAX_PROBLEMS]
            for incoming in fresh:
                seen.add(str(incoming.receipt))
                self._record(tenant_id, incoming, recovery)
        log.info("tenant %s: pull recovery %s", tenant_id, recovery.to_json())
        return recovery

    def window(self, since: datetime, until: datetime) -> tuple[datetime, datetime]:
        """[since, until] within what Daraja still lists (the last 48 hours); ValueError when
        nothing of it is left, or the datetimes are naive."""
        if since.tzinfo is None or until.tzinfo is None:
            raise ValueError("since and until must be aware datetimes")
        since = max(since, self.clock.now() - pull.WINDOW)
        if since >= until:
            raise ValueError("nothing to pull: the window is empty or older than 48 hours")
        return since, until

    def _page(
        self, tenant_id: str, creds: Credentials, recovery: Recovery, offset: int
    ) -> pull.Page:
        payload = pull.query_payload(recovery.shortcode, recovery.since, recovery.until, offset)
        answer = self._ask(tenant_id, creds, pull.QUERY_PATH, payload)
        recovery.pages += 1
        try:
            return pull.parse_query(answer, recovery.shortcode)
        except ports.CallbackRejected as exc:
            raise UpstreamError(f"M-Pesa's Pull answer was not understood: {exc}") from exc

    def _record(self, tenant_id: str, incoming: ports.Incoming, recovery: Recovery) -> None:
        """One row, in a transaction of its own, by the path a confirmation takes."""
        refs = (ports.Ref(c2b.TRANS_ID, str(incoming.receipt)),)
        try:
            verdict, payment_id = self.events.record_incoming(
                tenant_id, self.processor, refs, incoming
            )
            db.session.commit()
        except Exception:
            db.session.rollback()
            raise
        if verdict == Verdict.CREATED and payment_id is not None:
            recovery.created += 1
            recovery.created_ids.append(payment_id)
            log.info("tenant %s: pull recovered C2B payment %s", tenant_id, incoming.receipt)
        elif verdict == Verdict.DUPLICATE:
            recovery.duplicate += 1
        else:
            recovery.unmatched += 1

    def _account(self, tenant_id: str, preferred: str | None, mode: str | None) -> str:
        try:
            return self.processor.account_for(tenant_id, c2b.TRANSACTION_TYPE, preferred, mode=mode)
        except ports.NoAccount as exc:
            raise account_refused(exc, preferred) from exc

    def _ask(
        self, tenant_id: str, creds: Credentials, path: str, payload: dict[str, Any]
    ) -> dict[str, Any]:
        """One request to Daraja; its answer, or the error its failure is. Pull moves no money,
        so an unknown outcome is only a read that failed: ask again."""
        db.session.commit()  # end the read: hold no transaction while Daraja answers
        answer = self.processor.call(creds, path, payload)
        match answer:
            case dict():
                return answer
            case ports.Refused(code=code, message=message):
                raise _refused(code, message)
            case ports.Misconfigured():
                raise misconfigured(tenant_id, creds.account_id, answer)
            case ports.NotSent(reason=reason):
                raise UpstreamUnavailableError(f"M-Pesa could not be reached ({reason}).")
            case ports.Unknown(reason=reason, timed_out=timed_out):
                error = UpstreamTimeoutError if timed_out else UpstreamError
                raise error(f"M-Pesa did not answer the Pull request ({reason}); run it again.")
        raise TypeError(f"not a call result: {answer!r}")


def _refused(code: str, message: str) -> UpstreamRejectedError:
    return UpstreamRejectedError(
        f"M-Pesa refused: {code} {message}.",
        status=424,
        daraja_code=code,
        daraja_message=message,
    )
