"""How a check's outcome becomes a result and a pytest outcome, including a check that breaks."""

from pathlib import Path
from types import SimpleNamespace

import pytest

from byoc_conformance.catalogue import load_catalogue
from byoc_conformance.harness import Harness
from byoc_conformance.options import RunOptions
from byoc_conformance.registry import Check
from byoc_conformance.verdicts import Inconclusive


def harness(tmp_path: Path) -> Harness:
    return Harness(engine=SimpleNamespace(host_address="127.0.0.1"), options=RunOptions("algo:1"),  # type: ignore[arg-type]
                   image_attrs={}, catalogue=load_catalogue(), repro_dir=tmp_path, context=None)  # type: ignore[arg-type]


def evaluate(tmp_path: Path, func) -> tuple[Harness, SimpleNamespace, BaseException | None]:
    run, item = harness(tmp_path), SimpleNamespace(user_properties=[])
    try:
        run.evaluate(Check("TRAIN-15", "good-input-exits-0", func), item)  # type: ignore[arg-type]
    except BaseException as outcome:  # pytest's fail/skip outcomes
        return run, item, outcome
    return run, item, None


def test_an_exception_in_a_check_is_an_error_with_its_traceback(tmp_path):
    def broken(ctx):
        return {}["missing"]

    run, item, outcome = evaluate(tmp_path, broken)
    (result,) = run.results
    assert (result.status, result.summary) == ("error", "harness error: KeyError: 'missing'")
    assert "Traceback (most recent call last)" in result.details and "broken" in result.details
    assert ("status", "error") in item.user_properties
    assert isinstance(outcome, pytest.fail.Exception) and "could not reach a verdict" in str(outcome)


def test_a_verdict_is_not_an_error(tmp_path):
    def unsure(ctx):
        raise Inconclusive("nothing observed")

    run, _, outcome = evaluate(tmp_path, unsure)
    assert run.results[0].status == "inconclusive" and isinstance(outcome, pytest.skip.Exception)


def test_an_interrupt_is_not_swallowed(tmp_path):
    def interrupted(ctx):
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        harness(tmp_path).evaluate(Check("TRAIN-15", "x", interrupted), SimpleNamespace(user_properties=[]))
