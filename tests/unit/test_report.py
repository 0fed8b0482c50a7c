"""The report's judgement and renderings, on synthetic results (no containers)."""

from pathlib import Path

import pytest

from byoc_conformance import report, specs, writers
from byoc_conformance.catalogue import Catalogue, Requirement
from byoc_conformance.report import CheckResult, Gate, Status, Verdict

EXPECTED = Path(__file__).parent / "expected"
# A small fixed catalogue, so that the expected files do not change with the shipped one.
CATALOGUE = Catalogue("1.0.0", {r.id: r for r in [
    Requirement("IMG-02", "image", "MUST", "Use an exec-form ENTRYPOINT.", "https://docs.example/img"),
    Requirement("IMG-12", "image", "MUST", "Private registries need TLS.", "https://docs.example/reg",
                unchecked_reason="Needs the AWS control plane."),
    Requirement("TRAIN-15", "training", "MUST", "Exit 0 on success, non-zero on failure.", "https://docs.example/t"),
    Requirement("TRAIN-16", "training", "SHOULD", "Write /opt/ml/output/failure.", "https://docs.example/f"),
    Requirement("TRAIN-18", "training", "INFO", "MaxRuntimeInSeconds defaults to a day.", "https://docs.example/m"),
    Requirement("SERVE-04", "hosting", "MUST", "GET /ping answers 200 within 2 s.", "https://docs.example/p"),
]})
PLANNED = {"IMG-02:exec-form-entrypoint": "MUST", "TRAIN-15:good-input-exits-0": "MUST",
           "SERVE-04:ping-answers-200-within-2s": "MUST", "SERVE-04:ping-body-empty": "SHOULD",
           "TRAIN-16:corrupt-csv-failure-file": "SHOULD"}
METADATA = {
    "product": {"vendor": "Acme ML", "name": "Linear", "version": "1.2.0"},
    "image": {"reference": "acme/linear:1.2.0", "id": "sha256:" + "ab" * 32, "digests": [], "labels": {},
              "os": "linux", "architecture": "amd64", "size": 123456789},
    "harness": {"version": "0.1.0", "catalogue_version": "0.1.0", "docker_engine": "20.10.24"},
    "run": {"id": "0123abcd", "started": "2026-11-23T12:00:00+00:00", "ended": "2026-11-23T12:00:30+00:00",
            "seed": 7, "options": {"image": "acme/linear:1.2.0"}},
}


def result(check, status="passed", level="MUST", summary="fine", **extra) -> CheckResult:
    return CheckResult(check, check.split(":")[0], level, status, summary, 0.5, **extra)


ALL_PASS = [result("IMG-02:exec-form-entrypoint"), result("TRAIN-15:good-input-exits-0"),
            result("SERVE-04:ping-answers-200-within-2s"), result("TRAIN-16:corrupt-csv-failure-file", level="SHOULD")]


def build(results, fail_on="must"):
    built = report.build(CATALOGUE, PLANNED, results, fail_on=fail_on, **METADATA)
    specs.validate(built.document(), "report.schema.json", "the report")
    return built


def replace(check, **changes):
    return [result(r.check, **{"level": r.level, **changes}) if r.check == check else r for r in ALL_PASS]


def test_every_checked_must_passed_is_conformant():
    built = build(ALL_PASS)
    assert (built.verdict, built.gate, built.warnings) == (Verdict.CONFORMANT, Gate.PASSED, ())


def test_a_failed_must_is_not_conformant():
    assert build(replace("TRAIN-15:good-input-exits-0", status="failed")).verdict is Verdict.NOT_CONFORMANT


@pytest.mark.parametrize("status", ["inconclusive", "skipped"])
def test_a_must_inconclusive_or_not_run_is_never_conformant(status):
    results = [r for r in ALL_PASS if r.check != "SERVE-04:ping-answers-200-within-2s"] if status == "skipped" \
        else replace("SERVE-04:ping-answers-200-within-2s", status="inconclusive")
    built = build(results)
    assert (built.verdict, built.gate) == (Verdict.INCONCLUSIVE, Gate.FAILED)
    record = next(r for r in built.requirements if r.id == "SERVE-04")
    assert record.status is (Status.INCONCLUSIVE if status == "inconclusive" else Status.NOT_CHECKED)


def test_a_failed_should_is_a_warning_that_only_the_should_gate_fails_on():
    results = replace("TRAIN-16:corrupt-csv-failure-file", status="failed", summary="no failure file")
    assert build(results).warnings == ("TRAIN-16:corrupt-csv-failure-file: no failure file",)
    assert (build(results).verdict, build(results).gate) == (Verdict.CONFORMANT, Gate.PASSED)
    assert build(results, fail_on="should").gate is Gate.FAILED


