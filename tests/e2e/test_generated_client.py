"""A Python client generated from /api/openapi.json (openapi-python-client) pays through the
gateway and the emulator: proof that the document is good enough to build an integration on."""

from __future__ import annotations

import importlib
import json
import os
import subprocess
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
import requests

from tests.support.factories import EmulatorControl, Merchant
from tests.support.servers import LiveServer

PACKAGE = "apg_generated_client"


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory, gateway_server: LiveServer) -> ModuleType:
    """Generate the client from the live gateway's document; import it as a package."""
    where = tmp_path_factory.mktemp("client")
    spec = where / "openapi.json"
    spec.write_text(json.dumps(requests.get(f"{gateway_server.url}/api/openapi.json").json()))
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}
    generator = Path(sys.executable).parent / "openapi-python-client"
    output = str(where / PACKAGE)
    done = subprocess.run(
        [
            str(generator),
            "generate",
            "--path",
            str(spec),
            "--output-path",
            output,
            "--meta",
            "none",
        ],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "Warning" not in done.stdout, done.stdout  # every schema and operation understood
    sys.path.insert(0, str(where))
    try:
        return importlib.import_module(PACKAGE)
    finally:
        sys.path.remove(str(where))


def sub(package: ModuleType, name: str) -> Any:
    return importlib.import_module(f"{package.__name__}.{name}")


def test_a_generated_client_makes_a_payment_that_completes(
    generated: ModuleType,
    gateway_server: LiveServer,
    merchant: Merchant,
    emulator_control: EmulatorControl,
) -> None:
    models = sub(generated, "models")
    create_payment = sub(generated, "api.payments.create_payment")
    get_payment = sub(generated, "api.payments.get_payment")
    api_key = merchant.session.headers["Authorization"].removeprefix("Bearer ")
    with generated.AuthenticatedClient(base_url=gateway_server.url, token=api_key) as client:
        body = models.PaymentCreate(
            amount=10000,
            phone_number="0708374149",
            reference="GEN-1",
            metadata=models.PaymentCreateMetadata.from_dict({"order_id": "42"}),
        )
        created = create_payment.sync_detailed(client=client, body=body, idempotency_key="gen-1")
        assert created.status_code == 201
        payment = created.parsed
        assert isinstance(payment, models.Payment)  # parsed into the document's model
        assert (payment.amount, payment.status.value) == (10000, "processing")
        assert payment.metadata.to_dict() == {"order_id": "42"}

        emulator_control.settle(payment.checkout_request_id)
        final = get_payment.sync(client=client, payment_id=payment.id)
        assert isinstance(final, models.Payment)
        assert final.status.value == "completed" and len(final.mpesa_receipt_number) == 10

        again = create_payment.sync_detailed(client=client, body=body, idempotency_key="gen-1")
        assert (again.status_code, again.headers["Idempotent-Replayed"]) == (201, "true")
        assert again.parsed.id == payment.id


def test_a_generated_client_parses_errors_into_the_error_model(
    generated: ModuleType, gateway_server: LiveServer, merchant: Merchant
) -> None:
    models = sub(generated, "models")
    create_payment = sub(generated, "api.payments.create_payment")
    api_key = merchant.session.headers["Authorization"].removeprefix("Bearer ")
    with generated.AuthenticatedClient(base_url=gateway_server.url, token=api_key) as client:
        body = models.PaymentCreate(amount=150, phone_number="0708374149", reference="GEN-2")
        refused = create_payment.sync_detailed(client=client, body=body)
    assert refused.status_code == 400
    assert isinstance(refused.parsed, models.Error)
    assert refused.parsed.error.param == "amount"
    assert "multiple of 100" in refused.parsed.error.message
