"""Retrying a Daraja call only where sending it again is safe: the decision, the backoff with
jitter and the loop are separate small functions, so each can be tested without waiting."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TypeVar

from apg.processors.mpesa.client import (
    DarajaError,
    NotSentError,
    OutcomeUnknownError,
    RefusedError,
)
from apg.settings import RetrySettings

log = logging.getLogger(__name__)
T = TypeVar("T")

# Daraja's throttling (its API gateway's limits), and how long a merchant should wait before
# trying again. A spike arrest smooths traffic over windows of about a second, so a few seconds
# clear it; a quota counts over a minute or more, so asking sooner only spends the quota.
THROTTLED_RETRY_AFTER = {"500.003.02": 5, "500.003.03": 30}


def throttled(error: DarajaError) -> bool:
    """Daraja refused the request for its rate, not for what it says: nothing happened."""
    return isinstance(error, RefusedError) and error.code in THROTTLED_RETRY_AFTER


def should_retry(error: DarajaError, *, read_only: bool) -> bool:
    """True when sending the same request again is safe and may help.

    A request that surely never left may always go again (it cannot have moved money); one
    that may have reached Daraja only when it reads (`read_only`), after a 5xx or throttling.
    Timeouts are never retried: the caller has already waited the whole read timeout.
    """
    cause = error.__cause__
    if isinstance(error, NotSentError) and isinstance(cause, DarajaError):
        return should_retry(cause, read_only=True)  # no OAuth token: that GET only reads
    if isinstance(error, NotSentError):
        return error.upstream_fault  # not bad credentials, not a base URL of ours
    if not read_only:
        return False  # it may have reached Daraja: never send money twice
    if isinstance(error, OutcomeUnknownError) and error.timed_out:
        return False
    return error.upstream_fault or throttled(error)


def backoff_seconds(retry: int, policy: RetrySettings, random: Callable[[], float]) -> float:
    """The wait before retry number `retry` (1 = the first): exponential, capped, and jittered
    between half and all of it so that callers failing together do not retry together."""
    ceiling = min(policy.max_delay_seconds, policy.base_delay_seconds * 2 ** (retry - 1))
    return max(0.0, ceiling / 2 + random() * ceiling / 2)


def call_with_retries(
    call: Callable[[], T],
    *,
    read_only: bool,
    policy: RetrySettings,
    sleep: Callable[[float], None],
    random: Callable[[], float],
) -> T:
    """call() until it returns, or raises a DarajaError that should_retry refuses, or
    policy.attempts tries have been made; then that last error is raised."""
    retry = 0
    while True:
        try:
            return call()
        except DarajaError as exc:
            retry += 1
            if retry >= policy.attempts or not should_retry(exc, read_only=read_only):
                raise
            wait = backoff_seconds(retry, policy, random)
            log.info("daraja call failed (%s); retry %d in %.2f s", exc.reason, retry, wait)
            sleep(wait)
