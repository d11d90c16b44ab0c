"""What each asynchronous product sends: paths, exact keys and Safaricom's spellings."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from apg.payments.ports import Operation, Ref
from apg.processors.mpesa.products import b2b, b2c, balance, reversal, status
from apg.processors.mpesa.products.base import ORIGINATOR, AsyncProduct, AsyncRequest

SAMPLES = Path(__file__).parent.parent / "fixtures" / "daraja"
# Each module is itself the product (mypy checks these against the protocol).
PRODUCTS: tuple[AsyncProduct, ...] = (b2c, b2b, balance, status, reversal)
COMMON = {
    "SecurityCredential": "CREDENTIAL==",
    "QueueTimeOutURL": "https://apg.example/t",
    "ResultURL": "https://apg.example/r",
}


def sample_keys(name: str) -> set[str]:
    """A docs request sample's keys, its misprints (`Command ID`) mended."""
    keys = json.loads((SAMPLES / name).read_text())
    return {key.replace(" ", "") for key in keys}


def make_request(
    amount: int | None = 1000,
    phone: str | None = "254705912645",
    options: dict[str, Any] | None = None,
    **details: Any,
) -> AsyncRequest:
    operation = Operation(
        id="txn_01HZX",
        tenant_id="ten_1",
        account_id="acc_1",
        transaction_type="b2c_payment",
        amount=amount,
        currency="KES",
        reference="order-1",
        phone_number=phone,
        details=details,
    )
    return AsyncRequest(
        operation=operation,
        shortcode="600992",
        initiator_name="testapi",
        security_credential="CREDENTIAL==",
        result_url="https://apg.example/r",
        timeout_url="https://apg.example/t",
        options=options or {},
    )


def test_every_product_has_its_own_type_and_callback_kind() -> None:
    assert len({p.TRANSACTION_TYPE for p in PRODUCTS}) == len({p.KIND for p in PRODUCTS}) == 5
    assert [p.KIND for p in PRODUCTS] == ["b2c", "b2b", "balance", "status", "reversal"]


def test_b2c_v3_sends_our_transaction_id_as_the_originator_conversation_id() -> None:
    request = make_request(command_id="BusinessPayment", remarks="remarked", occasion="Xmas")
    assert b2c.path(request) == "/mpesa/b2c/v3/paymentrequest"
    assert b2c.payload(request) == COMMON | {
        "OriginatorConversationID": "txn_01HZX",
        "InitiatorName": "testapi",
        "CommandID": "BusinessPayment",
        "Amount": 10,
        "PartyA": "600992",
        "PartyB": "254705912645",
        "Remarks": "remarked",
        "Occassion": "Xmas",
    }
    assert b2c.submitted_refs(request) == (Ref(ORIGINATOR, "txn_01HZX"),)


def test_b2c_v3_has_the_keys_of_the_docs_sample() -> None:
    request = make_request(command_id="SalaryPayment", remarks="r", occasion="o")
    assert set(b2c.payload(request)) == sample_keys("b2c_request_v3_daraja-docs.json")


def test_b2c_v1_lets_daraja_choose_the_originator_and_spells_occasion_as_its_docs() -> None:
    request = make_request(
        options={"b2c_version": "v1"}, command_id="PromotionPayment", occasion="o"
    )
    body = b2c.payload(request)
    assert b2c.path(request) == "/mpesa/b2c/v1/paymentrequest"
    assert "OriginatorConversationID" not in body
    assert body["Occasion"] == "o"
    assert "Occassion" not in body
    assert b2c.submitted_refs(request) == ()


def test_b2c_leaves_out_an_absent_occasion() -> None:
    body = b2c.payload(make_request(command_id="BusinessPayment"))
    assert "Occassion" not in body
    assert "Occasion" not in body


@pytest.mark.parametrize(
    ("product", "details"),
    [
        (b2c, {"command_id": "BusinessPayment"}),
        (b2b, {"command_id": "BusinessBuyGoods", "receiver_shortcode": "000000"}),
        (reversal, {"transaction_id": "PDU91HIVIT"}),
    ],
)
@pytest.mark.parametrize("cents", [1050, 1, None, 0])
def test_money_goes_out_in_whole_shillings_only(
    product: AsyncProduct, details: dict[str, Any], cents: int | None
) -> None:
    assert product.payload(make_request(amount=25_000_000, **details))["Amount"] == 250_000
    with pytest.raises(ValueError, match="whole number of shillings"):
        product.payload(make_request(amount=cents, **details))


@pytest.mark.parametrize("command", [None, "", "CustomerPayBillOnline", "businesspayment"])
def test_b2c_refuses_an_unknown_command(command: str | None) -> None:
    with pytest.raises(ValueError, match="command_id"):
        b2c.payload(make_request(command_id=command))


def test_b2c_needs_a_phone_number() -> None:
    with pytest.raises(ValueError, match="phone_number"):
        b2c.payload(make_request(phone=None, command_id="BusinessPayment"))


