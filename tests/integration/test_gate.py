"""A gate teams can adopt, on real containers: train-metrics-to-file fails two MUSTs (METRIC-01 and METRIC-05, its
metrics go to a file). Waiving one leaves it NOT CONFORMANT, waiving both makes it CONFORMANT with "2 waivers" in
every format; a waiver past its date fails as the failure it covered, a stale one is reported (and fails under
--byoc-strict-waivers); against a baseline, --byoc-gate new-failures passes or fails as the changes say."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ..suite_runs import SAMPLES, SuiteRun, run_suite

pytestmark = pytest.mark.docker

IMAGE = "byoc-samples/train-metrics-to-file"
METRIC_01, METRIC_05 = "METRIC-01:declared-metrics-emitted", "METRIC-05:objective-metrics-declared-and-emitted"


def judged(where: Path, *options: str, spec: Path = SAMPLES / "reference" / "byoc-spec.json",
           environment: dict[str, str] | None = None) -> SuiteRun:
    where.mkdir()
    return run_suite(IMAGE, where, "--byoc-startup-timeout=15", f"--byoc-spec={spec}", f"--byoc-report={where}/rep",
                     *options, environment=environment)


@pytest.fixture(scope="module")
def one_waived(sample_images, tmp_path_factory) -> tuple[SuiteRun, Path]:
    """METRIC-01 waived, METRIC-05's waiver past its date, a stale TRAIN-13 waiver, --byoc-strict-waivers."""
    where = tmp_path_factory.mktemp("gate") / "one"
    run = judged(where, "--byoc-waive=METRIC-01=metrics go to a file; fixed in 1.3",
                 "--byoc-waive=METRIC-05@2026-01-31=same fix", "--byoc-waive=TRAIN-13=was flaky once",
                 "--byoc-strict-waivers", environment={"GITHUB_ACTIONS": "true"})
    return run, where / "rep"


def test_one_of_two_failed_musts_waived_leaves_not_conformant_and_an_expired_waiver_fails(one_waived):
    run, bundle = one_waived
    assert run.exit_code == pytest.ExitCode.TESTS_FAILED, run.output
    statuses = dict(run.checks)
    assert statuses[f"test_requirement[{METRIC_01}]"] == "waived", run.output
    assert statuses[f"test_requirement[{METRIC_05}]"] == "failed", run.output
    summary = run.output[run.output.index("SageMaker BYOC conformance ==="):]
    opening = summary.splitlines()[1:6]
    assert opening[0].startswith("verdict: NOT CONFORMANT") and "1 failed, 1 waived" in opening[0], summary
    assert opening[1].startswith(f"decides the gate: {METRIC_05} (MUST): validation:mse: no value"), summary
    assert "  waiver past its date: same fix (until 2026-01-31) [--byoc-waive]" in run.output
    # On GitHub Actions the failure that decides the gate is also a workflow annotation.
    assert f"\n::error title=METRIC-05%3Aobjective-metrics-declared-and-emitted (MUST)::{METRIC_05} (MUST): " \
        "validation:mse: no value" in run.output
    document = json.loads((bundle / "report.json").read_text())
    assert [(w["id"], w["state"]) for w in document["waivers"]] == [
        ("METRIC-01", "applied"), ("METRIC-05", "expired"), ("TRAIN-13", "stale")]
    assert "stale (fails the gate: --byoc-strict-waivers) TRAIN-13" in (bundle / "summary.md").read_text()


@pytest.fixture(scope="module")
def both_waived(sample_images, tmp_path_factory) -> tuple[SuiteRun, Path]:
    """Both failures waived in the declaration's own section."""
    where = tmp_path_factory.mktemp("gate") / "both"
    reference = SAMPLES / "reference" / "byoc-spec.json"
    document = json.loads(reference.read_text())
    own = document["byoc-conformance"]  # the sample files stay where they are
    own["channels"] = {name: str(reference.parent / path) for name, path in own["channels"].items()}
    own["invocations"] = {kind: str(reference.parent / path) for kind, path in own["invocations"].items()}
    own["waivers"] = [{"id": "METRIC-01", "reason": "metrics go to a file; fixed in 1.3", "until": "2099-12-31"},
                      {"id": METRIC_05, "reason": "same fix"}]
    spec = where.parent / "byoc-spec.json"
    spec.write_text(json.dumps(document))
    return judged(where, spec=spec), where / "rep"


def test_both_waived_is_conformant_and_every_format_says_2_waivers(both_waived):
    run, bundle = both_waived
    assert run.exit_code == pytest.ExitCode.OK, run.output
    assert {s for _, s in run.checks} >= {"waived"} and "failed" not in {s for _, s in run.checks}, run.output
    assert "verdict: CONFORMANT" in run.output and "waiver applied METRIC-01" in run.output
    document = json.loads((bundle / "report.json").read_text())
    assert (document["verdict"], document["counts"]["waived"], len(document["waivers"])) == ("CONFORMANT", 2, 2)
    assert "**passed**, 2 waiver(s)." in (bundle / "summary.md").read_text()
    assert "<h2>Waivers (2)</h2>" in (bundle / "report.html").read_text()
    junit = (bundle / "junit.xml").read_text()
    assert '<property name="waivers" value="2" />' in junit and "<failure" not in junit
    assert f'name="{METRIC_01}"' in junit and '<skipped message="waived: metrics go to a file; fixed in 1.3 ' \
        "(until 2099-12-31): " in junit


@pytest.mark.parametrize("earlier, gate", [("as it was", "passed"), ("with METRIC-05 passed", "failed")])
def test_a_baseline_lists_the_changed_checks_and_the_new_failures_gate_follows_them(earlier, gate, one_waived,
                                                                                   tmp_path):
    _, bundle = one_waived
    baseline = json.loads((bundle / "report.json").read_text())
    if earlier != "as it was":  # an earlier report in which METRIC-05 passed
        for record in baseline["requirements"]:
            for check in record["checks"]:
                if check["check"] == METRIC_05:
                    check["status"] = "passed"
    (tmp_path / "old.json").write_text(json.dumps(baseline))
    run = judged(tmp_path / "now", f"--byoc-baseline={tmp_path / 'old.json'}", "--byoc-gate=new-failures")
    document = json.loads((tmp_path / "now" / "rep" / "report.json").read_text())
    assert document["verdict"] == "NOT CONFORMANT" and document["gate"] == gate, run.output
    assert run.exit_code == (pytest.ExitCode.OK if gate == "passed" else pytest.ExitCode.TESTS_FAILED), run.output
    changes = {(c["check"], c["before"], c["after"]) for c in document["baseline"]["changed"]}
    expected = {(METRIC_01, "waived", "failed")} | ({(METRIC_05, "passed", "failed")} if gate == "failed" else set())
    assert changes == expected, document["baseline"]
    assert document["baseline"]["new_failures"] == ([] if gate == "passed" else [METRIC_05])
    if gate == "failed":
        assert f"new failure (passed in the baseline): {METRIC_05} (MUST)" in run.output
