"""junit.xml: the checks as test cases, for CI systems that show JUnit results."""

from __future__ import annotations

import xml.etree.ElementTree as ElementTree

from ..report import NOT_RUN, CheckResult, Report, RequirementRecord, Status

SKIPPED = frozenset(Status) - {Status.PASSED, Status.FAILED, Status.ERROR}


def render(report: Report) -> bytes:
    """One test case per check that ran, and one per requirement whose checks did not run, with the
    requirement ID, level and status as properties. Requirements the harness has no check for are in
    report.json and report.html only."""
    cases: list[tuple[RequirementRecord, CheckResult | None]] = []
    for record in report.requirements:
        checks: tuple[CheckResult | None, ...] = record.checks or ((None,) if record.reason == NOT_RUN else ())
        cases += [(record, check) for check in checks]
    suite = ElementTree.Element("testsuite", {
        "name": "byoc-conformance", "tests": str(len(cases)),
        "errors": str(sum(1 for _, c in cases if c and c.status is Status.ERROR)),
        "failures": str(sum(1 for _, c in cases if c and c.status is Status.FAILED)),
        "skipped": str(sum(1 for _, c in cases if not c or c.status in SKIPPED)),
        "time": f"{sum(c.duration for _, c in cases if c):.3f}", "timestamp": report.run["started"],
    })
    properties = ElementTree.SubElement(suite, "properties")
    run_properties = {"verdict": report.verdict.value, "gate": report.gate.value, "waivers": str(len(report.waivers)),
                      "image": report.image["reference"], "image_id": report.image["id"],
                      "catalogue_version": report.harness["catalogue_version"]}
    if report.baseline is not None:
        run_properties["new_failures"] = str(len(report.baseline["new_failures"]))
    for name, value in run_properties.items():
        ElementTree.SubElement(properties, "property", {"name": name, "value": value})
    for record, check in cases:
        _case(suite, record, check)
    root = ElementTree.Element("testsuites")
    root.append(suite)
    ElementTree.indent(root)
    return ElementTree.tostring(root, encoding="utf-8", xml_declaration=True) + b"\n"


def _case(suite: ElementTree.Element, record: RequirementRecord, check: CheckResult | None) -> None:
    """A check's test case, or (`check` None) that of a requirement whose checks did not run."""
    case = ElementTree.SubElement(suite, "testcase", {
        "classname": f"byoc-conformance.{record.area}", "name": check.check if check else f"{record.id}:not-run",
        "time": f"{check.duration:.3f}" if check else "0.000",
    })
    status = check.status if check else Status.NOT_CHECKED
    case_properties = ElementTree.SubElement(case, "properties")
    for key, value in (("requirement", record.id), ("level", check.level if check else record.level),
                       ("status", status.value)):
        ElementTree.SubElement(case_properties, "property", {"name": key, "value": value})
    if check and status in (Status.FAILED, Status.ERROR):
        element = "failure" if status is Status.FAILED else "error"
        failure = ElementTree.SubElement(case, element, {"message": check.summary, "type": record.level})
        failure.text = check.details
    elif status is not Status.PASSED:
        reason = check.summary if check else record.reason
        if check and status is Status.WAIVED:  # skipped with the waiver's reason, never a pass
            reason = f"{check.waiver}: {reason}"
        ElementTree.SubElement(case, "skipped", {"message": f"{status}: {reason}"})
