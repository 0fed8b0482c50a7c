"""The conformance suite that `pytest --image IMAGE` collects: one test per registered check, each named
after its requirement ID (e.g. test_requirement[TRAIN-15:good-input-exits-0])."""

from __future__ import annotations

import pytest

from byoc_conformance.harness import Harness
from byoc_conformance.registry import Check


def test_requirement(byoc_check: Check, byoc_harness: Harness, request: pytest.FixtureRequest) -> None:
    byoc_harness.evaluate(byoc_check, request.node)
