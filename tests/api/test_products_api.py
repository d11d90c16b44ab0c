"""B2B payments, balance inquiries, transaction status queries and reversals over the API:
validation, isolation between tenants and kinds, one reversal per payment, and M-Pesa's
Results shown as named fields. Daraja is stubbed at the processor's one upstream call, so the
real payloads are built and checked without the emulator."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from apg.extensions import db
from apg.payments.models import PaymentTransaction
from tests.support.factories import make_payment, make_tenant

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "daraja"
INITIATOR = {"initiator_name": "testapi", "initiator_password": "Safaricom999!*!"}
RECEIPT = "NLJ7RT61SV"
Sent = list[tuple[str, dict[str, Any]]]


@pytest.fixture
def daraja(app: Flask, monkeypatch: pytest.MonkeyPatch) -> Sent:
    """Daraja accepts every request; returns the (path, payload) of each one sent."""
    sent: Sent = []
    processor = app.extensions["apg"].processors.get("mpesa")

    def accept(creds: Any, path: str, payload: dict[str, Any]) -> dict[str, Any]:
        sent.append((path, payload))
        return {
            "ResponseCode": "0",
            "ConversationID": f"AG_{uuid.uuid4().hex[:20]}",
            "OriginatorConversationID": str(uuid.uuid4()),
        }

    monkeypatch.setattr(processor, "_call", accept)
    return sent


@pytest.fixture
def operator(app: Flask) -> tuple[str, dict[str, str]]:
    """A tenant whose paybill has an initiator: it can pay B2B, ask, and reverse."""
    tenant_id, api_key = make_tenant(app, "Initiator Ltd", **INITIATOR)
    return tenant_id, {"Authorization": f"Bearer {api_key}"}


def apply_result(app: Flask, txn_id: str, kind: str, raw: bytes) -> None:
    """M-Pesa's Result for `txn_id` arrives (as the callback route would apply it)."""
    with app.app_context():
        services = app.extensions["apg"]
        event = services.processors.get("mpesa").parse_callback(f"{kind}-result", raw)
        txn = db.session.get(PaymentTransaction, txn_id)
        services.payments.events.apply_outcome(txn, event.outcome, source="callback")
        db.session.commit()


def fixture(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


def b2b_body(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "amount": 19000,
        "receiver_shortcode": "600000",
        "command_id": "BusinessPayBill",
        "account_reference": "INV-001",
        "requester": "0708374149",
        "reference": "Supplier run 7",
    }
    return body | overrides


def assert_400(response: Any, param: str | None, code: str = "invalid_request") -> None:
    assert response.status_code == 400, response.json
    error = response.json["error"]
    assert (error["type"], error["code"], error.get("param")) == (
        "invalid_request_error",
        code,
        param,
    )


# --- B2B -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("change", "param"),
    [
        ({"amount": "19000"}, "amount"),
        ({"amount": 19050}, "amount"),
        ({"currency": "USD"}, "currency"),
        ({"receiver_shortcode": "1234"}, "receiver_shortcode"),
        ({"receiver_shortcode": "12345678"}, "receiver_shortcode"),
        ({"receiver_shortcode": "60000A"}, "receiver_shortcode"),
        ({"command_id": "BusinessPayment"}, "command_id"),
        ({"account_reference": None}, "account_reference"),  # BusinessPayBill needs it
        ({"account_reference": "A" * 14}, "account_reference"),
        ({"account_reference": "INV#1"}, "account_reference"),
        ({"requester": "12345"}, "requester"),
        ({"remarks": "x"}, "remarks"),
        ({"occasion": "x" * 101}, "occasion"),
        ({"reference": "run#7"}, "reference"),
        ({"metadata": {"k": 1}}, "metadata.k.value"),
        ({"surprise": 1}, "surprise"),
    ],
)
def test_b2b_bad_input_is_a_400_naming_the_field(
    client: FlaskClient, api_headers: dict[str, str], change: dict[str, Any], param: str
) -> None:
    body = {k: v for k, v in b2b_body(**change).items() if v is not None}
    assert_400(client.post("/api/v1/b2b-payments", json=body, headers=api_headers), param)


@pytest.mark.parametrize("missing", ["amount", "receiver_shortcode", "command_id"])
def test_b2b_required_fields(
    client: FlaskClient, api_headers: dict[str, str], missing: str
) -> None:
    body = b2b_body()
    del body[missing]
    assert_400(client.post("/api/v1/b2b-payments", json=body, headers=api_headers), missing)


