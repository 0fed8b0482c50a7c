"""A gate teams can adopt (issue 27), on synthetic results: waivers (applied, expired, stale, not run), the
comparison with a baseline and --byoc-gate new-failures, what decides the gate listed first, and the GitHub
annotations."""

from datetime import date

import pytest

from byoc_conformance import report, specs, writers
from byoc_conformance.engine import HarnessError
from byoc_conformance.report import Gate, Status, Verdict
from byoc_conformance.waivers import Waiver, check_targets, from_option, from_section
from byoc_conformance.writers import terminal

from .test_report import ALL_PASS, CATALOGUE, METADATA, PLANNED, result

TRAIN = "TRAIN-15:good-input-exits-0"
PING = "SERVE-04:ping-answers-200-within-2s"


def build(results, **options):
    built = report.build(CATALOGUE, PLANNED, results, fail_on=options.pop("fail_on", "must"), **METADATA, **options)
    specs.validate(built.document(), "report.schema.json", "the report")
    return built


def with_statuses(**statuses):
    """ALL_PASS with the checks named (by their requirement, underscores for dashes) given these statuses."""
    changed = {TRAIN: statuses.get("train"), PING: statuses.get("ping")}
    return [result(r.check, changed[r.check], r.level, f"{r.check} was {changed[r.check]}",
                   reproduce="docker run x train\nsecond line", waiver="known (until 2027-01-31)"
                   if changed[r.check] == "waived" else None) if changed.get(r.check) else r for r in ALL_PASS]


def waiver(target, state, checks=()):
    return {"id": target, "reason": "known", "until": None, "source": "--byoc-waive", "state": state,
            "checks": list(checks)}


# --- waivers ---------------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("value, expected", [
    ("TRAIN-17=no handler yet", Waiver("TRAIN-17", "no handler yet", None, "--byoc-waive")),
    ("TRAIN-17:sigterm-stops-training@2027-03-31=fix in 1.3",
     Waiver("TRAIN-17:sigterm-stops-training", "fix in 1.3", date(2027, 3, 31), "--byoc-waive")),
])
def test_a_waiver_is_given_on_the_command_line(value, expected):
    assert from_option(value) == expected


@pytest.mark.parametrize("value, message", [
    ("TRAIN-17", "give ID\\[:check\\]\\[@YYYY-MM-DD\\]=REASON"),
    ("train-17=x", "'train-17' is not a requirement ID or ID:check"),
    ("TRAIN-17= ", "a waiver needs its reason"),
    ("TRAIN-17@next week=x", "until 'next week' is not a date"),
])
def test_a_malformed_waiver_is_one_line(value, message):
    with pytest.raises(HarnessError, match=message):
        from_option(value)


def test_a_waiver_in_the_declaration_and_one_about_no_check_of_the_harness():
    (given,) = from_section([{"id": "SERVE-04", "reason": "slow start", "until": "2027-01-31"}], "$.waivers")
    assert given.source == "$.byoc-conformance.waivers[0]"
    assert given.covers(PING) and given.covers("SERVE-04:ping-body-empty") and not given.covers(TRAIN)
    assert given.expired(date(2027, 2, 1)) and not given.expired(date(2027, 1, 31))
    with pytest.raises(HarnessError, match=r"--byoc-waive TRAIN-99: names no check of this harness"):
        check_targets((from_option("TRAIN-99=x"),), set(PLANNED))
    check_targets((from_option("TRAIN-15=x"), from_option(f"{PING}=x")), set(PLANNED))


def test_waiving_one_of_two_failed_musts_leaves_not_conformant_and_both_conformant():
    one = build(with_statuses(train="waived", ping="failed"), waivers=[waiver("TRAIN-15", "applied", [TRAIN])])
    assert (one.verdict, one.gate) == (Verdict.NOT_CONFORMANT, Gate.FAILED)
    assert [r.check for r in one.deciding] == [PING]
    both = build(with_statuses(train="waived", ping="waived"),
                 waivers=[waiver("TRAIN-15", "applied", [TRAIN]), waiver("SERVE-04", "applied", [PING])])
    assert (both.verdict, both.gate, both.counts[Status.WAIVED]) == (Verdict.CONFORMANT, Gate.PASSED, 2)
    assert next(r for r in both.requirements if r.id == "TRAIN-15").status is Status.WAIVED


def test_a_stale_waiver_fails_the_gate_only_when_strict():
    stale = [waiver("SERVE-04", "stale")]
    assert build(ALL_PASS, waivers=stale).gate is Gate.PASSED
    assert build(ALL_PASS, waivers=stale, strict_waivers=True).gate is Gate.FAILED


def test_every_format_says_how_many_waivers_and_a_waived_check_is_skipped_with_its_reason_in_junit(tmp_path):
    built = build(with_statuses(train="waived", ping="waived"),
                  waivers=[waiver("TRAIN-15", "applied", [TRAIN]), waiver("SERVE-04", "applied", [PING])])
    writers.write_bundle(built, tmp_path)
    junit = (tmp_path / "junit.xml").read_text()
    assert '<property name="waivers" value="2" />' in junit
    assert f'name="{TRAIN}"' in junit and '<skipped message="waived: known (until 2027-01-31): ' in junit
    assert "<failure" not in junit
    assert "Gate (`--byoc-fail-on must`): **passed**, 2 waiver(s)." in (tmp_path / "summary.md").read_text()
    assert "<h2>Waivers (2)</h2>" in (tmp_path / "report.html").read_text()
    assert [w["state"] for w in __import__("json").loads((tmp_path / "report.json").read_text())["waivers"]] == \
        ["applied", "applied"]
    lines = [line for line, _ in terminal.lines(built)]
    assert "waiver applied TRAIN-15 (known; --byoc-waive): " + TRAIN in lines
    assert any(line.startswith(f"waived          {TRAIN} (MUST): ") and line.endswith("[waived: known (until "
                                                                               "2027-01-31)]") for line in lines)


