"""Generated identifiers follow Daraja's current formats (API.md §0.1)."""

from __future__ import annotations

import random
import re
from datetime import datetime

import pytest

from daraja_emulator.clock import EAT, eat_stamp
from daraja_emulator.ids import IdGenerator, receipt_prefix

from .support import EPOCH, REQUEST_ID

Moment = tuple[int, int, int, int, int, int]


def eat_epoch(moment: Moment) -> float:
    return datetime(*moment, tzinfo=EAT).timestamp()


@pytest.mark.parametrize(
    ("moment", "prefix"),
    [
        ((2022, 11, 17, 15, 57, 45), "QKH"),  # QKH94M1Z11 in the 2022 production callback
        ((2019, 12, 19, 10, 21, 15), "NLJ"),  # NLJ7RT61SV in the docs callback
        ((2017, 7, 27, 15, 48, 0), "LGR"),  # LGR7OWQX0R in the 2017 docs callback
        ((2020, 1, 9, 12, 0, 0), "OA9"),
        ((2026, 12, 31, 23, 59, 59), "ULV"),
    ],
)
def test_receipt_prefix_encodes_the_eat_date(moment: Moment, prefix: str) -> None:
    assert receipt_prefix(eat_epoch(moment)) == prefix


def test_receipt_prefix_uses_nairobi_not_utc_date() -> None:
    # 22:30 UTC on 31 Jan is already 1 Feb in Nairobi.
    utc_evening = datetime.fromisoformat("2024-01-31T22:30:00+00:00").timestamp()
    assert receipt_prefix(utc_evening) == "SB1"


def test_request_ids_have_the_current_format_and_differ() -> None:
    ids = IdGenerator(random.Random(3))
    first, second = ids.request_id(), ids.request_id()
    assert REQUEST_ID.fullmatch(first) and REQUEST_ID.fullmatch(second)
    assert first != second


def test_access_token_is_28_alphanumerics() -> None:
    token = IdGenerator(random.Random(3)).access_token()
    assert re.fullmatch(r"[A-Za-z0-9]{28}", token)


def test_checkout_request_id_embeds_eat_time_millis_and_msisdn_tail() -> None:
    ids = IdGenerator(random.Random(3))
    assert ids.checkout_request_id(EPOCH, "254708374149") == "ws_CO_10072024091526171708374149"


def test_checkout_request_ids_stay_unique_under_a_frozen_clock() -> None:
    ids = IdGenerator(random.Random(3))
    first = ids.checkout_request_id(EPOCH, "254708374149")
    second = ids.checkout_request_id(EPOCH, "254708374149")
    assert second == "ws_CO_10072024091526172708374149" != first


def test_eat_stamp_is_nairobi_time() -> None:
    assert eat_stamp(EPOCH) == "20240710091526"