def test_without_an_initiator_a_b2b_payment_is_a_400_naming_account_id(
    client: FlaskClient, api_headers: dict[str, str]
) -> None:
    response = client.post("/api/v1/b2b-payments", json=b2b_body(), headers=api_headers)
    assert_400(response, "account_id", code="no_account")
    assert "initiator" in response.json["error"]["message"]


def test_a_b2b_payment_is_processing_and_shows_what_was_asked(
    client: FlaskClient, operator: tuple[str, dict[str, str]], daraja: Sent
) -> None:
    created = client.post("/api/v1/b2b-payments", json=b2b_body(), headers=operator[1])

    assert created.status_code == 201, created.json
    body = created.json
    assert (body["object"], body["status"], body["amount"]) == ("b2b_payment", "processing", 19000)
    assert {k: body[k] for k in ("receiver_shortcode", "command_id", "account_reference")} == {
        "receiver_shortcode": "600000",
        "command_id": "BusinessPayBill",
        "account_reference": "INV-001",
    }
    assert (body["requester"], body["remarks"], body["reference"]) == (
        "254708374149",
        "Supplier run 7",
        "Supplier run 7",
    )
    assert body["mpesa_receipt_number"] is None and body["receiver_public_name"] is None
    [(path, payload)] = daraja
    assert path == "/mpesa/b2b/v1/paymentrequest"
    assert {k: payload[k] for k in ("CommandID", "Amount", "PartyB", "AccountReference")} == {
        "CommandID": "BusinessPayBill",
        "Amount": 190,
        "PartyB": "600000",
        "AccountReference": "INV-001",
    }
    assert client.get(f"/api/v1/b2b-payments/{body['id']}", headers=operator[1]).json == body
    listed = client.get("/api/v1/b2b-payments", headers=operator[1]).json
    assert [p["id"] for p in listed["data"]] == [body["id"]]


def test_buy_goods_needs_no_account_reference(
    client: FlaskClient, operator: tuple[str, dict[str, str]], daraja: Sent
) -> None:
    body = b2b_body(command_id="BusinessBuyGoods")
    del body["account_reference"]
    response = client.post("/api/v1/b2b-payments", json=body, headers=operator[1])
    assert response.status_code == 201, response.json
    assert "AccountReference" not in daraja[0][1]


def test_a_b2b_result_shows_as_named_fields(
    app: Flask, client: FlaskClient, operator: tuple[str, dict[str, str]], daraja: Sent
) -> None:
    created = client.post("/api/v1/b2b-payments", json=b2b_body(), headers=operator[1]).json
    apply_result(app, created["id"], "b2b", fixture("b2b_result_success_daraja-docs.json"))

    body = client.get(f"/api/v1/b2b-payments/{created['id']}", headers=operator[1]).json
    assert (body["status"], body["mpesa_receipt_number"], body["paid_amount"]) == (
        "completed",
        "QKA81LK5CY",
        19000,
    )
    assert (body["debit_account_balance"], body["initiator_account_balance"]) == (618683, 618683)
    assert (body["bill_reference_number"], body["debit_party_charges"]) == ("19008", None)
    assert body["receiver_public_name"].endswith("Biller Companty")
    assert body["debit_party_affected_account"] == {
        "name": "Working Account",
        "currency": "KES",
        "current": 34656883,
        "available": 618683,
        "reserved": 34038200,
        "uncleared": 0,
    }


def test_a_b2b_payment_is_seen_only_by_its_tenant_and_only_as_a_b2b_payment(
    app: Flask,
    client: FlaskClient,
    operator: tuple[str, dict[str, str]],
    api_headers: dict[str, str],
    tenant: tuple[str, str],
    daraja: Sent,
) -> None:
    b2b_id = client.post("/api/v1/b2b-payments", json=b2b_body(), headers=operator[1]).json["id"]
    stk_id = make_payment(app, tenant[0])

    assert client.get(f"/api/v1/b2b-payments/{b2b_id}", headers=api_headers).status_code == 404
    assert client.get("/api/v1/b2b-payments", headers=api_headers).json["data"] == []
    assert client.get(f"/api/v1/b2b-payments/{stk_id}", headers=api_headers).status_code == 404
    assert client.get(f"/api/v1/payments/{b2b_id}", headers=operator[1]).status_code == 404
    missing = client.get("/api/v1/b2b-payments/pay_nope", headers=api_headers)
    assert missing.status_code == 404 and missing.json["error"]["code"] == "resource_missing"


