"""Schemathesis fuzzes every operation of /api/openapi.json, in-process, with a real API key of a
tenant that owns one object of every kind: no answer is a 5xx, and every answer is one the
document describes (status code, content type, documented headers, body schema).

Bounded and deterministic, so CI runs it on SQLite and PostgreSQL: each operation gets its
coverage cases (boundary values, missing or mistyped fields, other methods and content types:
a fixed list derived from the document), then MAX_EXAMPLES derandomized Hypothesis examples,
never shrunk (a failure names its case and a curl line to reproduce it).

Schemathesis is driven through its strategies, one pytest test per operationId: under pytest
9.2, schemathesis 4.32.5's `from_fixture` fails (pytest items no longer have `_nodeid`) and
`schema.parametrize()` gives every operation the same node id.
"""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Iterator, Mapping
from typing import Any

import pytest
import schemathesis
from cryptography.fernet import Fernet
from flask import Flask
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from schemathesis import Case, GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from apg import create_app
from apg.clock import Clock
from tests.support.factories import payment_body
from tests.support.fuzzing import make_fuzz_tenant, unthrottled_app

MAX_EXAMPLES = 20
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]
# The tenant's key goes on every case (invalid keys are tests/api's business).
CONFIG = schemathesis.Config.from_dict({"generation": {"with-security-parameters": False}})
# Fields whose documented schema lets through values the API refuses (a phone number has no
# pattern; account_id must name one of the tenant's accounts): one branch repairs them, so
# the fuzzer also reaches the services behind the validation.
REPAIRS = {"phone_number": "0708374149", "requester": "0708374149"}


def _document() -> dict[str, Any]:
    """The document as the app serves it; building an app does no I/O (see apg.create_app)."""
    app = create_app(
        {
            "app.database_url": "sqlite://",
            "security.encryption_key": Fernet.generate_key().decode(),
            "monitoring.log_level": "WARNING",
        }
    )
    return app.test_client().get("/api/openapi.json").get_json()  # type: ignore[no-any-return]


DOCUMENT = _document()
SCHEMA = schemathesis.openapi.from_dict(DOCUMENT, config=CONFIG)
OPERATION_IDS = [
    operation["operationId"]
    for item in DOCUMENT["paths"].values()
    for method, operation in item.items()
    if method in {"get", "post", "put", "patch", "delete"}
]


@pytest.fixture(scope="module")
def fuzz_app(app: Flask, clock: Clock) -> Iterator[Flask]:
    with unthrottled_app(app, clock) as fuzz:
        yield fuzz


def repaired(case: Case) -> Case:
    """The case with a valid phone number and the tenant's default account."""
    if isinstance(case.body, dict):
        case.body.pop("account_id", None)
        if "transaction_id" in case.body:  # exactly one of the two
            case.body.pop("originator_conversation_id", None)
        case.body.update({k: v for k, v in REPAIRS.items() if k in case.body})
    return case


def cases(operation: Any, ids: Mapping[str, str]) -> st.SearchStrategy[Case]:
    """Generated cases, valid and invalid; valid ones naming the tenant's own objects and
    repaired ones; and the document's examples."""
    branches = [operation.as_strategy(mode) for mode in GenerationMode]
    names = {parameter.name for parameter in operation.path_parameters}
    if names and names <= ids.keys():
        own = {name: ids[name] for name in names}
        branches.append(operation.as_strategy(GenerationMode.POSITIVE, path_parameters=own))
    branches.append(operation.as_strategy(GenerationMode.POSITIVE).map(repaired))
    branches += SCHEMA.get_strategies_from_examples(operation)
    return st.one_of(branches)


