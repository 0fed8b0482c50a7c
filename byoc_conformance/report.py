"""The certification report as a model: what each check found (CheckResult), one record per requirement
(RequirementRecord), and the Report they make, which decides the verdict, the warnings, the counts and the CI gate.
The writers in byoc_conformance/writers/ only render a Report (report.json, report.html, summary.md, junit.xml,
the terminal summary); Report.document() is report.json's document, checked against specs/report.schema.json."""

from __future__ import annotations

import enum
import sys
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any, TypedDict

from .catalogue import Catalogue

if sys.version_info >= (3, 11):
    from enum import StrEnum
else:  # pragma: no cover - Python 3.10: what enum.StrEnum is from 3.11 on

    class StrEnum(str, enum.Enum):
        def __str__(self) -> str:
            return str.__str__(self)

        def __format__(self, spec: str) -> str:
            return str.__format__(str(self), spec)


SCHEMA_VERSION = 3  # 2: the status "error" and its count; 3: "waived", waivers, the baseline comparison
NOT_RUN = "its checks did not run in this session (deselected or interrupted)"
INFORMATIONAL = "informational: a fact the harness relies on, not a check"
RANK = {"INFO": 0, "MAY": 1, "SHOULD": 2, "MUST": 3}


class Status(StrEnum):
    """What a check found, or what a requirement is judged to be; the value is the word report.json holds (a
    Status compares equal to it, and formats as it)."""

    PASSED = "passed"
    FAILED = "failed"
    WAIVED = "waived"  # failed, and a waiver covers it: reported with its reason, and the gate passes over it
    ERROR = "error"  # the harness itself broke: not a verdict on the image
    INCONCLUSIVE = "inconclusive"
    NOT_APPLICABLE = "not applicable"
    NOT_CHECKED = "not checked"  # a requirement's only: it has no check, or its checks did not run


class Verdict(StrEnum):
    """The verdict on the image (see `verdict`)."""

    CONFORMANT = "CONFORMANT"
    NOT_CONFORMANT = "NOT CONFORMANT"
    INCONCLUSIVE = "INCONCLUSIVE"


class Gate(StrEnum):
    """The CI gate, the run's exit status: passed is 0 (see `gate`)."""

    PASSED = "passed"
    FAILED = "failed"


class GateOn(StrEnum):
    """--byoc-gate: what the gate is decided on."""

    VERDICT = "verdict"  # the verdict (and --byoc-fail-on)
    NEW_FAILURES = "new-failures"  # against --byoc-baseline: no check that passed there fails now


class FailOn(StrEnum):
    """--byoc-fail-on: what fails the gate besides a verdict other than CONFORMANT."""

    MUST = "must"
    SHOULD = "should"  # also a failed SHOULD (a warning)


@dataclass
class CheckResult:
    """What one check found."""

    check: str  # e.g. "TRAIN-17:sigterm-stops-training"
    requirement: str
    level: str  # the check's own level (a SHOULD part of a MUST requirement is SHOULD)
    status: Status  # passed, failed, error, inconclusive, not applicable (never not checked)
    summary: str
    duration: float
    details: str | None = None  # the full message of a check that did not pass
    reproduce: str | None = None  # commands that repeat it
    waiver: str | None = None  # a waived failure: the waiver's reason (and end date); an expired one's, on a failure

    def __post_init__(self) -> None:
        self.status = Status(self.status)  # a status given as its word is the same status

    def document(self) -> dict[str, Any]:
        """As report.json holds it: the duration to the millisecond."""
        return {"check": self.check, "requirement": self.requirement, "level": self.level,
                "status": self.status.value, "summary": self.summary, "duration": round(self.duration, 3),
                "details": self.details, "reproduce": self.reproduce, "waiver": self.waiver}

    def headline(self) -> str:
        """One line: the check, its level, what was observed and the first step of its reproduction."""
        lines = (self.reproduce or "").strip().splitlines()
        first = lines[0].removesuffix("\\").strip() if lines else ""  # the first command, cut where it goes on
        cut = len(lines) > 1 or len(first) > 100
        step = f" (reproduce: {first[:100]}{' ...' if cut else ''})" if first else ""
        observed = self.summary.splitlines()[0] if self.summary else ""
        return f"{self.check} ({self.level}): {observed[:300]}{'...' if len(observed) > 300 else ''}{step}"