# --- balance inquiries -----------------------------------------------------------------------


def test_a_balance_inquiry_takes_an_empty_object_and_is_processing(
    client: FlaskClient, operator: tuple[str, dict[str, str]], daraja: Sent
) -> None:
    response = client.post("/api/v1/balance-inquiries", json={}, headers=operator[1])

    assert response.status_code == 201, response.json
    body = response.json
    assert (body["object"], body["status"], body["accounts"], body["as_of"]) == (
        "balance_inquiry",
        "processing",
        None,
        None,
    )
    [(path, payload)] = daraja
    assert path == "/mpesa/accountbalance/v1/query"
    assert (payload["CommandID"], payload["IdentifierType"], payload["Remarks"]) == (
        "AccountBalance",
        "4",
        "Account balance",
    )


def test_a_balance_result_lists_the_accounts_in_cents(
    app: Flask, client: FlaskClient, operator: tuple[str, dict[str, str]], daraja: Sent
) -> None:
    created = client.post(
        "/api/v1/balance-inquiries", json={"remarks": "Month end"}, headers=operator[1]
    ).json
    assert daraja[0][1]["Remarks"] == "Month end"
    apply_result(app, created["id"], "balance", fixture("accountbalance_result_daraja-docs.json"))

    body = client.get(f"/api/v1/balance-inquiries/{created['id']}", headers=operator[1]).json
    assert (body["status"], body["remarks"], body["as_of"]) == (
        "completed",
        "Month end",
        "2020-01-09T09:57:10+00:00",
    )
    assert [a["name"] for a in body["accounts"]][:2] == ["Working Account", "Float Account"]
    assert body["accounts"][0] == {
        "name": "Working Account",
        "currency": "KES",
        "current": 70000000,
        "available": 70000000,
        "reserved": 0,
        "uncleared": 0,
    }
    assert body["accounts"][3]["current"] == -154000  # charges paid
    listed = client.get("/api/v1/balance-inquiries?status=completed", headers=operator[1]).json
    assert [i["id"] for i in listed["data"]] == [created["id"]]


@pytest.mark.parametrize(
    ("body", "param"),
    [({"remarks": "x"}, "remarks"), ({"remarks": "a#b"}, "remarks"), ({"other": 1}, "other")],
)
def test_balance_inquiry_bad_input_is_a_400_naming_the_field(
    client: FlaskClient, api_headers: dict[str, str], body: dict[str, Any], param: str
) -> None:
    assert_400(client.post("/api/v1/balance-inquiries", json=body, headers=api_headers), param)


def test_a_balance_inquiry_by_an_unknown_account_is_a_400(
    client: FlaskClient, operator: tuple[str, dict[str, str]]
) -> None:
    response = client.post(
        "/api/v1/balance-inquiries", json={"account_id": "mpa_nope"}, headers=operator[1]
    )
    assert_400(response, "account_id", code="no_account")


# --- transaction status queries ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "param"),
    [
        ({}, "transaction_id"),
        ({"remarks": "Check"}, "transaction_id"),
        ({"transaction_id": RECEIPT, "originator_conversation_id": "29115-1-1"}, "transaction_id"),
        ({"transaction_id": RECEIPT.lower()}, "transaction_id"),
        ({"transaction_id": RECEIPT[:9]}, "transaction_id"),
        ({"transaction_id": RECEIPT + "X"}, "transaction_id"),
        ({"originator_conversation_id": "has space"}, "originator_conversation_id"),
        ({"originator_conversation_id": "x" * 65}, "originator_conversation_id"),
        ({"transaction_id": RECEIPT, "occasion": ""}, "occasion"),
        ({"transaction_id": RECEIPT, "remarks": "x"}, "remarks"),
    ],
)
def test_a_status_query_needs_exactly_one_valid_lookup(
    client: FlaskClient, api_headers: dict[str, str], body: dict[str, Any], param: str
) -> None:
    response = client.post("/api/v1/transaction-status-queries", json=body, headers=api_headers)
    assert_400(response, param)