# --- what decides the gate comes first -----------------------------------------------------------------------------

def test_the_reports_open_with_the_verdict_then_the_failures_that_decide_it(tmp_path):
    built = build(with_statuses(train="failed", ping="inconclusive"))
    writers.write_bundle(built, tmp_path)
    summary = (tmp_path / "summary.md").read_text().splitlines()
    assert summary[0].startswith("## SageMaker BYOC conformance: NOT CONFORMANT")
    assert summary[4:9] == ["**Decides the gate:**",
                            f"- {TRAIN} (MUST): {TRAIN} was failed (reproduce: docker run x train ...)", "",
                            "**Keeps it from CONFORMANT (inconclusive MUST):**",
                            f"- {PING} (MUST): {PING} was inconclusive (reproduce: docker run x train ...)"]
    page = (tmp_path / "report.html").read_text()
    assert page.index("NOT CONFORMANT</div>") < page.index("<h2>Decides the gate</h2>") < page.index(
        "<dl class='facts'>") < page.index("<table>")
    lines = terminal.lines(built)
    assert lines[0][0].startswith("verdict: NOT CONFORMANT") and lines[-1] == lines[0]
    assert lines[1] == (f"decides the gate: {TRAIN} (MUST): {TRAIN} was failed (reproduce: docker run x train ...)",
                        {"red": True})


def test_under_fail_on_should_a_failed_should_decides_the_gate_and_is_not_listed_twice():
    results = [*ALL_PASS, result("SERVE-04:ping-body-empty", "failed", "SHOULD", "body b'\\n'")]
    built = build(results, fail_on="should")
    assert [r.check for r in built.deciding] == ["SERVE-04:ping-body-empty"] and built.listed_warnings == ()
    assert build(results).deciding == [] and build(results).listed_warnings == built.warnings


def test_github_annotations_name_each_deciding_failure_and_each_inconclusive_must():
    built = build(with_statuses(train="failed", ping="inconclusive"))
    # A title's ':' and ',' are escaped (they separate a command's properties), a message's line ends.
    assert terminal.annotations(built) == [
        f"::error title=TRAIN-15%3Agood-input-exits-0 (MUST)::{TRAIN} (MUST): {TRAIN} was failed (reproduce: docker "
        "run x train ...)",
        f"::warning title=SERVE-04%3Aping-answers-200-within-2s (MUST) inconclusive::{PING} (MUST): {PING} was "
        "inconclusive (reproduce: docker run x train ...)"]
    multi_line = build([result(TRAIN, "failed", summary="50% of rows\nthen more")])
    assert terminal.annotations(multi_line)[0].endswith("::TRAIN-15:good-input-exits-0 (MUST): 50%25 of rows")


# --- baselines ------------------------------------------------------------------------------------------------------

def test_a_baseline_lists_exactly_the_changed_checks():
    earlier = build(with_statuses(train="failed", ping="inconclusive")).document()
    earlier["requirements"][0]["checks"].append({"check": "IMG-02:retired-check", "status": "passed"})
    now = [*with_statuses(ping="failed"), result("SERVE-04:ping-body-empty", "passed", "SHOULD")]
    compared = report.compare("old/report.json", earlier, now)
    assert compared["new_failures"] == [] and compared["fixed"] == [TRAIN]
    assert compared["new_checks"] == ["SERVE-04:ping-body-empty"]
    assert compared["changed"] == [
        {"check": TRAIN, "before": "failed", "after": "passed"},
        {"check": PING, "before": "inconclusive", "after": "failed"},
        {"check": "SERVE-04:ping-body-empty", "before": None, "after": "passed"},
        {"check": "IMG-02:retired-check", "before": "passed", "after": None}]
    assert compared["image"] == "acme/linear:1.2.0 (sha256:abababababab)"


@pytest.mark.parametrize("ping, gate", [("passed", Gate.PASSED), ("failed", Gate.FAILED)])
def test_the_new_failures_gate_passes_unless_a_check_that_passed_fails_now(ping, gate, tmp_path):
    earlier = build(with_statuses(train="failed")).document()  # TRAIN-15 failed then, and still does
    results = with_statuses(train="failed", ping=ping)
    built = build(results, baseline=report.compare("old/report.json", earlier, results), gate_on="new-failures")
    assert built.verdict is Verdict.NOT_CONFORMANT and built.gate is gate
    assert [r.check for r in built.deciding] == ([] if ping == "passed" else [PING])
    writers.write_bundle(built, tmp_path)
    summary = (tmp_path / "summary.md").read_text()
    assert "Gate (`--byoc-gate new-failures`)" in summary and "**Baseline:** against the baseline old/report.json" in \
        summary
    assert f'<property name="new_failures" value="{0 if ping == "passed" else 1}" />' in \
        (tmp_path / "junit.xml").read_text()