@dataclass(frozen=True)
class RequirementRecord:
    """One catalogue requirement, judged on the checks of it that ran (see `requirement_records`)."""

    id: str
    area: str
    level: str
    statement: str
    source: str
    status: Status
    duration: float  # of its checks, in seconds to the millisecond (0 when none ran)
    warnings: tuple[str, ...]  # its checks below its level that failed (the SHOULD parts of a MUST)
    reason: str | None  # why it is not checked, when it is not
    decision: str | None
    checks: tuple[CheckResult, ...]  # as reported: each duration to the millisecond

    def document(self) -> dict[str, Any]:
        return {"id": self.id, "area": self.area, "level": self.level, "statement": self.statement,
                "source": self.source, "status": self.status.value, "duration": self.duration,
                "warnings": list(self.warnings), "reason": self.reason, "decision": self.decision,
                "checks": [check.document() for check in self.checks]}


# The facts of the run a report carries as given, rendered and written as they are (report.schema.json).

class Product(TypedDict):
    vendor: str | None
    name: str | None
    version: str | None


class _Image(TypedDict):
    reference: str
    id: str
    digests: list[str]
    labels: dict[str, str]
    os: str
    architecture: str
    size: int


class Image(_Image, total=False):
    inference_image: str  # only when hosting is checked on another image (--byoc-inference-image)


class HarnessFacts(TypedDict):
    version: str
    catalogue_version: str
    docker_engine: str


class Limits(TypedDict):
    memory_mb: int
    pids: int
    network: str


class _Run(TypedDict):
    id: str
    started: str
    ended: str
    seed: int
    options: dict[str, Any]


class Run(_Run, total=False):
    interrupted: str | None
    limits: Limits


class Declaration(TypedDict):
    source: str | None
    summary: str


class MetricSeries(TypedDict):
    name: str
    count: int
    values: list[float]


class WaiverRecord(TypedDict):
    """A waiver and what came of it: applied (it waived failures), expired (past its date: they failed), stale (the
    checks it covers ran and none failed), or not run (none of them ran)."""

    id: str
    reason: str
    until: str | None
    source: str
    state: str
    checks: list[str]  # the failures it waived (applied) or would have (expired)


class StatusChange(TypedDict):
    check: str
    before: str | None  # None: the check is new in this harness version
    after: str | None  # None: it did not run in this run


class Baseline(TypedDict):
    """This run against an earlier report (--byoc-baseline)."""

    source: str
    image: str  # the earlier report's image reference and ID
    new_failures: list[str]  # passed there, failed here: what --byoc-gate new-failures fails on
    fixed: list[str]  # failed there, not here
    changed: list[StatusChange]  # every check whose status is not the same (new checks included)
    new_checks: list[str]  # not in the earlier report


class ProfileStep(TypedDict):
    step: str  # training | transform
    job: str
    outcome: str
    seconds: float
    outputs: list[str]  # local paths of what the step wrote (model.tar.gz, the .out objects)


class ValidationProfile(TypedDict):
    """The validation profile's run, for the seller to attach to the listing (MKT-02)."""

    profile: str
    data: dict[str, str]  # each data source's S3 URI -> what it resolved to
    steps: list[ProfileStep]
    not_observable: list[str]  # fields set that have no effect a container can see offline