def test_neither_or_both_lookups_say_which_to_send(
    client: FlaskClient, api_headers: dict[str, str]
) -> None:
    both = {"transaction_id": RECEIPT, "originator_conversation_id": "29115-1-1"}
    for body, got in (({}, "neither"), (both, "transaction_id and originator_conversation_id")):
        response = client.post("/api/v1/transaction-status-queries", json=body, headers=api_headers)
        message = response.json["error"]["message"]
        assert "exactly one of transaction_id" in message and message.endswith(f"got {got}")


@pytest.mark.parametrize(
    ("lookup", "sent"),
    [
        ({"transaction_id": RECEIPT}, {"TransactionID": RECEIPT}),
        (
            {"originator_conversation_id": "29115-34620561-1"},
            {"OriginalConversationID": "29115-34620561-1"},
        ),
    ],
)
def test_a_status_query_asks_by_receipt_or_by_conversation(
    client: FlaskClient,
    operator: tuple[str, dict[str, str]],
    daraja: Sent,
    lookup: dict[str, str],
    sent: dict[str, str],
) -> None:
    body = lookup | {"occasion": "Audit"}
    response = client.post("/api/v1/transaction-status-queries", json=body, headers=operator[1])

    assert response.status_code == 201, response.json
    shown = response.json
    assert (shown["object"], shown["status"], shown["transaction"]) == (
        "transaction_status_query",
        "processing",
        None,
    )
    assert (shown["transaction_id"], shown["original_conversation_id"]) == (
        lookup.get("transaction_id"),
        lookup.get("originator_conversation_id"),
    )
    [(path, payload)] = daraja
    assert path == "/mpesa/transactionstatus/v1/query"
    assert {k: payload.get(k) for k in ("TransactionID", "OriginalConversationID")} == {
        "TransactionID": None,
        "OriginalConversationID": None,
    } | sent
    assert (payload["CommandID"], payload["Occasion"]) == ("TransactionStatusQuery", "Audit")


def test_a_status_result_shows_the_transaction_as_named_fields(
    app: Flask, client: FlaskClient, operator: tuple[str, dict[str, str]], daraja: Sent
) -> None:
    created = client.post(
        "/api/v1/transaction-status-queries",
        json={"transaction_id": "MBN31H462N"},
        headers=operator[1],
    ).json
    raw = fixture("transactionstatus_result_success_daraja-docs.json")
    apply_result(app, created["id"], "status", raw)

    body = client.get(
        f"/api/v1/transaction-status-queries/{created['id']}", headers=operator[1]
    ).json
    transaction = body["transaction"]
    assert body["status"] == "completed"
    assert (transaction["debit_party_name"], transaction["credit_party_name"]) == (
        "600310 - Safaricom333",
        "254708374149 - John Doe",
    )
    assert (transaction["transaction_status"], transaction["receipt_no"]) == (
        "Completed",
        "MBN31H462N",
    )
    assert (transaction["amount"], transaction["debit_party_charges"]) == (30000, 2240)
    assert transaction["finalised_time"] == "2018-02-23T02:41:12+00:00"
    assert transaction["transaction_reason"] is None


# --- reversals -----------------------------------------------------------------------------


def completed_payment(app: Flask, tenant_id: str, **fields: Any) -> str:
    return make_payment(app, tenant_id, status="completed", receipt=RECEIPT, **fields)


def reverse(client: FlaskClient, headers: dict[str, str], payment_id: str, **body: Any) -> Any:
    return client.post(
        f"/api/v1/payments/{payment_id}/reversals",
        json={"reason": "Duplicate payment"} | body,
        headers=headers,
    )


@pytest.mark.parametrize(
    ("body", "param"),
    [
        ({"reason": None}, "reason"),
        ({"reason": "x"}, "reason"),
        ({"reason": "x" * 101}, "reason"),
        ({"reason": "Refund #2"}, "reason"),
        ({"amount": 5050}, "amount"),
        ({"amount": 0}, "amount"),
        ({"amount": "100"}, "amount"),
        ({"surprise": True}, "surprise"),
    ],
)
def test_reversal_bad_input_is_a_400_naming_the_field(
    app: Flask,
    client: FlaskClient,
    operator: tuple[str, dict[str, str]],
    body: dict[str, Any],
    param: str,
) -> None:
    payment_id = completed_payment(app, operator[0])
    sent = {k: v for k, v in ({"reason": "Duplicate payment"} | body).items() if v is not None}
    response = client.post(
        f"/api/v1/payments/{payment_id}/reversals", json=sent, headers=operator[1]
    )
    assert_400(response, param)


