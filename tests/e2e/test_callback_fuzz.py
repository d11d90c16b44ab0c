"""Callbacks fuzzed on every kind: the official samples mutated by Hypothesis (a value of
another type or of the same, fields dropped or added, duplicate keys, NaN, non-UTF-8, UTF-16,
truncated, form-encoded, any Content-Type), addressed to a waiting operation or to none; and
URL tokens and kinds that are not ours.

Whatever arrives: no 5xx; exactly one inbound_callbacks row, holding the bytes as sent; the
answer is a clean JSON 4xx, or Daraja's expected acknowledgement; no operation changes but the
one a body is addressed to. Bounded and deterministic: MAX_EXAMPLES derandomized examples per
kind, never shrunk. In-process, for speed; test_hostile_callbacks.py has STK over real HTTP.
"""

from __future__ import annotations

import itertools

import pytest
from flask import Flask
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from apg.processors.mpesa.catalog import CALLBACK_KINDS
from tests.support.callbacks import (
    KINDS,
    Inbox,
    addressed,
    assert_error,
    samples,
    settled_by,
)
from tests.support.fuzzing import FuzzTenant, make_waiting, statuses
from tests.support.mutations import CLOSE_ACTIONS, CLOSE_ENCODINGS, encoded, mutated

MAX_EXAMPLES = 25
SETTINGS = settings(
    max_examples=MAX_EXAMPLES,
    derandomize=True,
    database=None,
    deadline=None,
    phases=[Phase.explicit, Phase.generate],
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
# Anything a path segment can carry but "/" (another route) and NUL (a known bug, in
# test_callback_fuzz_findings.py).
SEGMENT = st.text(st.characters(exclude_characters="/\x00"), min_size=1, max_size=80)


@st.composite
def bodies(draw: st.DrawFn, kind: str) -> tuple[bytes, str]:
    raw = draw(st.sampled_from(samples(kind)))
    return draw(encoded(draw(mutated(raw)), raw))


def test_every_official_sample_of_every_kind_is_acknowledged_and_kept_unmatched(
    fuzz_app: Flask, target: FuzzTenant
) -> None:
    inbox = Inbox(fuzz_app, target)
    for kind in KINDS:
        for body in samples(kind):
            response, row = inbox.post(kind, body)
            assert response.status_code == 200, (kind, response.json)
            inbox.assert_taken(kind, body, response, row)


@pytest.mark.parametrize("kind", KINDS)
def test_a_mutated_official_sample_is_kept_and_answered_cleanly(
    fuzz_app: Flask, target: FuzzTenant, kind: str
) -> None:
    inbox = Inbox(fuzz_app, target)

    @SETTINGS
    @given(sent=bodies(kind))
    def fuzz(sent: tuple[bytes, str]) -> None:
        body, content_type = sent
        response, row = inbox.post(kind, body, content_type)
        inbox.assert_taken(kind, body, response, row)

    fuzz()


@pytest.mark.parametrize("kind", KINDS)
def test_a_mutated_sample_for_a_waiting_operation_moves_only_that_one(
    fuzz_app: Flask, target: FuzzTenant, kind: str
) -> None:
    """The samples addressed to an operation of the tenant's (C2B: to its paybill), then
    mutated: taken, or refused moving nothing; a C2B confirmation may record one payment."""
    inbox, numbers = Inbox(fuzz_app, target), itertools.count()

    @SETTINGS
    @given(data=st.data())
    def fuzz(data: st.DataObject) -> None:
        raw, refs = addressed(data.draw(st.sampled_from(samples(kind))), kind, next(numbers))
        settles = settled_by(kind)
        operation = settles and make_waiting(fuzz_app, target.id, settles, refs)
        doc = data.draw(mutated(raw, CLOSE_ACTIONS))
        body, content_type = data.draw(encoded(doc, raw, CLOSE_ENCODINGS))
        response, row, moved = inbox.post_moving(kind, body, content_type)
        inbox.assert_taken(kind, body, response, row)
        if response.status_code != 200:
            assert not moved
        elif kind == "c2b-confirmation":  # money no operation asked for: recorded once
            types = {statuses(fuzz_app)[id_][0] for id_ in moved}
            assert len(moved) <= 1 and types <= {"c2b_payment"}
        else:
            assert moved <= {operation}

    fuzz()


def test_an_unknown_token_is_404_and_its_head_kept_whatever_it_is(
    fuzz_app: Flask, target: FuzzTenant
) -> None:
    inbox = Inbox(fuzz_app, target)

    @SETTINGS
    @given(token=SEGMENT.filter(lambda t: t != target.callback_token), kind=st.sampled_from(KINDS))
    def fuzz(token: str, kind: str) -> None:
        body = samples(kind)[0]
        response, row = inbox.post(kind, body, token=token)
        assert response.status_code == 404
        assert_error(response, "resource_missing")
        assert (row.outcome, row.tenant_id, row.body_size) == ("unknown_tenant", None, len(body))

    fuzz()


def test_an_unknown_kind_is_404_and_kept(fuzz_app: Flask, target: FuzzTenant) -> None:
    inbox = Inbox(fuzz_app, target)

    @SETTINGS
    @given(kind=SEGMENT.filter(lambda k: k not in CALLBACK_KINDS))
    def fuzz(kind: str) -> None:
        response, row = inbox.post(kind, b'{"Body": {}}')
        assert response.status_code == 404
        assert_error(response, "resource_missing")
        assert (row.outcome, row.tenant_id, row.kind) == ("malformed", target.id, kind[:32])

    fuzz()
