"""/api/v1/webhook-endpoints: create (the secret shown once), read, change, delete, rotate."""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from apg.errors import InvalidRequestError
from apg.extensions import db
from apg.notifications.endpoints import check_url
from apg.notifications.models import WebhookEndpoint

URL = "https://shop.example/apg/webhooks"
BODY = {"url": URL, "event_types": ["payment.completed", "payout.completed"]}


def create(client: FlaskClient, headers: dict[str, str], **body: Any) -> dict[str, Any]:
    response = client.post("/api/v1/webhook-endpoints", json={**BODY, **body}, headers=headers)
    assert response.status_code == 201, response.get_json()
    return response.get_json()  # type: ignore[no-any-return]


def test_the_secret_is_shown_on_creation_only_and_stored_encrypted(
    app: Flask, client: FlaskClient, api_headers: dict[str, str]
) -> None:
    made = create(client, api_headers)
    assert made["secret"].startswith("whsec_") and len(made["secret"]) > 40
    assert (made["object"], made["url"], made["enabled"]) == ("webhook_endpoint", URL, True)
    assert made["event_types"] == ["payment.completed", "payout.completed"]
    fetched = client.get(f"/api/v1/webhook-endpoints/{made['id']}", headers=api_headers)
    assert "secret" not in fetched.get_json()
    listed = client.get("/api/v1/webhook-endpoints", headers=api_headers).get_json()
    assert [e["id"] for e in listed["data"]] == [made["id"]]
    assert made["secret"] not in fetched.get_data(as_text=True) + str(listed)
    with app.app_context():
        row = db.session.execute(select(WebhookEndpoint)).scalar_one()
        assert made["secret"] not in row.secret_encrypted
        assert app.extensions["apg"].secrets.decrypt(row.secret_encrypted) == made["secret"]


def test_rotating_the_secret_shows_a_new_one(
    client: FlaskClient, api_headers: dict[str, str]
) -> None:
    made = create(client, api_headers)
    path = f"/api/v1/webhook-endpoints/{made['id']}/rotate-secret"
    rotated = client.post(path, headers=api_headers).get_json()
    assert rotated["id"] == made["id"]
    assert rotated["secret"].startswith("whsec_") and rotated["secret"] != made["secret"]


def test_patch_changes_only_the_fields_sent(
    client: FlaskClient, api_headers: dict[str, str]
) -> None:
    made = create(client, api_headers, description="Shop")
    path = f"/api/v1/webhook-endpoints/{made['id']}"
    changed = client.patch(path, json={"enabled": False, "event_types": ["*"]}, headers=api_headers)
    body = changed.get_json()
    assert (body["enabled"], body["event_types"], body["url"]) == (False, ["*"], URL)
    assert body["description"] == "Shop"


def test_delete_removes_the_endpoint(client: FlaskClient, api_headers: dict[str, str]) -> None:
    made = create(client, api_headers)
    path = f"/api/v1/webhook-endpoints/{made['id']}"
    deleted = client.delete(path, headers=api_headers).get_json()
    assert deleted == {"object": "webhook_endpoint", "id": made["id"], "deleted": True}
    assert client.get(path, headers=api_headers).status_code == 404
    assert client.delete(path, headers=api_headers).status_code == 404


@pytest.mark.parametrize(
    "body",
    [
        {"url": "ftp://shop.example/x"},
        {"url": "https://"},
        {"url": "shop.example"},
        {"event_types": []},
        {"event_types": ["payment.processing"]},
        {"event_types": "payment.completed"},
    ],
)
def test_a_bad_url_or_event_type_is_refused(
    client: FlaskClient, api_headers: dict[str, str], body: dict[str, Any]
) -> None:
    response = client.post("/api/v1/webhook-endpoints", json={**BODY, **body}, headers=api_headers)
    assert response.status_code == 400, response.get_json()


def test_production_demands_https() -> None:
    assert check_url("http://127.0.0.1:9000/hook", production=False)
    assert check_url(URL, production=True) == URL
    with pytest.raises(InvalidRequestError):
        check_url("http://shop.example/hook", production=True)