@pytest.mark.parametrize("status", ["processing", "failed", "unknown", "review", "reversed"])
def test_only_a_completed_payment_can_be_reversed(
    app: Flask, client: FlaskClient, operator: tuple[str, dict[str, str]], status: str
) -> None:
    payment_id = make_payment(app, operator[0], status=status)
    assert_400(reverse(client, operator[1], payment_id), None, code="not_reversible")


def test_a_reversal_above_the_payments_amount_is_a_400(
    app: Flask, client: FlaskClient, operator: tuple[str, dict[str, str]]
) -> None:
    payment_id = completed_payment(app, operator[0], amount=10000)
    response = reverse(client, operator[1], payment_id, amount=10100)
    assert_400(response, "amount", code="amount_exceeds_payment")
    assert "10000" in response.json["error"]["message"]


def test_only_the_tenants_own_collections_can_be_reversed(
    app: Flask,
    client: FlaskClient,
    operator: tuple[str, dict[str, str]],
    api_headers: dict[str, str],
) -> None:
    theirs = completed_payment(app, operator[0])
    payout = completed_payment(app, operator[0], transaction_type="b2c_payment")
    for payment_id, headers in (
        (theirs, api_headers),
        (payout, operator[1]),
        ("pay_no", api_headers),
    ):
        response = reverse(client, headers, payment_id)
        assert response.status_code == 404 and response.json["error"]["param"] == "id"
        listed = client.get(f"/api/v1/payments/{payment_id}/reversals", headers=headers)
        assert listed.status_code == 404


def test_a_payment_whose_account_has_no_initiator_is_a_400(
    app: Flask, client: FlaskClient, tenant: tuple[str, str], api_headers: dict[str, str]
) -> None:
    payment_id = completed_payment(app, tenant[0])
    assert_400(reverse(client, api_headers, payment_id), "account_id", code="no_account")


def test_a_reversal_gives_back_the_receipt_from_the_payments_account(
    app: Flask, client: FlaskClient, operator: tuple[str, dict[str, str]], daraja: Sent
) -> None:
    payment_id = completed_payment(app, operator[0], amount=10000)

    response = reverse(client, operator[1], payment_id, amount=5000, metadata={"ticket": "42"})

    assert response.status_code == 201, response.json
    body = response.json
    assert (body["object"], body["status"], body["payment_id"]) == (
        "reversal",
        "processing",
        payment_id,
    )
    assert (body["amount"], body["reason"], body["original_transaction_id"]) == (
        5000,
        "Duplicate payment",
        RECEIPT,
    )
    assert (body["metadata"], body["mpesa_receipt_number"], body["charge"]) == (
        {"ticket": "42"},
        None,
        None,
    )
    [(path, payload)] = daraja
    assert path == "/mpesa/reversal/v1/request"
    assert {k: payload[k] for k in ("TransactionID", "Amount", "ReceiverParty", "Remarks")} == {
        "TransactionID": RECEIPT,
        "Amount": 50,
        "ReceiverParty": "174379",
        "Remarks": "Duplicate payment",
    }
    with app.app_context():
        assert body["account_id"] == db.session.get(PaymentTransaction, payment_id).account_id
    payment = client.get(f"/api/v1/payments/{payment_id}", headers=operator[1]).json
    assert payment["status"] == "completed"  # until M-Pesa confirms the reversal


def test_a_payment_is_reversed_once(
    app: Flask, client: FlaskClient, operator: tuple[str, dict[str, str]], daraja: Sent
) -> None:
    payment_id = completed_payment(app, operator[0])
    first = reverse(client, operator[1], payment_id).json

    again = reverse(client, operator[1], payment_id)
    assert_400(again, None, code="reversal_exists")
    assert first["id"] in again.json["error"]["message"]
    assert len(daraja) == 1
    listed = client.get(f"/api/v1/payments/{payment_id}/reversals", headers=operator[1]).json
    assert (listed["object"], [r["id"] for r in listed["data"]]) == ("list", [first["id"]])
    assert client.get(f"/api/v1/reversals/{first['id']}", headers=operator[1]).json == first
    everything = client.get("/api/v1/reversals", headers=operator[1]).json
    assert [r["id"] for r in everything["data"]] == [first["id"]]


