"""The asynchronous Result envelope (API.md §12), acks, timeouts and value readers."""

from __future__ import annotations

import json
from typing import Any

import pytest

from apg.payments.lifecycle import PaymentStatus
from apg.payments.ports import CallbackRejected, Operation, Outcome, Ref
from apg.processors.mpesa.products import results
from apg.processors.mpesa.products.base import CONVERSATION, ORIGINATOR, AsyncRequest

OCID = "53e3-4aa8-9fe0-8fb5e4092cdd3533373"
CONV = "AG_20240706_2010364430d9bbdaf872"
BOTH_REFS = (Ref(ORIGINATOR, OCID), Ref(CONVERSATION, CONV))


def make_result(**fields: Any) -> dict[str, Any]:
    """A Result envelope; a field given as None is left out."""
    result = {
        "ResultType": 0,
        "ResultCode": 0,
        "ResultDesc": "The service request is processed successfully.",
        "OriginatorConversationID": OCID,
        "ConversationID": CONV,
        "TransactionID": "SG632NMUAB",
    } | fields
    return {"Result": {k: v for k, v in result.items() if v is not None}}


def raw(body: Any) -> bytes:
    return body if isinstance(body, bytes) else json.dumps(body).encode()


def parse(**fields: Any) -> results.Result:
    return results.parse(raw(make_result(**fields)))


def parameters(items: Any) -> results.Items:
    return parse(ResultParameters={"ResultParameter": items}).parameters


def make_request(**details: Any) -> AsyncRequest:
    operation = Operation(
        id="txn_1",
        tenant_id="t",
        account_id="a",
        transaction_type="b2c_payment",
        amount=1000,
        currency="KES",
        reference="ref",
        description=details.pop("description", None),
        details=details,
    )
    return AsyncRequest(operation, "600992", "testapi", "cred", "https://r", "https://t")


@pytest.mark.parametrize(
    ("sent", "read"),
    [
        (0, "0"),
        ("0", "0"),
        (2001, "2001"),
        ("2001", "2001"),
        ("R000002", "R000002"),
        ("SFC_IC0003", "SFC_IC0003"),
        (" 1 ", "1"),
    ],
)
def test_result_codes_are_compared_as_strings(sent: Any, read: str) -> None:
    assert parse(ResultCode=sent).code == read


@pytest.mark.parametrize(
    ("result_type", "final"), [(0, True), ("0", True), (1, False), ("1", False)]
)
def test_result_type_one_is_waiting_for_further_messages(result_type: Any, final: bool) -> None:
    assert parse(ResultType=result_type).final is final


def test_a_waiting_result_carries_refs_and_nothing_to_apply() -> None:
    def decided(result: results.Result) -> Outcome:
        raise AssertionError("a waiting result is not decided")

    event = results.parse_event(raw(make_result(ResultType="1")), decided)
    assert event.refs == BOTH_REFS
    assert event.outcome is None


def test_a_missing_result_type_is_final() -> None:
    assert parse(ResultType=None).final


def test_one_parameter_object_reads_like_a_list_of_one() -> None:
    item = {"Key": "BOCompletedTime", "Value": 20200120164825}
    assert parameters(item) == parameters([item])
    assert parameters(item).get("BOCompletedTime") == 20200120164825


@pytest.mark.parametrize(
    "items",
    [
        {"Key": "QueueTimeoutURL", "Value": "https://x"},
        [{"Key": "QueueTimeoutURL", "Value": "https://x"}],
    ],
)
def test_reference_items_may_be_an_object_or_a_list(items: Any) -> None:
    references = parse(ReferenceData={"ReferenceItem": items}).references
    assert references.get("QueueTimeoutURL") == "https://x"


@pytest.mark.parametrize("holder", [None, {}, {"ResultParameter": None}, {"ResultParameter": []}])
def test_no_parameters_is_an_empty_list(holder: Any) -> None:
    assert parse(ResultParameters=holder).parameters == results.Items()


def test_an_item_without_value_reads_as_none_and_does_not_hide_a_later_value() -> None:
    items = parameters(
        [{"Key": "TransactionReason"}, {"Key": "Occasion"}, {"Key": "Occasion", "Value": "x"}]
    )
    assert items.get("TransactionReason") is None
    assert items.get("Occasion") == "x"


@pytest.mark.parametrize("key", ["FinalisedTime", "FinalizedTime"])
def test_get_reads_any_of_several_spellings(key: str) -> None:
    items = parameters([{"Key": key, "Value": 20180223054112}])
    assert items.get("FinalisedTime", "FinalizedTime") == 20180223054112


def test_repeated_keys_are_all_kept_in_order() -> None:
    items = parameters(
        [{"Key": "DebitPartyName", "Value": "a"}, {"Key": "DebitPartyName", "Value": "b"}]
    )
    assert items.get("DebitPartyName") == "a"
    assert items.all("DebitPartyName") == ["a", "b"]


