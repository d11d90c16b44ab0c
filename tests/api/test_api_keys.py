"""/api/v1/api-keys: a tenant lists, creates, rotates and revokes its own keys; a key shows
when it was last used; no key or hash is ever shown twice."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from apg.extensions import db
from apg.idempotency.models import IdempotencyKey
from apg.security.events import SecurityEvent
from apg.tenants import service as tenants
from apg.tenants.models import ApiKey
from daraja_emulator import EmulatorServer
from tests.support.clock import ShiftableClock
from tests.support.factories import make_tenant

KEYS = "/api/v1/api-keys"
DAY = 24 * 3600


def bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


def works(client: FlaskClient, key: str) -> bool:
    status = client.get("/api/v1/payments", headers=bearer(key)).status_code
    assert status in (200, 401)
    return status == 200


def listed(client: FlaskClient, key: str) -> list[dict[str, Any]]:
    response = client.get(KEYS, headers=bearer(key))
    assert response.status_code == 200, response.json
    return response.json["data"]  # type: ignore[no-any-return]


def stored(app: Flask, key_id: str) -> ApiKey:
    with app.app_context():
        key = db.session.get(ApiKey, key_id)
        db.session.expunge(key)
        return key


def events(app: Flask, kind: str) -> list[SecurityEvent]:
    with app.app_context():
        query = select(SecurityEvent).where(SecurityEvent.kind == kind).order_by(SecurityEvent.id)
        return list(db.session.execute(query).scalars())


def at(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


@pytest.fixture
def live(app: Flask, emulator: EmulatorServer) -> tuple[str, str]:
    """A production tenant (talking to the emulator): its first key is live."""
    return make_tenant(app, "Live Ltd", environment="production", base_url=emulator.url)


# --- list ---------------------------------------------------------------------------------


def test_the_list_shows_every_key_of_the_tenant_but_never_a_key_or_its_hash(
    app: Flask, client: FlaskClient, tenant: tuple[str, str]
) -> None:
    tenant_id, api_key = tenant
    second = client.post(KEYS, json={}, headers=bearer(api_key)).json["api_key"]

    body = client.get(KEYS, headers=bearer(api_key)).json
    first, other = body["data"]

    assert body["object"] == "list"
    assert set(first) == {
        *("object", "id", "mode", "prefix", "created_at", "last_used_at", "revoked_at"),
        *("active", "calling_key"),
    }
    assert (first["object"], first["mode"], first["prefix"]) == ("api_key", "test", api_key[:13])
    assert (first["active"], first["revoked_at"], first["calling_key"]) == (True, None, True)
    assert (other["prefix"], other["calling_key"]) == (second[:13], False)
    with app.app_context():
        hashes = list(db.session.execute(select(ApiKey.key_hash)).scalars())
    text = json.dumps(body)
    assert all(secret not in text for secret in (api_key, second, *hashes))
    assert tenant_id not in text  # nothing of the tenant but its keys


# --- create -------------------------------------------------------------------------------


def test_a_new_key_is_shown_once_works_at_once_and_has_the_calling_keys_mode(
    client: FlaskClient, tenant: tuple[str, str], live: tuple[str, str]
) -> None:
    for (_, api_key), mode in ((tenant, "test"), (live, "live")):
        created = client.post(KEYS, json={}, headers=bearer(api_key))
        assert created.status_code == 201, created.json
        new = created.json
        assert new["api_key"].startswith(f"apg_{mode}_") and len(new["api_key"]) > 50
        assert (new["object"], new["mode"], new["prefix"]) == ("api_key", mode, new["api_key"][:13])
        assert (new["active"], new["calling_key"], new["last_used_at"]) == (True, False, None)
        assert works(client, new["api_key"])
        assert new["api_key"] not in json.dumps(listed(client, api_key))


@pytest.mark.parametrize("body", [{"mode": "live"}, {"mode": "test"}, {"name": "ci"}])
def test_a_new_key_takes_no_mode_so_a_test_key_never_mints_a_live_one(
    client: FlaskClient, tenant: tuple[str, str], body: dict[str, Any]
) -> None:
    response = client.post(KEYS, json=body, headers=bearer(tenant[1]))
    assert (response.status_code, response.json["error"]["param"]) == (400, next(iter(body)))
    assert len(listed(client, tenant[1])) == 1


def test_an_idempotency_key_is_not_honoured_so_no_key_is_ever_stored_in_a_replay(
    app: Flask, client: FlaskClient, tenant: tuple[str, str]
) -> None:
    headers = {**bearer(tenant[1]), "Idempotency-Key": "new-key-1"}
    first = client.post(KEYS, json={}, headers=headers).json
    second = client.post(KEYS, json={}, headers=headers).json
    assert first["id"] != second["id"]
    with app.app_context():
        assert db.session.execute(select(IdempotencyKey)).first() is None


# --- rotate -------------------------------------------------------------------------------


def test_rotating_keeps_the_old_key_a_day_by_default_then_only_the_new_one_works(
    client: FlaskClient, clock: ShiftableClock, tenant: tuple[str, str]
) -> None:
    api_key = tenant[1]
    [old] = listed(client, api_key)
    before = clock.now()
    response = client.post(f"{KEYS}/{old['id']}/rotate", json={}, headers=bearer(api_key))
    assert response.status_code == 201, response.json
    rotated = response.json

    assert rotated["api_key"].startswith("apg_test_") and rotated["id"] != old["id"]
    replaced = rotated["replaces"]
    assert (replaced["id"], replaced["calling_key"], replaced["active"]) == (old["id"], True, True)
    ends = at(replaced["revoked_at"])
    assert ends is not None and before + timedelta(days=1) <= ends <= clock.now() + timedelta(
        days=1
    )
    assert works(client, api_key) and works(client, rotated["api_key"])
    clock.shift(timedelta(hours=23, minutes=59))
    assert works(client, api_key)
    clock.shift(timedelta(minutes=2))
    assert not works(client, api_key) and works(client, rotated["api_key"])


def test_rotating_with_no_grace_stops_the_old_key_now(
    client: FlaskClient, tenant: tuple[str, str]
) -> None:
    [old] = listed(client, tenant[1])
    rotated = client.post(
        f"{KEYS}/{old['id']}/rotate", json={"grace_seconds": 0}, headers=bearer(tenant[1])
    ).json
    assert rotated["replaces"]["active"] is False
    assert not works(client, tenant[1]) and works(client, rotated["api_key"])


@pytest.mark.parametrize("grace", [-1, 7 * DAY + 1, "3600", 1.5, None])
def test_a_grace_period_is_0_to_7_days_in_whole_seconds(
    client: FlaskClient, tenant: tuple[str, str], grace: Any
) -> None:
    [old] = listed(client, tenant[1])
    response = client.post(
        f"{KEYS}/{old['id']}/rotate", json={"grace_seconds": grace}, headers=bearer(tenant[1])
    )
    assert (response.status_code, response.json["error"]["param"]) == (400, "grace_seconds")


def test_a_retiring_or_revoked_key_cannot_be_rotated_again(
    client: FlaskClient, tenant: tuple[str, str]
) -> None:
    [old] = listed(client, tenant[1])
    rotate = f"{KEYS}/{old['id']}/rotate"
    new = client.post(rotate, json={}, headers=bearer(tenant[1])).json["api_key"]
    again = client.post(rotate, json={}, headers=bearer(new))
    assert (again.status_code, again.json["error"]["code"]) == (409, "api_key_not_active")
    assert len(listed(client, new)) == 2


# --- revoke -------------------------------------------------------------------------------


def test_revoking_stops_a_key_now_and_revoking_it_again_changes_nothing(
    client: FlaskClient, tenant: tuple[str, str]
) -> None:
    other = client.post(KEYS, json={}, headers=bearer(tenant[1])).json
    revoked = client.post(f"{KEYS}/{other['id']}/revoke", headers=bearer(tenant[1]))
    assert revoked.status_code == 200, revoked.json
    first = revoked.json
    assert (first["id"], first["active"], first["already_revoked"]) == (other["id"], False, False)
    assert first["calling_key"] is False and first["revoked_at"] is not None
    assert not works(client, other["api_key"]) and works(client, tenant[1])
    again = client.post(f"{KEYS}/{other['id']}/revoke", headers=bearer(tenant[1])).json
    assert (again["already_revoked"], again["revoked_at"]) == (True, first["revoked_at"])


def test_a_key_may_revoke_itself_and_the_answer_says_so(
    client: FlaskClient, tenant: tuple[str, str]
) -> None:
    spare = client.post(KEYS, json={}, headers=bearer(tenant[1])).json["api_key"]
    [mine, _] = listed(client, tenant[1])
    revoked = client.post(f"{KEYS}/{mine['id']}/revoke", headers=bearer(tenant[1])).json
    assert (revoked["calling_key"], revoked["active"]) == (True, False)
    assert not works(client, tenant[1]) and works(client, spare)


def test_the_last_active_key_of_a_mode_cannot_be_revoked_but_can_be_rotated(
    client: FlaskClient, tenant: tuple[str, str]
) -> None:
    [only] = listed(client, tenant[1])
    refused = client.post(f"{KEYS}/{only['id']}/revoke", headers=bearer(tenant[1]))
    assert (refused.status_code, refused.json["error"]["code"]) == (409, "last_active_key")
    assert "rotate" in refused.json["error"]["message"]
    assert works(client, tenant[1])
    # A key in its grace period does not count: once it ends, the tenant would be locked out.
    new = client.post(f"{KEYS}/{only['id']}/rotate", json={}, headers=bearer(tenant[1])).json
    [_, fresh] = listed(client, new["api_key"])
    locked_out = client.post(f"{KEYS}/{fresh['id']}/revoke", headers=bearer(tenant[1]))
    assert locked_out.status_code == 409
    ended = client.post(f"{KEYS}/{only['id']}/revoke", headers=bearer(new["api_key"]))
    assert (ended.status_code, ended.json["active"]) == (200, False)


@pytest.mark.parametrize("action", ["rotate", "revoke"])
def test_an_unknown_key_id_is_a_404(
    client: FlaskClient, tenant: tuple[str, str], action: str
) -> None:
    response = client.post(f"{KEYS}/key_nope/{action}", json={}, headers=bearer(tenant[1]))
    assert (response.status_code, response.json["error"]["code"]) == (404, "resource_missing")


@pytest.mark.parametrize("action", ["rotate", "revoke"])
def test_a_key_manages_only_keys_of_its_own_mode(
    app: Flask, client: FlaskClient, live: tuple[str, str], action: str
) -> None:
    """A test key may sit in a CI job: it must not retire, or be handed, a live key."""
    tenant_id, live_key = live
    with app.app_context():
        test_key = tenants.add_api_key(tenant_id, "test", app.extensions["apg"].clock.now())
        db.session.commit()
    live_id = next(k["id"] for k in listed(client, live_key) if k["mode"] == "live")

    response = client.post(f"{KEYS}/{live_id}/{action}", json={}, headers=bearer(test_key))

    error = response.json["error"]
    assert (response.status_code, error["code"]) == (403, "key_mode_mismatch")
    assert "test key" in error["message"] and "live key" in error["message"]
    assert stored(app, live_id).revoked_at is None and len(listed(client, live_key)) == 2
    [event] = events(app, "key_mode_mismatch")
    assert event.tenant_id == tenant_id and test_key not in event.detail


# --- last used ----------------------------------------------------------------------------


def test_last_used_at_is_written_at_most_once_a_minute(
    app: Flask, client: FlaskClient, clock: ShiftableClock, tenant: tuple[str, str]
) -> None:
    [key] = listed(client, tenant[1])
    first = stored(app, key["id"]).last_used_at
    assert first is not None and at(key["last_used_at"]) == first  # this very request
    clock.shift(timedelta(seconds=59))
    assert works(client, tenant[1])
    assert stored(app, key["id"]).last_used_at == first
    clock.shift(timedelta(seconds=2))
    assert works(client, tenant[1])
    later = stored(app, key["id"]).last_used_at
    assert later is not None and timedelta(seconds=61) <= later - first < timedelta(seconds=62)


def test_a_request_that_fails_still_records_the_use_of_its_key(
    app: Flask, client: FlaskClient, tenant: tuple[str, str]
) -> None:
    response = client.post("/api/v1/payments", json={"amount": 1}, headers=bearer(tenant[1]))
    assert response.status_code == 400
    with app.app_context():
        [key] = db.session.execute(select(ApiKey)).scalars()
    assert key.last_used_at is not None


def test_a_refused_key_is_not_marked_used(
    app: Flask, client: FlaskClient, tenant: tuple[str, str]
) -> None:
    spare = client.post(KEYS, json={}, headers=bearer(tenant[1])).json
    client.post(f"{KEYS}/{spare['id']}/revoke", headers=bearer(tenant[1]))
    assert not works(client, spare["api_key"])
    assert stored(app, spare["id"]).last_used_at is None


def test_the_cli_list_shows_when_each_key_was_last_used(
    app: Flask, client: FlaskClient, tenant: tuple[str, str]
) -> None:
    assert works(client, tenant[1])
    result = app.test_cli_runner().invoke(args=["apg", "list-api-keys", "--tenant", tenant[0]])
    [key] = json.loads(result.stdout)["data"]
    assert at(key["last_used_at"]) == stored(app, key["id"]).last_used_at is not None


# --- authentication failures --------------------------------------------------------------


@pytest.mark.parametrize(
    ("authorization", "reason", "prefix"),
    [
        (None, "missing", None),
        ("Basic YXBnX3Rlc3RfeHh4Og==", "basic auth", None),
        ("Token apg_test_abc", "not bearer", None),
        ("Bearer apg_test_" + "u" * 43, "unknown key", "apg_test_uuuu"),
        ("Bearer short", "unknown key", "short"),
    ],
)
def test_a_failed_authentication_is_a_security_event_naming_at_most_the_key_prefix(
    app: Flask,
    client: FlaskClient,
    tenant: tuple[str, str],
    authorization: str | None,
    reason: str,
    prefix: str | None,
) -> None:
    headers = {"Authorization": authorization} if authorization else {}
    assert client.get("/api/v1/payments", headers=headers).status_code == 401
    [event] = events(app, "auth_failed")
    detail = json.loads(event.detail)
    assert (detail["reason"], detail.get("key_prefix")) == (reason, prefix)
    assert (event.path, event.tenant_id) == ("/api/v1/payments", None)
    presented = (authorization or "").partition(" ")[2]
    assert len(presented) <= 13 or presented not in event.detail


def test_a_revoked_key_is_recorded_with_its_tenant(
    app: Flask, client: FlaskClient, tenant: tuple[str, str]
) -> None:
    spare = client.post(KEYS, json={}, headers=bearer(tenant[1])).json
    client.post(f"{KEYS}/{spare['id']}/revoke", headers=bearer(tenant[1]))
    assert not works(client, spare["api_key"])
    [event] = events(app, "auth_failed")
    detail = json.loads(event.detail)
    assert (detail["reason"], detail["key_prefix"]) == ("revoked key", spare["api_key"][:13])
    assert event.tenant_id == tenant[0] and spare["api_key"] not in event.detail