def test_a_retry_with_the_same_key_replays_the_reversal_instead_of_refusing(
    app: Flask, client: FlaskClient, operator: tuple[str, dict[str, str]], daraja: Sent
) -> None:
    payment_id = completed_payment(app, operator[0])
    headers = operator[1] | {"Idempotency-Key": "refund-42"}
    first = reverse(client, headers, payment_id)
    retry = reverse(client, headers, payment_id)
    assert (retry.status_code, retry.headers["Idempotent-Replayed"]) == (201, "true")
    assert retry.json == first.json and len(daraja) == 1


def test_the_payment_is_reversed_when_mpesa_confirms_the_reversal(
    app: Flask, client: FlaskClient, operator: tuple[str, dict[str, str]], daraja: Sent
) -> None:
    payment_id = completed_payment(app, operator[0], amount=10000)
    reversal = reverse(client, operator[1], payment_id).json
    result = (
        b'{"Result": {"ResultType": 0, "ResultCode": 0, "ResultDesc": "Accepted",'
        b' "OriginatorConversationID": "5d3c-1", "ConversationID": "AG_20240101_1",'
        b' "TransactionID": "SKE52PAWR9", "ResultParameters": {"ResultParameter": ['
        b'{"Key": "Amount", "Value": "100.00"}, {"Key": "Charge", "Value": "0.00"},'
        b'{"Key": "OriginalTransactionID", "Value": "NLJ7RT61SV"},'
        b'{"Key": "CreditPartyPublicName", "Value": "254708374149 - John Doe"},'
        b'{"Key": "TransCompletedTime", "Value": "20240101120000"}]}}}'
    )
    apply_result(app, reversal["id"], "reversal", result)

    shown = client.get(f"/api/v1/reversals/{reversal['id']}", headers=operator[1]).json
    assert (shown["status"], shown["mpesa_receipt_number"], shown["reversed_amount"]) == (
        "completed",
        "SKE52PAWR9",
        10000,
    )
    assert (shown["charge"], shown["credit_party_public_name"]) == (0, "254708374149 - John Doe")
    assert shown["debit_account_balance"] is None
    payment = client.get(f"/api/v1/payments/{payment_id}", headers=operator[1]).json
    assert payment["status"] == "reversed"
    assert_400(reverse(client, operator[1], payment_id), None, code="not_reversible")


def test_a_failed_reversal_frees_the_payment_for_another(
    app: Flask, client: FlaskClient, operator: tuple[str, dict[str, str]], daraja: Sent
) -> None:
    payment_id = completed_payment(app, operator[0])
    failed = reverse(client, operator[1], payment_id).json
    raw = fixture("reversal_result_failure_R000002_daraja-docs.json")
    apply_result(app, failed["id"], "reversal", raw)
    shown = client.get(f"/api/v1/reversals/{failed['id']}", headers=operator[1]).json
    assert (shown["status"], shown["result_code"]) == ("failed", "R000002")

    second = reverse(client, operator[1], payment_id)

    assert second.status_code == 201, second.json
    listed = client.get(f"/api/v1/payments/{payment_id}/reversals", headers=operator[1]).json
    assert [r["id"] for r in listed["data"]] == [second.json["id"], failed["id"]]


def test_a_payments_reversals_are_the_tenants_own(
    app: Flask,
    client: FlaskClient,
    operator: tuple[str, dict[str, str]],
    tenant: tuple[str, str],
) -> None:
    payment_id = completed_payment(app, operator[0])
    request = {"payment_id": payment_id, "transaction_id": RECEIPT, "remarks": "Not ours"}
    make_payment(  # another tenant's row naming this payment must neither show nor block
        app,
        tenant[0],
        transaction_type="reversal",
        payment_method_type="mpesa_reversal",
        processor_data={"request": request},
    )
    listed = client.get(f"/api/v1/payments/{payment_id}/reversals", headers=operator[1]).json
    assert listed["data"] == []
    assert client.get("/api/v1/reversals", headers=operator[1]).json["data"] == []


# --- the whole surface ---------------------------------------------------------------------------

LISTS = [
    "/api/v1/b2b-payments",
    "/api/v1/balance-inquiries",
    "/api/v1/transaction-status-queries",
    "/api/v1/reversals",
]


