"""Dependencies point one way: api/webhooks/cli -> payments -> ports <- processors."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

APG = Path(__file__).resolve().parent.parent / "apg"

# package -> modules it must never import (at any level, TYPE_CHECKING included)
FORBIDDEN = {
    "payments": ("apg.processors", "apg.api", "apg.webhooks", "apg.cli", "apg.tenants", "flask"),
    "tenants": ("apg.processors", "apg.payments", "apg.api", "apg.webhooks", "apg.cli"),
    "processors": ("apg.api", "apg.webhooks", "apg.cli", "apg.services", "apg.payments.service"),
    "idempotency": ("apg.payments", "apg.processors", "apg.api"),
}


def imports_of(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
            names |= {f"{node.module}.{alias.name}" for alias in node.names}
    return names


@pytest.mark.parametrize("package", sorted(FORBIDDEN))
def test_a_package_imports_nothing_above_it(package: str) -> None:
    offending = {
        f"{path.relative_to(APG)}: {name}"
        for path in (APG / package).rglob("*.py")
        for name in imports_of(path)
        if any(name == bad or name.startswith(f"{bad}.") for bad in FORBIDDEN[package])
    }
    assert offending == set()


def test_the_check_sees_a_violation(tmp_path: Path) -> None:
    bad = tmp_path / "bad.py"
    bad.write_text("if TYPE_CHECKING:\n    from apg.processors.mpesa import accounts\n")
    assert "apg.processors.mpesa.accounts" in imports_of(bad)
