"""Scripted STK outcomes by payer MSISDN: the Scenario model and its validation (YAML or JSON)."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

from daraja_emulator import config_readers as read
from daraja_emulator.config_readers import EmulatorConfigError
from daraja_emulator.products import stk_codes


@dataclass(frozen=True)
class Scenario:
    """A scripted STK outcome; result_desc defaults to the §2.2 text for the code."""

    result_code: int | str
    result_desc: str | None = None
    delay_seconds: float | None = None

    def __post_init__(self) -> None:
        code = stk_codes.normalize_result_code(self.result_code)
        object.__setattr__(self, "result_code", code)
        if self.result_desc is None:
            object.__setattr__(self, "result_desc", stk_codes.describe(code))

    def to_json(self) -> dict[str, Any]:
        """The scenario in its YAML/JSON shape (unset keys left out); parse_scenario accepts it."""
        return {k: v for k, v in dataclasses.asdict(self).items() if v is not None}


def parse_scenario(value: Any, path: str) -> Scenario:
    """Validate one scenario mapping; EmulatorConfigError names the bad key under `path`."""
    fields = read.mapping(value, path)
    read.known_keys(fields, read.field_names(Scenario), path)
    code = read.result_code(read.required(fields, "result_code", path), f"{path}.result_code")
    desc = fields.get("result_desc")
    if desc is None and stk_codes.describe(code) is None:
        raise EmulatorConfigError(
            f"{path}.result_desc: required for result code {code} (not in the STK table)"
        )
    delay = fields.get("delay_seconds")
    return Scenario(
        result_code=code,
        result_desc=None if desc is None else read.string(desc, f"{path}.result_desc"),
        delay_seconds=None if delay is None else read.seconds(delay, f"{path}.delay_seconds"),
    )
