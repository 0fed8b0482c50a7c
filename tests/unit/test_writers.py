"""The writers render a Report and only that: each sample in tests/unit/expected/*/ holds a run's catalogue, planned
checks, results and facts (input.json) and what the writers write from them (report.json, report.html, summary.md,
junit.xml and the terminal summary, markup included). Every byte must stay the same; a change of format rewrites
them on purpose (issue 27: the verdict and what decides the gate first, the status "waived")."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
from _pytest._io import TerminalWriter

from byoc_conformance import report, writers
from byoc_conformance.catalogue import Catalogue, Requirement
from byoc_conformance.report import CheckResult, FailOn, Gate, Report, Status, Verdict
from byoc_conformance.specs import SpecError
from byoc_conformance.writers import terminal

EXPECTED = Path(__file__).parent / "expected"
SAMPLES = sorted(path.name for path in EXPECTED.iterdir() if (path / "input.json").is_file())
BUNDLE = ("report.json", "report.html", "summary.md", "junit.xml")


def sample(name: str) -> tuple[Report, Path | None]:
    data = json.loads((EXPECTED / name / "input.json").read_text(encoding="utf-8"))
    catalogue = Catalogue(data["catalogue"]["version"],
                          {r["id"]: Requirement(**r) for r in data["catalogue"]["requirements"]})
    results = [CheckResult(**{**r, "status": Status(r["status"])}) for r in data["results"]]
    built = report.build(catalogue, dict(data["planned"]), results, fail_on=data["fail_on"], **data["metadata"])
    return built, Path(data["bundle"]) if data["bundle"] else None


class Terminal:
    """pytest's terminal reporter as far as the summary uses it, on a real TerminalWriter with markup (ANSI)."""

    def __init__(self) -> None:
        self.file = io.StringIO()
        self._tw = TerminalWriter(self.file)
        self._tw.hasmarkup, self._tw.fullwidth = True, 100

    def section(self, title: str, sep: str = "=", **markup: bool) -> None:
        self._tw.sep(sep, title, **markup)

    def write_line(self, line: str, **markup: bool) -> None:
        self._tw.line(line, **markup)


def test_there_are_samples_of_every_verdict():
    assert {sample(name)[0].verdict for name in SAMPLES} == set(Verdict)


@pytest.mark.parametrize("name", SAMPLES)
def test_the_bundle_is_written_byte_for_byte_as_before(tmp_path, name):
    built, _ = sample(name)
    assert writers.write_bundle(built, tmp_path / "bundle") == tmp_path / "bundle" / "report.json"
    for file in BUNDLE:
        assert (tmp_path / "bundle" / file).read_bytes() == (EXPECTED / name / file).read_bytes(), file


@pytest.mark.parametrize("name", SAMPLES)
def test_the_terminal_summary_is_written_byte_for_byte_as_before(name):
    built, bundle = sample(name)
    screen = Terminal()
    terminal.write(screen, built, bundle)
    assert screen.file.getvalue() == (EXPECTED / name / "terminal.txt").read_text(encoding="utf-8")


@pytest.mark.parametrize("name", SAMPLES)
def test_the_document_is_report_json_and_the_writers_render_it(name):
    built, _ = sample(name)
    document = built.document()
    assert json.loads((EXPECTED / name / "report.json").read_text(encoding="utf-8")) == document
    assert json.loads(writers.json.render(built)) == document
    # What the document says is what the model decided.
    assert (document["verdict"], document["gate"], document["fail_on"]) == (built.verdict, built.gate, built.fail_on)
    assert [type(value) for value in (document["verdict"], document["gate"], document["fail_on"])] == [str] * 3
    assert list(document["counts"]) == [status.value for status in Status]


def test_the_terminal_lists_every_check_in_the_planned_order_not_as_judged():
    built, _ = sample("not-conformant")
    data = json.loads((EXPECTED / "not-conformant" / "input.json").read_text(encoding="utf-8"))
    judged = [r["check"] for r in data["results"]]
    planned = [check for check, _ in data["planned"] if check in judged]
    assert judged != planned and [r.check for r in built.results] == planned
    opening = 1 + len(terminal.opening(built))  # the verdict and what decides it come first
    listed = terminal.lines(built)[opening:opening + len(planned)]
    assert [f" {check} (" in line for (line, _), check in zip(listed, planned)] == [True] * len(planned)
    assert terminal.lines(built)[0] == terminal.lines(built)[-1]  # the verdict opens and closes it
    assert terminal.lines(built)[-1][1] == {"red": True, "bold": True}