def test_named_gives_every_field_even_absent_ones() -> None:
    items = parameters([{"Key": "Conversation ID", "Value": "AG_1"}])
    fields = {
        "conversation_id": (("ConversationID", "Conversation ID"), results.text),
        "amount": (("Amount",), results.signed_cents),
    }
    assert items.named(fields) == {"conversation_id": "AG_1", "amount": None}


def test_amounts_stay_exact_decimals() -> None:
    items = parameters([{"Key": "Funds", "Value": 8959269.60}])
    assert results.signed_cents(items.get("Funds")) == 895926960


@pytest.mark.parametrize(
    ("ids", "refs"),
    [
        ({}, BOTH_REFS),
        ({"ConversationID": None}, (Ref(ORIGINATOR, OCID),)),
        ({"OriginatorConversationID": None}, (Ref(CONVERSATION, CONV),)),
        ({"ConversationID": f" {CONV} "}, BOTH_REFS),
    ],
)
def test_refs_are_the_two_conversation_ids(ids: dict[str, Any], refs: tuple[Ref, ...]) -> None:
    assert parse(**ids).refs == refs


REJECTED = [
    (b"not json", "not JSON"),
    (b"\xff\xfe", "UTF-8"),
    (b"[1, 2]", "Result is missing"),
    (b'"Result"', "Result is missing"),
    (b'{"Body": {}}', "Result is missing"),
    (b'{"Result": [1]}', "Result is missing"),
    (b'{"Result": {"ResultCode": 0}}', "OriginatorConversationID or ConversationID"),
    (make_result(OriginatorConversationID=None, ConversationID=None), "ConversationID"),
    (make_result(ConversationID="A" * 65), "ConversationID must be"),
    (make_result(ConversationID=123456), "ConversationID must be a string"),
    (make_result(OriginatorConversationID="bad\nid"), "OriginatorConversationID must be"),
    (make_result(TransactionID="X" * 100), "TransactionID must be"),
    (make_result(ResultCode=None), "ResultCode is missing"),
    (make_result(ResultCode=True), "ResultCode must be a number or a string"),
    (make_result(ResultCode="x" * 40), "ResultCode must be 1-32"),
    (make_result(ResultType={"a": 1}), "ResultType must be"),
    (make_result(ResultDesc="d" * 300), "ResultDesc must be at most"),
    (b'{"Result": {"ResultCode": NaN, "ConversationID": "AG_1"}}', "not JSON"),
    (b'{"Result": {"ResultCode": 1e999, "ConversationID": "AG_1"}}', "not JSON"),
    (b'{"Result": {"ResultCode": 1' + b"0" * 40 + b', "ConversationID": "AG_1"}}', "not JSON"),
    (b'{"Result": ' * 20 + b"{}" + b"}" * 20, "nesting"),
    (make_result(ResultParameters=[{"Key": "Amount", "Value": 1}]), "holder of ResultParameter"),
    (make_result(ResultParameters={"ResultParameter": "Amount"}), "object or a list"),
    (make_result(ResultParameters={"ResultParameter": [{"Key": "K"}] * 65}), "at most 64"),
    (make_result(ResultParameters={"ResultParameter": ["Amount"]}), "needs a Key"),
    (make_result(ResultParameters={"ResultParameter": [{"Value": 1}]}), "needs a Key"),
    (make_result(ReferenceData={"ReferenceItem": [{"Key": 7, "Value": 1}]}), "needs a Key"),
    (
        make_result(ResultParameters={"ResultParameter": {"Key": "A", "Value": {"x": 1}}}),
        "strings or numbers",
    ),
    (
        make_result(ResultParameters={"ResultParameter": {"Key": "A", "Value": [1]}}),
        "strings or numbers",
    ),
    (
        make_result(ResultParameters={"ResultParameter": {"Key": "A", "Value": False}}),
        "strings or numbers",
    ),
    (
        make_result(ResultParameters={"ResultParameter": {"Key": "A", "Value": "v" * 1025}}),
        "at most 1024",
    ),
    (
        make_result(ResultParameters={"ResultParameter": {"Key": "A", "Value": "a\x00b"}}),
        "at most 1024",
    ),
]


@pytest.mark.parametrize(("body", "reason"), REJECTED)
def test_anything_but_a_result_is_rejected_with_a_short_reason(body: Any, reason: str) -> None:
    with pytest.raises(CallbackRejected, match=reason) as caught:
        results.parse(raw(body))
    assert len(str(caught.value)) <= 160


def test_a_timeout_notice_is_a_timeout_with_its_refs() -> None:
    notice = raw({"Result": {"OriginatorConversationID": OCID, "ConversationID": CONV}})
    event = results.parse_timeout(notice)
    assert event.refs == BOTH_REFS
    assert event.outcome == Outcome(PaymentStatus.TIMEOUT)


def test_a_timeout_notice_keeps_its_code_and_description() -> None:
    event = results.parse_timeout(raw(make_result(ResultCode=1, ResultDesc="queue expired")))
    assert event.outcome == Outcome(
        PaymentStatus.TIMEOUT, result_code="1", result_desc="queue expired"
    )