@pytest.mark.parametrize("operation_id", OPERATION_IDS)
def test_every_operation_answers_as_documented(operation_id: str, fuzz_app: Flask) -> None:
    tenant = make_fuzz_tenant(fuzz_app)
    operation = SCHEMA.find_operation_by_id(operation_id)
    statuses: Counter[int] = Counter()

    def send(case: Case) -> None:
        response = case.call_and_validate(
            headers={"Authorization": f"Bearer {tenant.api_key}"}, checks=CHECKS, app=fuzz_app
        )
        statuses[response.status_code] += 1

    coverage = SCHEMA.config.generation_for(operation=operation, phase="coverage")
    for case in SCHEMA.iter_coverage_cases(
        operation, generation_modes=list(GenerationMode), generation_config=coverage
    ):
        send(case)

    @settings(
        max_examples=MAX_EXAMPLES,
        derandomize=True,
        database=None,
        deadline=None,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
    )
    @given(case=cases(operation, tenant.object_ids))
    def fuzz(case: Case) -> None:
        send(case)

    fuzz()
    # Not a hollow run: the key worked and some request got through to a service.
    assert any(200 <= status < 300 for status in statuses), dict(statuses)


# --- found by fuzzing: bugs with these reproductions ------------------------------------------

ON_POSTGRESQL = os.environ.get("APG_TEST_DATABASE_URL", "").startswith("postgresql")
# A NUL where each kind of input ends up in a query or a row.
NUL_REQUESTS = {
    "path-id": ("GET", "/api/v1/payments/pay_%00", None),
    "seed-path-id": ("GET", "/api/payments/%00/check_status/", None),
    "query-filter": ("GET", "/api/v1/payments?reference=a%00", None),
    "query-cursor": ("GET", "/api/v1/payouts?starting_after=pay_%00", None),
    "body-field": ("POST", "/api/v1/payments", payment_body(customer_id="a\x00")),
    "seed-body-field": ("POST", "/payments/query/", {"checkout_request_id": "ws_CO_\x00"}),
    "rules-pattern": ("PUT", "/api/v1/c2b/validation-rules", {"account_number_pattern": "\x00"}),
}


@pytest.mark.parametrize("name", list(NUL_REQUESTS))
def test_a_nul_character_anywhere_is_a_400_that_says_so(fuzz_app: Flask, name: str) -> None:
    method, path, body = NUL_REQUESTS[name]
    tenant = make_fuzz_tenant(fuzz_app)
    response = fuzz_app.test_client().open(
        path, method=method, json=body, headers={"Authorization": f"Bearer {tenant.api_key}"}
    )
    assert response.status_code == 400, response.json
    assert response.json["error"]["code"] == "invalid_characters"


def test_a_deeply_nested_body_is_a_400(fuzz_app: Flask) -> None:
    tenant = make_fuzz_tenant(fuzz_app)
    for depth in (900, 5000, 100_000):
        response = fuzz_app.test_client().post(
            "/api/v1/payments",
            data="[" * depth + "]" * depth,
            content_type="application/json",
            headers={"Authorization": f"Bearer {tenant.api_key}"},
        )
        assert response.status_code == 400, (depth, response.json)


@pytest.mark.parametrize(
    ("path", "param"),
    [
        ("/api/v1/payments?created_gte=9999-12-31T23:59:59-12:00", "created_gte"),
        ("/api/v1/payouts?created_lt=0001-01-01T00:00:00%2B14:00", "created_lt"),
        ("/api/v1/c2b/payments?created_gte=9999-12-31T20:00:00-04:00", "created_gte"),
    ],
)
def test_a_date_time_outside_the_calendar_in_utc_is_a_400(
    fuzz_app: Flask, path: str, param: str
) -> None:
    """Valid ISO 8601, but in UTC (how it is compared) before year 1 or after 9999."""
    tenant = make_fuzz_tenant(fuzz_app)
    response = fuzz_app.test_client().get(
        path, headers={"Authorization": f"Bearer {tenant.api_key}"}
    )
    assert response.status_code == 400, response.json
    assert (response.json["error"]["code"], response.json["error"]["param"]) == (
        "invalid_request",
        param,
    )


@pytest.mark.parametrize("field", ["min_amount", "max_amount"])
def test_a_validation_rule_amount_beyond_what_is_stored_is_a_400(
    fuzz_app: Flask, field: str
) -> None:
    tenant = make_fuzz_tenant(fuzz_app)
    response = fuzz_app.test_client().put(
        "/api/v1/c2b/validation-rules",
        json={field: 2**63},
        headers={"Authorization": f"Bearer {tenant.api_key}"},
    )
    assert response.status_code == 400, response.json
    assert response.json["error"]["param"] == field