def test_a_document_that_does_not_match_the_schema_writes_nothing(tmp_path):
    built, _ = sample("conformant")
    broken = Report(**{**vars(built), "image": {**built.image, "id": "not a digest"}})
    with pytest.raises(SpecError, match="the report does not match report.schema.json"):
        writers.write_bundle(broken, tmp_path / "bundle")
    assert not (tmp_path / "bundle").exists()


def test_a_status_is_its_word():
    assert [str(status) for status in Status] == [
        "passed", "failed", "waived", "error", "inconclusive", "not applicable", "not checked"]
    assert Status("not applicable") is Status.NOT_APPLICABLE and Status.FAILED == "failed"
    assert f"{Status.ERROR:<8}|" == "error   |" and json.dumps([Status.INCONCLUSIVE]) == '["inconclusive"]'
    assert (str(Verdict.NOT_CONFORMANT), str(Gate.PASSED), str(FailOn.SHOULD)) == ("NOT CONFORMANT", "passed", "should")


def test_a_result_given_its_status_as_a_word_holds_the_status():
    result = CheckResult("IMG-02:x", "IMG-02", "MUST", "not applicable", "no", 0.0)  # type: ignore[arg-type]
    assert result.status is Status.NOT_APPLICABLE
    with pytest.raises(ValueError):
        CheckResult("IMG-02:x", "IMG-02", "MUST", "skipped", "no", 0.0)  # type: ignore[arg-type]


def test_the_verdicts_carry_statuses():
    from byoc_conformance.verdicts import Failed, Inconclusive, NotApplicable

    assert (Failed.status, Inconclusive.status, NotApplicable.status) == (
        Status.FAILED, Status.INCONCLUSIVE, Status.NOT_APPLICABLE)


def test_the_report_knows_why_it_stopped():
    built, _ = sample("not-conformant")
    assert built.interrupted == "the run was interrupted (Ctrl-C or SIGTERM) after 13 checks"
    assert sample("conformant")[0].interrupted is None and sample("inconclusive")[0].interrupted is None


PROFILE_RUN: report.ValidationProfile = {
    "profile": "reference-csv",
    "data": {"s3://byoc-samples/validation/training/": "1 object(s)"},
    "steps": [{"step": "training", "job": "reference-csv-training", "outcome": "`train` exited with code 0 after 1.2 s",
               "seconds": 1.2, "outputs": ["/r/validation/model.tar.gz"]},
              {"step": "transform", "job": "reference-csv-transform", "outcome": "1 of 1 input object(s) transformed",
               "seconds": 0.4, "outputs": ["/r/validation/batch.csv.out"]}],
    "not_observable": ["ResourceConfig.VolumeSizeInGB"],
}


def test_the_validation_profile_is_a_section_of_every_bundle_format(tmp_path):
    built, _ = sample(SAMPLES[0])
    with_profile = Report(**{**{f: getattr(built, f) for f in built.__dataclass_fields__}, "validation": PROFILE_RUN})
    writers.write_bundle(with_profile, tmp_path)  # report.json is checked against its schema first
    assert json.loads((tmp_path / "report.json").read_text())["validation_profile"] == PROFILE_RUN
    summary = (tmp_path / "summary.md").read_text()
    assert "## Validation profile `reference-csv`" in summary
    assert "| training | `reference-csv-training` | `train` exited with code 0 after 1.2 s | 1.2 | " \
           "`/r/validation/model.tar.gz` |" in summary
    assert "Set, and not observable offline: `ResourceConfig.VolumeSizeInGB`" in summary
    page = (tmp_path / "report.html").read_text()
    assert "<h2>Validation profile <code>reference-csv</code></h2>" in page
    assert "<td>reference-csv-transform</td><td>1 of 1 input object(s) transformed</td><td>0.4</td>" in page
