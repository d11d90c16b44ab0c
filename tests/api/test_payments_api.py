"""The merchant API contract: validation, auth, errors, pagination, filters, OpenAPI."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from tests.support.factories import make_payment, payment_body


@pytest.mark.parametrize(
    ("change", "param", "code"),
    [
        ({"amount": "10000"}, "amount", "invalid_request"),
        ({"amount": 10000.0}, "amount", "invalid_request"),
        ({"amount": True}, "amount", "invalid_request"),
        ({"amount": 0}, "amount", "invalid_request"),
        ({"amount": 10050}, "amount", "invalid_request"),  # whole shillings only
        ({"amount": 25_000_100}, "amount", "amount_out_of_range"),
        ({"currency": "USD"}, "currency", "invalid_request"),
        ({"phone_number": "0208374149"}, "phone_number", "invalid_request"),
        ({"phone_number": "12345"}, "phone_number", "invalid_request"),
        ({"phone_number": 708374149}, "phone_number", "invalid_request"),
        ({"reference": "INV-2024-0001"}, "reference", "invalid_request"),  # 13 > 12
        ({"reference": "INV#1"}, "reference", "invalid_request"),
        ({"reference": ""}, "reference", "invalid_request"),
        ({"description": "Order 42 today"}, "description", "invalid_request"),  # 14 > 13
        ({"surprise": 1}, "surprise", "invalid_request"),
        ({"metadata": {"k": 1}}, "metadata.k.value", "invalid_request"),
        ({"payment_method_type": "card"}, "payment_method_type", "unsupported_payment_method"),
    ],
)
def test_bad_input_is_a_400_naming_the_field(
    client: FlaskClient, api_headers: dict[str, str], change: dict[str, Any], param: str, code: str
) -> None:
    response = client.post("/api/v1/payments", json=payment_body(**change), headers=api_headers)
    assert response.status_code == 400, response.json
    error = response.json["error"]
    assert (error["type"], error["code"], error["param"]) == ("invalid_request_error", code, param)
    assert error["message"] and error["request_id"].startswith("req_")


@pytest.mark.parametrize("missing", ["amount", "phone_number", "reference"])
def test_required_fields(client: FlaskClient, api_headers: dict[str, str], missing: str) -> None:
    body = payment_body()
    del body[missing]
    response = client.post("/api/v1/payments", json=body, headers=api_headers)
    assert response.status_code == 400
    assert response.json["error"]["param"] == missing


@pytest.mark.parametrize(
    ("data", "content_type"),
    [
        ("{not json", "application/json"),
        ("[1, 2]", "application/json"),
    ],
)
def test_a_body_that_is_not_a_json_object_is_400(
    client: FlaskClient, api_headers: dict[str, str], data: str, content_type: str
) -> None:
    response = client.post(
        "/api/v1/payments", data=data, content_type=content_type, headers=api_headers
    )
    assert response.status_code == 400
    assert response.json["error"]["type"] == "invalid_request_error"


@pytest.mark.parametrize(
    "header",
    [None, "Bearer", "Bearer apg_test_not-a-key", "Basic YWJjOmRlZg==", "apg_test_raw"],
)
def test_requests_without_a_valid_key_are_401(client: FlaskClient, header: str | None) -> None:
    headers = {"Authorization": header} if header else {}
    for response in (
        client.get("/api/v1/payments", headers=headers),
        client.post("/api/v1/payments", json=payment_body(), headers=headers),
    ):
        assert response.status_code == 401
        assert response.json["error"]["type"] == "authentication_error"
        assert response.headers["WWW-Authenticate"] == 'Bearer realm="apg"'


def test_unknown_routes_and_methods_get_the_json_error_shape(
    client: FlaskClient, api_headers: dict[str, str]
) -> None:
    missing = client.get("/api/v1/nothing-here", headers=api_headers)
    assert missing.status_code == 404 and missing.json["error"]["code"] == "not_found"
    wrong = client.delete("/api/v1/payments", headers=api_headers)
    assert wrong.status_code == 405 and wrong.json["error"]["type"] == "invalid_request_error"
    assert client.get("/api/v1/payments/pay_nope", headers=api_headers).status_code == 404


def test_list_is_newest_first_with_cursor_pagination(
    app: Flask, client: FlaskClient, api_headers: dict[str, str], tenant: tuple[str, str]
) -> None:
    start = datetime(2026, 1, 1, tzinfo=UTC)
    ids = [make_payment(app, tenant[0], created_at=start + timedelta(minutes=i)) for i in range(5)]
    newest_first = list(reversed(ids))

    page1 = client.get("/api/v1/payments?limit=2", headers=api_headers).json
    assert (page1["object"], page1["has_more"]) == ("list", True)
    assert [p["id"] for p in page1["data"]] == newest_first[:2]
    page2 = client.get(
        f"/api/v1/payments?limit=2&starting_after={newest_first[1]}", headers=api_headers
    ).json
    assert [p["id"] for p in page2["data"]] == newest_first[2:4]
    page3 = client.get(
        f"/api/v1/payments?limit=2&starting_after={newest_first[3]}", headers=api_headers
    ).json
    assert ([p["id"] for p in page3["data"]], page3["has_more"]) == (newest_first[4:], False)


def test_pagination_is_stable_when_timestamps_tie(
    app: Flask, client: FlaskClient, api_headers: dict[str, str], tenant: tuple[str, str]
) -> None:
    at = datetime(2026, 1, 1, tzinfo=UTC)
    ids = {make_payment(app, tenant[0], created_at=at) for _ in range(5)}
    seen: list[str] = []
    cursor = ""
    while True:
        page = client.get(f"/api/v1/payments?limit=2{cursor}", headers=api_headers).json
        seen += [p["id"] for p in page["data"]]
        if not page["has_more"]:
            break
        cursor = f"&starting_after={seen[-1]}"
    assert sorted(seen) == sorted(ids) and len(seen) == 5


def test_an_unknown_cursor_is_404_naming_it(
    client: FlaskClient, api_headers: dict[str, str]
) -> None:
    response = client.get("/api/v1/payments?starting_after=pay_nope", headers=api_headers)
    assert response.status_code == 404
    assert response.json["error"]["param"] == "starting_after"


@pytest.mark.parametrize("limit", ["0", "101", "x"])
def test_limit_must_be_1_to_100(
    client: FlaskClient, api_headers: dict[str, str], limit: str
) -> None:
    response = client.get(f"/api/v1/payments?limit={limit}", headers=api_headers)
    assert response.status_code == 400 and response.json["error"]["param"] == "limit"


def test_filters(
    app: Flask, client: FlaskClient, api_headers: dict[str, str], tenant: tuple[str, str]
) -> None:
    day = datetime(2026, 3, 1, tzinfo=UTC)
    old = make_payment(app, tenant[0], created_at=day - timedelta(days=1), status="completed")
    done = make_payment(app, tenant[0], created_at=day, status="completed", reference="A-1")
    busy = make_payment(app, tenant[0], created_at=day + timedelta(hours=1), reference="A-1")

    def ids(query: str) -> set[str]:
        return {
            p["id"]
            for p in client.get(f"/api/v1/payments?{query}", headers=api_headers).json["data"]
        }

    assert ids("status=completed") == {old, done}
    assert ids("reference=A-1") == {done, busy}
    assert ids("created_gte=2026-03-01T00:00:00Z") == {done, busy}
    assert ids("created_lt=2026-03-01T00:00:00%2B00:00") == {old}
    assert ids("status=completed&created_gte=2026-03-01T00:00:00") == {done}  # naive = UTC
    assert client.get("/api/v1/payments?status=paid", headers=api_headers).status_code == 400


def test_openapi_lists_every_merchant_endpoint(client: FlaskClient) -> None:
    spec = client.get("/api/openapi.json").json
    paths = spec["paths"]
    assert set(paths["/api/v1/payments"]) == {"get", "post"}
    assert set(paths["/api/v1/payments/{payment_id}"]) - {"parameters"} == {"get"}
    post = paths["/api/v1/payments"]["post"]
    assert {"201", "400", "401", "409", "422", "424", "503", "504"} <= set(post["responses"])
    assert any(p["name"] == "Idempotency-Key" for p in post["parameters"])
    assert spec["components"]["securitySchemes"]["bearerAuth"]["scheme"] == "bearer"
    assert "PaymentCreate" in spec["components"]["schemas"]
    assert client.get("/api/docs").status_code == 200


def test_every_response_carries_a_request_id(client: FlaskClient) -> None:
    response = client.get("/api/v1/payments")
    assert response.headers["X-Request-ID"] == response.json["error"]["request_id"]


def test_readiness_reports_the_database(client: FlaskClient) -> None:
    response = client.get("/health/ready")
    assert response.status_code == 200
    assert response.json["status"] == "ok" and response.json["checks"]["database"] == "ok"


def test_a_key_with_a_real_keys_prefix_and_a_wrong_secret_is_401(
    client: FlaskClient, tenant: tuple[str, str]
) -> None:
    real = tenant[1]
    for forged in (
        real[:13] + "x" * (len(real) - 13),
        real[:-1] + ("A" if real[-1] != "A" else "B"),
    ):
        response = client.get("/api/v1/payments", headers={"Authorization": f"Bearer {forged}"})
        assert response.status_code == 401
    ok = client.get("/api/v1/payments", headers={"Authorization": f"Bearer {real}"})
    assert ok.status_code == 200


@pytest.mark.parametrize("amount", [100, 25_000_000], ids=["min", "max"])
def test_the_amount_limits_are_inclusive(
    client: FlaskClient, api_headers: dict[str, str], amount: int
) -> None:
    response = client.post(
        "/api/v1/payments", json=payment_body(amount=amount), headers=api_headers
    )
    assert response.status_code == 201, response.json
    assert response.json["amount"] == amount


def test_a_valid_key_under_another_scheme_or_revoked_is_401(
    app: Flask, client: FlaskClient, tenant: tuple[str, str]
) -> None:
    from apg.extensions import db
    from apg.tenants.models import ApiKey

    key = tenant[1]
    for scheme in ("Basic", "Token", ""):
        response = client.get("/api/v1/payments", headers={"Authorization": f"{scheme} {key}"})
        assert response.status_code == 401
    with app.app_context():
        db.session.query(ApiKey).filter_by(tenant_id=tenant[0]).update(
            {"revoked_at": datetime(2026, 1, 1, tzinfo=UTC)}
        )
        db.session.commit()
    revoked = client.get("/api/v1/payments", headers={"Authorization": f"Bearer {key}"})
    assert revoked.status_code == 401
