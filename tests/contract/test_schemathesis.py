"""Schemathesis, first half of the `/v1` operations (see tests/contract/fuzzing.py)."""

from __future__ import annotations

import schemathesis

from tests.contract.fuzzing import FUZZ_SETTINGS, Fuzz, check_case, contract_schema

schema = contract_schema(first_half=True)


@schema.parametrize()
@FUZZ_SETTINGS
def test_contract(case: schemathesis.Case, fuzz: Fuzz) -> None:
    check_case(case, fuzz)