@dataclass(frozen=True)
class Report:
    """One run's report. Built by `build`, which decides everything in it; rendered by the writers."""

    verdict: Verdict
    fail_on: FailOn
    warnings: tuple[str, ...]
    counts: dict[Status, int]  # requirements per status, every status, in Status's order
    product: Product
    image: Image
    harness: HarnessFacts
    run: Run
    requirements: tuple[RequirementRecord, ...]
    gate: Gate
    declaration: Declaration | None = None
    metrics: list[MetricSeries] | None = None
    validation: ValidationProfile | None = None
    waivers: list[WaiverRecord] = field(default_factory=list)
    baseline: Baseline | None = None
    gate_on: GateOn = GateOn.VERDICT
    strict_waivers: bool = False
    # Every check's result, in the order the checks were planned (the catalogue's): the terminal lists them so.
    results: tuple[CheckResult, ...] = field(default=(), compare=False)

    @property
    def interrupted(self) -> str | None:
        """Why the run stopped before its end, if it did."""
        return self.run.get("interrupted")

    def document(self) -> dict[str, Any]:
        """report.json's document (specs/report.schema.json)."""
        document: dict[str, Any] = {
            "schema_version": SCHEMA_VERSION,
            "verdict": self.verdict.value,
            "fail_on": self.fail_on.value,
            "warnings": list(self.warnings),
            "counts": {status.value: count for status, count in self.counts.items()},
            "product": self.product,
            "image": self.image,
            "harness": self.harness,
            "run": self.run,
        }
        if self.declaration is not None:
            document["declaration"] = self.declaration
        if self.metrics is not None:
            document["metrics"] = self.metrics
        if self.validation is not None:
            document["validation_profile"] = self.validation
        document["waivers"] = self.waivers
        if self.baseline is not None:
            document["baseline"] = self.baseline
        document["requirements"] = [record.document() for record in self.requirements]
        document["gate"] = self.gate.value
        document["gate_on"] = self.gate_on.value
        return document

    @property
    def deciding(self) -> list[CheckResult]:
        """The failures that decide the gate, in the planned order: under --byoc-gate new-failures the new ones;
        else every failed MUST check (and SHOULD under --byoc-fail-on should) and every harness error."""
        if self.gate_on is GateOn.NEW_FAILURES:
            new = set(self.baseline["new_failures"] if self.baseline else ())
            return [r for r in self.results if r.check in new]
        levels = {"MUST", "SHOULD"} if self.fail_on is FailOn.SHOULD else {"MUST"}
        return [r for r in self.results
                if (r.status is Status.FAILED and r.level in levels) or r.status is Status.ERROR]

    @property
    def listed_warnings(self) -> tuple[str, ...]:
        """The warnings to list on their own: none where they are among the failures that decide the gate."""
        return () if self.fail_on is FailOn.SHOULD and self.gate_on is GateOn.VERDICT else self.warnings

    @property
    def unobserved(self) -> list[CheckResult]:
        """The inconclusive MUST checks: each keeps the run from CONFORMANT."""
        return [r for r in self.results if r.status is Status.INCONCLUSIVE and r.level == "MUST"]

    @property
    def stale_waivers(self) -> list[WaiverRecord]:
        return [w for w in self.waivers if w["state"] == "stale"]


def requirement_records(catalogue: Catalogue, planned: Mapping[str, str], results: Iterable[CheckResult],
                        ) -> list[RequirementRecord]:
    """One record per catalogue requirement. `planned` maps every registered check to its level. A record
    is judged on its checks at its own level or above (the MUST rules of a MAY capability the image
    claims); a failed check of a lower level (the SHOULD part of a MUST) is a warning."""
    results = list(results)
    records = []
    for requirement in catalogue.requirements.values():
        ran = [r for r in results if r.requirement == requirement.id]
        own = [r for r in ran if RANK[r.level] >= RANK[requirement.level]]
        expected_here = [c for c, level in planned.items()
                         if c.split(":")[0] == requirement.id and RANK[level] >= RANK[requirement.level]]
        statuses = {r.status for r in own}
        reason = None
        if not expected_here and not own:
            status = Status.NOT_CHECKED
            reason = requirement.unchecked_reason or INFORMATIONAL
        elif Status.FAILED in statuses:
            status = Status.FAILED
        elif any(r.status is Status.ERROR for r in ran):  # a harness error leaves no part of it judged
            status = Status.ERROR
        elif Status.INCONCLUSIVE in statuses:
            status = Status.INCONCLUSIVE
        elif Status.WAIVED in statuses:
            status = Status.WAIVED
        elif len(own) < len(expected_here):
            status, reason = Status.NOT_CHECKED, NOT_RUN
        elif statuses == {Status.NOT_APPLICABLE}:
            status = Status.NOT_APPLICABLE
        else:
            status = Status.PASSED
        records.append(RequirementRecord(
            id=requirement.id, area=requirement.area, level=requirement.level, statement=requirement.statement,
            source=requirement.source, status=status, duration=round(sum(r.duration for r in ran), 3),
            warnings=tuple(r.check for r in ran
                           if RANK[r.level] < RANK[requirement.level] and r.status is Status.FAILED),
            reason=reason, decision=requirement.decision,
            checks=tuple(replace(r, duration=round(r.duration, 3)) for r in ran),
        ))
    return records