@pytest.mark.parametrize("body", [b"{}", b"[]", raw({"Result": {"ResultCode": 1}})])
def test_a_timeout_notice_still_needs_the_envelope_and_an_id(body: bytes) -> None:
    with pytest.raises(CallbackRejected):
        results.parse_timeout(body)


@pytest.mark.parametrize("code", ["0", 0, " 0 "])
def test_an_accepted_ack_gives_both_refs(code: Any) -> None:
    ack = {"ConversationID": CONV, "OriginatorConversationID": OCID, "ResponseCode": code}
    assert results.accepted_refs(ack) == BOTH_REFS


@pytest.mark.parametrize("code", ["1", 1, "500.002.1001", None, True, False, "00"])
def test_any_other_response_code_is_a_refusal(code: Any) -> None:
    ack = {"ConversationID": CONV, "OriginatorConversationID": OCID, "ResponseCode": code}
    assert results.accepted_refs(ack) is None


def test_the_ack_typo_spelling_of_the_originator_is_read_too() -> None:
    ack = {"ConversationID": CONV, "OriginatorCoversationID": OCID, "ResponseCode": "0"}
    assert results.accepted_refs(ack) == BOTH_REFS


@pytest.mark.parametrize("bad", [None, "", "x" * 65, 42, "a\nb"])
def test_an_accepted_ack_keeps_only_well_formed_ids(bad: Any) -> None:
    ack = {"ConversationID": CONV, "OriginatorConversationID": bad, "ResponseCode": "0"}
    assert results.accepted_refs(ack) == (Ref(CONVERSATION, CONV),)


@pytest.mark.parametrize(
    ("value", "cents"),
    [
        (10, 1000),
        ("190.00", 19000),
        ("-1980.00", -198000),
        (" 0.5 ", 50),
        ("1.005", None),
        ("abc", None),
        (None, None),
        (True, None),
        ("NaN", None),
        ("1e30", None),
        ("", None),
    ],
)
def test_signed_cents_are_exact_or_none(value: Any, cents: int | None) -> None:
    assert results.signed_cents(value) == cents


@pytest.mark.parametrize(
    ("value", "cents"),
    [
        ("Fee For B2C Payment|KES|22.40", 2240),
        ("Business Pay Bill Charge|KES|77.00", 7700),
        ("", None),
        (None, None),
        ("KES|77.00", None),
        ("a|KES|x", None),
    ],
)
def test_charge_lines_give_their_amount(value: Any, cents: int | None) -> None:
    assert results.charge_cents(value) == cents


@pytest.mark.parametrize(("value", "read"), [("Y", True), ("n", False), ("", None), (None, None)])
def test_yes_no(value: Any, read: bool | None) -> None:
    assert results.yes_no(value) is read


@pytest.mark.parametrize(
    ("value", "iso"),
    [
        (20200109125710, "2020-01-09T09:57:10+00:00"),
        ("20200109125710", "2020-01-09T09:57:10+00:00"),
        ("soon", None),
        (None, None),
    ],
)
def test_daraja_time_is_iso_utc(value: Any, iso: str | None) -> None:
    assert results.daraja_time(value) == iso


@pytest.mark.parametrize(
    ("value", "read"), [(" x ", "x"), ("", None), ("  ", None), (None, None), (300, "300")]
)
def test_text(value: Any, read: str | None) -> None:
    assert results.text(value) == read


@pytest.mark.parametrize(("cents", "shillings"), [(100, 1), (1000, 10), (25_000_000, 250_000)])
def test_whole_shillings(cents: int, shillings: int) -> None:
    assert results.whole_shillings(cents) == shillings


@pytest.mark.parametrize("cents", [None, 0, -100, 150, 1])
def test_anything_but_whole_shillings_is_refused(cents: int | None) -> None:
    with pytest.raises(ValueError, match="whole number of shillings"):
        results.whole_shillings(cents)


def test_remarks_come_from_details_then_the_description_then_the_default() -> None:
    assert results.remarks(make_request(remarks="Salary"), "d") == "Salary"
    assert results.remarks(make_request(description="March"), "d") == "March"
    assert results.remarks(make_request(), "B2C payment") == "B2C payment"
    assert results.remarks(make_request(remarks="r" * 150), "d") == "r" * 100


def test_occasion_is_left_out_when_empty() -> None:
    assert results.occasion(make_request(occasion="Xmas")) == "Xmas"
    assert results.occasion(make_request(occasion="  ")) is None
    assert results.occasion(make_request()) is None


@pytest.mark.parametrize(
    ("given", "sent"), [({}, "4"), ({"identifier_type": "2"}, "2"), ({"identifier_type": 1}, "1")]
)
def test_identifier_type_defaults_to_a_shortcode(given: dict[str, Any], sent: str) -> None:
    assert results.identifier_type(make_request(**given)) == sent


def test_an_unknown_identifier_type_is_refused() -> None:
    with pytest.raises(ValueError, match="identifier_type"):
        results.identifier_type(make_request(identifier_type="11"))