def test_b2b_pays_a_paybill_with_safaricoms_spellings() -> None:
    request = make_request(
        command_id="BusinessPayBill",
        receiver_shortcode="000000",
        account_reference="353353",
        requester="254700000000",
        remarks="OK",
        occasion="May",
    )
    assert b2b.path(request) == "/mpesa/b2b/v1/paymentrequest"
    assert b2b.payload(request) == COMMON | {
        "Initiator": "testapi",
        "CommandID": "BusinessPayBill",
        "SenderIdentifierType": "4",
        "RecieverIdentifierType": "4",
        "Amount": 10,
        "PartyA": "600992",
        "PartyB": "000000",
        "AccountReference": "353353",
        "Requester": "254700000000",
        "Remarks": "OK",
        "Occassion": "May",
    }
    assert b2b.submitted_refs(request) == ()


def test_b2b_has_the_keys_of_the_docs_sample() -> None:
    request = make_request(
        command_id="BusinessPayBill",
        receiver_shortcode="000000",
        account_reference="353353",
        requester="254700000000",
    )
    assert set(b2b.payload(request)) == sample_keys("b2b_request_businesspaybill_daraja-docs.json")


def test_b2b_buy_goods_leaves_out_what_is_not_given() -> None:
    body = b2b.payload(make_request(command_id="BusinessBuyGoods", receiver_shortcode="000000"))
    assert not {"AccountReference", "Requester", "Occassion"} & set(body)


@pytest.mark.parametrize(
    ("details", "problem"),
    [
        ({"command_id": "BusinessPayBill", "receiver_shortcode": "1"}, "account_reference"),
        (
            {
                "command_id": "BusinessPayBill",
                "receiver_shortcode": "1",
                "account_reference": "x" * 14,
            },
            "at most 13",
        ),
        ({"command_id": "BusinessBuyGoods"}, "receiver_shortcode"),
        ({"command_id": "SalaryPayment", "receiver_shortcode": "1"}, "command_id"),
    ],
)
def test_b2b_refuses_what_daraja_would(details: dict[str, Any], problem: str) -> None:
    with pytest.raises(ValueError, match=problem):
        b2b.payload(make_request(**details))


def test_balance_asks_for_the_shortcodes_accounts() -> None:
    request = make_request(amount=None, remarks="ok")
    assert balance.path(request) == "/mpesa/accountbalance/v1/query"
    assert balance.payload(request) == COMMON | {
        "Initiator": "testapi",
        "CommandID": "AccountBalance",
        "PartyA": "600992",
        "IdentifierType": "4",
        "Remarks": "ok",
    }
    assert set(balance.payload(request)) == sample_keys("accountbalance_request_daraja-docs.json")
    assert balance.submitted_refs(request) == ()


def test_balance_of_a_till_is_identifier_type_2() -> None:
    assert balance.payload(make_request(identifier_type="2"))["IdentifierType"] == "2"


def test_status_looks_up_a_receipt_or_an_earlier_request() -> None:
    request = make_request(
        amount=None,
        transaction_id="NEF61H8J60",
        original_conversation_id="7071-4170-a0e5-8345632bad442144258",
        remarks="OK",
        occasion="OK",
    )
    assert status.path(request) == "/mpesa/transactionstatus/v1/query"
    assert status.payload(request) == COMMON | {
        "Initiator": "testapi",
        "CommandID": "TransactionStatusQuery",
        "TransactionID": "NEF61H8J60",
        "OriginalConversationID": "7071-4170-a0e5-8345632bad442144258",
        "PartyA": "600992",
        "IdentifierType": "4",
        "Remarks": "OK",
        "Occasion": "OK",
    }
    assert set(status.payload(request)) == sample_keys("transactionstatus_request_daraja-docs.json")


@pytest.mark.parametrize(
    ("details", "left_out"),
    [
        ({"transaction_id": "NEF61H8J60"}, "OriginalConversationID"),
        ({"original_conversation_id": "txn_01HZX"}, "TransactionID"),
    ],
)
def test_status_sends_only_the_id_it_has(details: dict[str, Any], left_out: str) -> None:
    assert left_out not in status.payload(make_request(**details))


def test_status_needs_an_id_to_look_up() -> None:
    with pytest.raises(ValueError, match="transaction_id or original_conversation_id"):
        status.payload(make_request(transaction_id=" "))


def test_reversal_sends_the_misspelt_receiver_identifier_type_11() -> None:
    request = make_request(amount=20_000, transaction_id="PDU91HIVIT", remarks="Payment reversal")
    assert reversal.path(request) == "/mpesa/reversal/v1/request"
    assert reversal.payload(request) == COMMON | {
        "Initiator": "testapi",
        "CommandID": "TransactionReversal",
        "TransactionID": "PDU91HIVIT",
        "Amount": 200,
        "ReceiverParty": "600992",
        "RecieverIdentifierType": "11",
        "Remarks": "Payment reversal",
    }
    assert set(reversal.payload(request)) == sample_keys("reversal_request_daraja-docs.json")


def test_reversal_needs_the_receipt_to_reverse() -> None:
    with pytest.raises(ValueError, match="transaction_id"):
        reversal.payload(make_request())


@pytest.mark.parametrize("product", PRODUCTS)
def test_remarks_default_to_a_product_description(product: AsyncProduct) -> None:
    details: dict[str, Any] = {
        "command_id": "BusinessPayment" if product is b2c else "BusinessBuyGoods",
        "receiver_shortcode": "000000",
        "transaction_id": "PDU91HIVIT",
    }
    remarks = product.payload(make_request(**details))["Remarks"]
    assert 2 <= len(remarks) <= 100