def verdict(results: Iterable[CheckResult], planned: Mapping[str, str]) -> Verdict:
    """CONFORMANT when every MUST-level check passed or does not apply. A failed one makes it NOT
    CONFORMANT; one that was inconclusive or did not run leaves it INCONCLUSIVE, never CONFORMANT, and so
    does a harness error in any check, whatever its level."""
    results = list(results)
    musts = [r for r in results if r.level == "MUST"]
    if any(r.status is Status.FAILED for r in musts):
        return Verdict.NOT_CONFORMANT
    not_run = {c for c, level in planned.items() if level == "MUST"} - {r.check for r in results}
    if not_run or any(r.status is Status.INCONCLUSIVE for r in musts) \
            or any(r.status is Status.ERROR for r in results):
        return Verdict.INCONCLUSIVE
    return Verdict.CONFORMANT


def warnings(records: Iterable[RequirementRecord]) -> list[str]:
    """SHOULD-level failures: failed SHOULD requirements and failed SHOULD parts of MUST requirements."""
    found = []
    for record in records:
        failed = {c.check: c for c in record.checks if c.status is Status.FAILED and c.level == "SHOULD"}
        found += [f"{name}: {check.summary}" for name, check in failed.items()]
    return found


def gate(decided: Verdict, fail_on: FailOn, warned: Iterable[str], *, gate_on: GateOn = GateOn.VERDICT,
         baseline: Baseline | None = None, stale_waivers: int = 0) -> Gate:
    """The CI gate: the verdict is CONFORMANT, and under --byoc-fail-on should there are no warnings; under
    --byoc-gate new-failures, no check that passed in the baseline fails now. Under --byoc-strict-waivers a stale
    waiver fails it either way."""
    if gate_on is GateOn.NEW_FAILURES:
        passes = baseline is not None and not baseline["new_failures"]
    else:
        passes = decided is Verdict.CONFORMANT and (fail_on is FailOn.MUST or not list(warned))
    return Gate.PASSED if passes and not stale_waivers else Gate.FAILED


def compare(source: str, earlier: Mapping[str, Any], results: Iterable[CheckResult]) -> Baseline:
    """This run's check statuses against those of an earlier report.json's document."""
    before = {check["check"]: check["status"] for record in earlier.get("requirements", [])
              for check in record.get("checks", [])}
    now = {result.check: result.status.value for result in results}
    image = earlier.get("image", {})
    changed: list[StatusChange] = [{"check": check, "before": before.get(check), "after": now.get(check)}
                                   for check in [*now, *(c for c in before if c not in now)]
                                   if before.get(check) != now.get(check)]
    return {
        "source": source, "image": f"{image.get('reference', '?')} ({str(image.get('id', '?'))[:19]})",
        "new_failures": [c for c, s in now.items() if s == Status.FAILED and before.get(c) == Status.PASSED],
        "fixed": [c for c, s in before.items()
                  if s == Status.FAILED and now.get(c) not in (None, Status.FAILED, Status.WAIVED)],
        "changed": changed, "new_checks": [c for c in now if c not in before],
    }


def build(catalogue: Catalogue, planned: Mapping[str, str], results: Iterable[CheckResult], *, fail_on: str,
          product: Product, image: Image, harness: HarnessFacts, run: Run, declaration: Declaration | None = None,
          metrics: list[MetricSeries] | None = None, validation: ValidationProfile | None = None,
          waivers: list[WaiverRecord] | None = None, baseline: Baseline | None = None,
          gate_on: str = "verdict", strict_waivers: bool = False) -> Report:
    """The report of a run: `planned` maps every registered check to its level, in the order the checks are listed
    (the catalogue's); `results` are those of the checks that ran."""
    results = list(results)
    records = requirement_records(catalogue, planned, results)
    counts = dict.fromkeys(Status, 0)
    for record in records:
        counts[record.status] += 1
    decided, warned, threshold = verdict(results, planned), warnings(records), FailOn(fail_on)
    order = {check: n for n, check in enumerate(planned)}
    waivers = waivers or []
    stale = sum(1 for w in waivers if w["state"] == "stale") if strict_waivers else 0
    decided_gate = gate(decided, threshold, warned, gate_on=GateOn(gate_on), baseline=baseline, stale_waivers=stale)
    return Report(
        verdict=decided, fail_on=threshold, warnings=tuple(warned), counts=counts, product=product, image=image,
        harness=harness, run=run, requirements=tuple(records), gate=decided_gate,
        declaration=declaration, metrics=metrics, validation=validation, waivers=waivers, baseline=baseline,
        gate_on=GateOn(gate_on), strict_waivers=strict_waivers,
        results=tuple(sorted(results, key=lambda result: order.get(result.check, len(order)))),
    )