def test_a_failed_should_part_of_a_must_warns_but_leaves_the_must_passed():
    results = [*ALL_PASS, result("SERVE-04:ping-body-empty", "failed", "SHOULD", "body b'\\n'")]
    built = build(results)
    record = next(r for r in built.requirements if r.id == "SERVE-04")
    assert (record.status, record.warnings) == (Status.PASSED, ("SERVE-04:ping-body-empty",))
    assert built.verdict is Verdict.CONFORMANT and built.warnings == ("SERVE-04:ping-body-empty: body b'\\n'",)


def test_requirements_without_a_check_say_why_and_are_never_passed():
    records = {r.id: r for r in build(ALL_PASS).requirements}
    assert records["IMG-12"].status is Status.NOT_CHECKED and records["IMG-12"].reason
    assert records["TRAIN-18"].reason.startswith("informational")


SAMPLE = replace("TRAIN-15:good-input-exits-0", status="failed", summary="`train` exited with code 2 after 1.0 s",
                 details="TRAIN-15 (MUST) ...\n  observed: exit 2", reproduce="docker run ... train")


@pytest.mark.parametrize("name", ["summary.md", "junit.xml"])
def test_renderings_match_the_expected_files(tmp_path, name):
    writers.write_bundle(build(SAMPLE), tmp_path)
    assert (tmp_path / name).read_text() == (EXPECTED / name).read_text()


def test_the_html_carries_the_verdict_the_evidence_and_the_report_hash(tmp_path):
    writers.write_bundle(build(SAMPLE), tmp_path)
    page = (tmp_path / "report.html").read_text()
    digest = (tmp_path / "summary.md").read_text().rsplit("`", 2)[1]
    assert "NOT CONFORMANT" in page and "exited with code 2" in page and digest in page


def test_the_must_rules_of_a_claimed_may_capability_decide_the_verdict():
    catalogue = Catalogue("1.0.0", {"BATCH-03": Requirement(
        "BATCH-03", "batch", "MAY", "Answer /execution-parameters with the three fields.", "https://docs.example/b")})
    planned = {"BATCH-03:execution-parameters-valid": "MUST"}
    failed = [result("BATCH-03:execution-parameters-valid", "failed", summary="not valid JSON")]
    built = report.build(catalogue, planned, failed, fail_on="must", **METADATA)
    assert built.requirements[0].status is Status.FAILED and built.verdict is Verdict.NOT_CONFORMANT
    absent = [result("BATCH-03:execution-parameters-valid", "not applicable")]
    assert report.build(catalogue, planned, absent, fail_on="must", **METADATA).verdict is Verdict.CONFORMANT


def test_the_declaration_and_the_emitted_metrics_are_kept_in_the_report():
    metadata = {**METADATA, "declaration": {"source": "byoc-spec.json", "summary": "2 channel(s)"},
                "metrics": [{"name": "train:mse", "count": 3, "values": [3.0, 2.0, 1.5]}]}
    built = report.build(CATALOGUE, PLANNED, [], fail_on="must", **metadata)
    specs.validate(built.document(), "report.schema.json", "the report")
    assert "**Training metrics (declared, as emitted):** train:mse 3 values, last 1.5" in \
        writers.markdown.render(built, "0" * 64)
    assert "<dt>Training metrics</dt><dd>train:mse 3 values, last 1.5</dd>" in writers.html.render(built, "0" * 64)
    assert "<dt>Declaration</dt><dd>2 channel(s)</dd>" in writers.html.render(built, "0" * 64)


def test_a_harness_error_is_its_own_status_and_never_conformant(tmp_path):
    results = [*ALL_PASS, result("SERVE-04:ping-body-empty", "error", "SHOULD", "harness error: KeyError: 'x'",
                                 details="Traceback ...\nKeyError: 'x'")]
    built = build(results)
    assert (built.verdict, built.gate, built.counts[Status.ERROR]) == (Verdict.INCONCLUSIVE, Gate.FAILED, 1)
    record = next(r for r in built.requirements if r.id == "SERVE-04")
    assert record.status is Status.ERROR  # even in a SHOULD part: what errored was not judged
    only = build(replace("TRAIN-15:good-input-exits-0", status="error", summary="harness error: KeyError: 'x'"))
    assert next(r for r in only.requirements if r.id == "TRAIN-15").status is Status.ERROR
    writers.write_bundle(only, tmp_path)
    junit = (tmp_path / "junit.xml").read_text()
    assert 'errors="1"' in junit and "<error message=\"harness error: KeyError: 'x'\"" in junit
    # A harness error decides the gate, first thing after the verdict.
    assert "**Decides the gate:**\n- TRAIN-15:good-input-exits-0 (MUST): harness error: KeyError: 'x'" in \
        (tmp_path / "summary.md").read_text()
    assert "class='status error'" in (tmp_path / "report.html").read_text()