@pytest.mark.parametrize("path", [*LISTS, "/api/v1/reversals/pay_1", "/api/v1/b2b-payments/pay_1"])
def test_unknown_query_parameters_are_a_400(
    client: FlaskClient, api_headers: dict[str, str], path: str
) -> None:
    response = client.get(f"{path}?limt=5", headers=api_headers)
    assert_400(response, "limt")


def test_unknown_query_parameters_on_a_payments_reversals_are_a_400(
    app: Flask, client: FlaskClient, tenant: tuple[str, str], api_headers: dict[str, str]
) -> None:
    payment_id = make_payment(app, tenant[0])
    response = client.get(f"/api/v1/payments/{payment_id}/reversals?limit=5", headers=api_headers)
    assert_400(response, "limit")


@pytest.mark.parametrize("path", LISTS)
def test_lists_are_empty_pages_that_take_the_shared_filters(
    client: FlaskClient, api_headers: dict[str, str], path: str
) -> None:
    response = client.get(f"{path}?limit=5&status=completed", headers=api_headers)
    assert response.json == {"object": "list", "has_more": False, "data": []}
    assert_400(client.get(f"{path}?limit=0", headers=api_headers), "limit")
    missing = client.get(f"{path}?starting_after=pay_nope", headers=api_headers)
    assert missing.status_code == 404 and missing.json["error"]["param"] == "starting_after"


@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/b2b-payments",
        "/api/v1/balance-inquiries",
        "/api/v1/transaction-status-queries",
        "/api/v1/payments/pay_1/reversals",
    ],
)
def test_creating_needs_an_api_key(client: FlaskClient, path: str) -> None:
    response = client.post(path, json={})
    assert response.status_code == 401
    assert response.json["error"]["type"] == "authentication_error"


def test_the_document_lists_every_product_operation(client: FlaskClient) -> None:
    spec = client.get("/api/openapi.json").json
    operations = {
        op["operationId"]: (method, path)
        for path, item in spec["paths"].items()
        for method, op in item.items()
        if method in {"get", "post"} and op.get("summary")
    }
    assert {
        "create_b2b_payment": ("post", "/api/v1/b2b-payments"),
        "list_b2b_payments": ("get", "/api/v1/b2b-payments"),
        "get_b2b_payment": ("get", "/api/v1/b2b-payments/{b2b_payment_id}"),
        "create_balance_inquiry": ("post", "/api/v1/balance-inquiries"),
        "list_balance_inquiries": ("get", "/api/v1/balance-inquiries"),
        "get_balance_inquiry": ("get", "/api/v1/balance-inquiries/{inquiry_id}"),
        "create_transaction_status_query": ("post", "/api/v1/transaction-status-queries"),
        "list_transaction_status_queries": ("get", "/api/v1/transaction-status-queries"),
        "get_transaction_status_query": ("get", "/api/v1/transaction-status-queries/{query_id}"),
        "create_reversal": ("post", "/api/v1/payments/{payment_id}/reversals"),
        "list_payment_reversals": ("get", "/api/v1/payments/{payment_id}/reversals"),
        "list_reversals": ("get", "/api/v1/reversals"),
        "get_reversal": ("get", "/api/v1/reversals/{reversal_id}"),
    }.items() <= operations.items()
    b2b = spec["components"]["schemas"]["B2BPaymentCreate"]
    assert b2b["properties"]["receiver_shortcode"]["pattern"] == "^[0-9]{5,7}$"
    assert set(b2b["required"]) == {"amount", "receiver_shortcode", "command_id"}
    assert spec["components"]["schemas"]["ReversalCreate"]["required"] == ["reason"]


def test_a_refused_b2b_payment_is_a_424_whose_body_matches_the_document(
    app: Flask, client: FlaskClient, operator: tuple[str, dict[str, str]], monkeypatch: Any
) -> None:
    """The failed operation rides in the error (amount, no phone): the document allows it."""
    from apg.payments import ports

    processor = app.extensions["apg"].processors.get("mpesa")
    refusal = ports.Refused("400.002.02", "Bad Request - Invalid PartyB")
    monkeypatch.setattr(processor, "_call", lambda *args: refusal)
    response = client.post("/api/v1/b2b-payments", json=b2b_body(), headers=operator[1])
    assert response.status_code == 424
    payment = response.json["error"]["payment"]
    assert (payment["status"], payment["phone_number"]) == ("failed", None)
