"""The certification report: one result record per requirement, the verdict and the CI gate, and the bundle
written from them (report.json, report.html, summary.md, junit.xml)."""

from __future__ import annotations

import hashlib
import html
import json
import xml.etree.ElementTree as ElementTree
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from . import specs
from .catalogue import Catalogue

SCHEMA_VERSION = 2  # 2: the status "error" and its count
NOT_RUN = "its checks did not run in this session (deselected or interrupted)"
AREA_TITLES = {
    "image": "Image", "training": "Training", "metrics": "Training metrics", "hosting": "Real-time hosting",
    "streaming": "Streaming", "batch": "Batch transform", "multi-model": "Multi-model endpoints",
    "pipelines": "Inference pipelines", "serverless": "Serverless and asynchronous", "marketplace": "AWS Marketplace",
}


@dataclass
class CheckResult:
    """What one check found."""

    check: str  # e.g. "TRAIN-17:sigterm-stops-training"
    requirement: str
    level: str  # the check's own level (a SHOULD part of a MUST requirement is SHOULD)
    status: str  # passed, failed, error (the harness itself broke), inconclusive, not applicable
    summary: str
    duration: float
    details: str | None = None  # the full message of a check that did not pass
    reproduce: str | None = None  # commands that repeat it


STATUSES = ("passed", "failed", "error", "inconclusive", "not applicable", "not checked")
RANK = {"INFO": 0, "MAY": 1, "SHOULD": 2, "MUST": 3}


def requirement_records(catalogue: Catalogue, planned: dict[str, str], results: list[CheckResult],
                        ) -> list[dict[str, Any]]:
    """One record per catalogue requirement. `planned` maps every registered check to its level. A record
    is judged on its checks at its own level or above (the MUST rules of a MAY capability the image
    claims); a failed check of a lower level (the SHOULD part of a MUST) is a warning."""
    records = []
    for requirement in catalogue.requirements.values():
        ran = [r for r in results if r.requirement == requirement.id]
        own = [r for r in ran if RANK[r.level] >= RANK[requirement.level]]
        expected_here = [c for c, level in planned.items()
                         if c.split(":")[0] == requirement.id and RANK[level] >= RANK[requirement.level]]
        statuses = {r.status for r in own}
        reason = None
        if not expected_here and not own:
            status = "not checked"
            reason = requirement.unchecked_reason or "informational: a fact the harness relies on, not a check"
        elif "failed" in statuses:
            status = "failed"
        elif any(r.status == "error" for r in ran):  # a harness error leaves no part of it judged
            status = "error"
        elif "inconclusive" in statuses:
            status = "inconclusive"
        elif len(own) < len(expected_here):
            status, reason = "not checked", NOT_RUN
        elif statuses == {"not applicable"}:
            status = "not applicable"
        else:
            status = "passed"
        records.append({
            "id": requirement.id, "area": requirement.area, "level": requirement.level,
            "statement": requirement.statement, "source": requirement.source, "status": status,
            "duration": round(sum(r.duration for r in ran), 3),
            "warnings": [r.check for r in ran if RANK[r.level] < RANK[requirement.level] and r.status == "failed"],
            "reason": reason, "decision": requirement.decision,
            "checks": [{**asdict(r), "duration": round(r.duration, 3)} for r in ran],
        })
    return records


def verdict(results: list[CheckResult], planned: dict[str, str]) -> str:
    """CONFORMANT when every MUST-level check passed or does not apply. A failed one makes it NOT
    CONFORMANT; one that was inconclusive or did not run leaves it INCONCLUSIVE, never CONFORMANT, and so
    does a harness error in any check, whatever its level."""
    musts = [r for r in results if r.level == "MUST"]
    if any(r.status == "failed" for r in musts):
        return "NOT CONFORMANT"
    not_run = {c for c, level in planned.items() if level == "MUST"} - {r.check for r in results}
    if not_run or any(r.status == "inconclusive" for r in musts) or any(r.status == "error" for r in results):
        return "INCONCLUSIVE"
    return "CONFORMANT"


def warnings(records: list[dict[str, Any]]) -> list[str]:
    """SHOULD-level failures: failed SHOULD requirements and failed SHOULD parts of MUST requirements."""
    found = []
    for record in records:
        failed = {c["check"]: c for c in record["checks"] if c["status"] == "failed" and c["level"] == "SHOULD"}
        found += [f"{name}: {check['summary']}" for name, check in failed.items()]
    return found


def gate_passes(report: dict[str, Any]) -> bool:
    """The CI gate: the verdict is CONFORMANT, and under --byoc-fail-on should there are no warnings."""
    return report["verdict"] == "CONFORMANT" and (report["fail_on"] == "must" or not report["warnings"])


def build(catalogue: Catalogue, planned: dict[str, str], results: list[CheckResult], *, fail_on: str,
          metadata: dict[str, Any]) -> dict[str, Any]:
    records = requirement_records(catalogue, planned, results)
    counts = {status: 0 for status in STATUSES}
    for record in records:
        counts[record["status"]] += 1
    report = {
        "schema_version": SCHEMA_VERSION,
        "verdict": verdict(results, planned),
        "fail_on": fail_on,
        "warnings": warnings(records),
        "counts": counts,
        **metadata,
        "requirements": records,
    }
    report["gate"] = "passed" if gate_passes(report) else "failed"
    return report


def write_bundle(report: dict[str, Any], directory: Path) -> Path:
    """Writes report.json (checked against specs/report.schema.json first), report.html, summary.md and
    junit.xml into `directory`; returns the path of report.json."""
    specs.validate(report, "report.schema.json", "the report")
    directory.mkdir(parents=True, exist_ok=True)
    document = (json.dumps(report, indent=2, ensure_ascii=False) + "\n").encode()
    (directory / "report.json").write_bytes(document)
    digest = hashlib.sha256(document).hexdigest()
    (directory / "summary.md").write_text(markdown_summary(report, digest), encoding="utf-8")
    (directory / "report.html").write_text(html_report(report, digest), encoding="utf-8")
    (directory / "junit.xml").write_bytes(junit_xml(report))
    return directory / "report.json"


# --- summary.md ------------------------------------------------------------------------------------------

VERDICT_MARKS = {"CONFORMANT": "✅", "NOT CONFORMANT": "❌", "INCONCLUSIVE": "⚠️"}


def markdown_summary(report: dict[str, Any], digest: str) -> str:
    image, counts = report["image"], report["counts"]
    lines = [
        f"## SageMaker BYOC conformance: {report['verdict']} {VERDICT_MARKS[report['verdict']]}",
        "",
        f"Image `{image['reference']}` (`{image['id'][:19]}`), byoc-conformance {report['harness']['version']}, "
        f"catalogue {report['harness']['catalogue_version']}. Gate (`--byoc-fail-on {report['fail_on']}`): "
        f"**{report['gate']}**.",
        *(["", f"**Interrupted:** {report['run']['interrupted']}; what it did not reach is not checked."]
          if report["run"].get("interrupted") else []),
        "",
        "| " + " | ".join(STATUSES) + " |",
        "|" + "---:|" * len(STATUSES),
        "| " + " | ".join(str(counts[s]) for s in STATUSES) + " |",
    ]
    for title, status in (("Failed (MUST)", "failed"), ("Harness errors (not a verdict on the image)", "error"),
                          ("Inconclusive", "inconclusive")):
        # A failed SHOULD is listed once, under the warnings.
        listed = [r for r in report["requirements"] if r["status"] == status and (
            status != "failed" or r["level"] == "MUST")]
        if listed:
            lines += ["", f"**{title}:**"]
            lines += [f"- {r['id']} ({r['level']}): {_first_summary(r, status)}" for r in listed]
    if report["warnings"]:
        lines += ["", "**Warnings (SHOULD):**", *(f"- {warning}" for warning in report["warnings"])]
    if report.get("metrics"):
        lines += ["", f"**Training metrics (declared, as emitted):** {_metrics_line(report['metrics'])}"]
    lines += ["", f"report.json SHA-256: `{digest}`", ""]
    return "\n".join(lines)


def _metrics_line(series: list[dict[str, Any]]) -> str:
    return ", ".join(f"{m['name']} {m['count']} values" + (f", last {m['values'][-1]:g}" if m["values"] else "")
                     for m in series)


def _first_summary(record: dict[str, Any], status: str) -> str:
    return next((c["summary"] for c in record["checks"] if c["status"] == status), record.get("reason") or "")


# --- junit.xml -------------------------------------------------------------------------------------------

def junit_xml(report: dict[str, Any]) -> bytes:
    """One test case per check that ran, and one per requirement whose checks did not run, with the
    requirement ID, level and status as properties. Requirements the harness has no check for are in
    report.json and report.html only."""
    cases = []
    for record in report["requirements"]:
        checks = record["checks"] or ([None] if record["reason"] == NOT_RUN else [])
        cases += [(record, check) for check in checks]
    suite = ElementTree.Element("testsuite", {
        "name": "byoc-conformance", "tests": str(len(cases)),
        "errors": str(sum(1 for _, c in cases if c and c["status"] == "error")),
        "failures": str(sum(1 for _, c in cases if c and c["status"] == "failed")),
        "skipped": str(sum(1 for _, c in cases if not c or c["status"] not in ("passed", "failed", "error"))),
        "time": f"{sum(c['duration'] for _, c in cases if c):.3f}", "timestamp": report["run"]["started"],
    })
    properties = ElementTree.SubElement(suite, "properties")
    run_properties = {"verdict": report["verdict"], "gate": report["gate"], "image": report["image"]["reference"],
                      "image_id": report["image"]["id"], "catalogue_version": report["harness"]["catalogue_version"]}
    for name, value in run_properties.items():
        ElementTree.SubElement(properties, "property", {"name": name, "value": value})
    for record, check in cases:
        name = check["check"] if check else f"{record['id']}:not-run"
        case = ElementTree.SubElement(suite, "testcase", {
            "classname": f"byoc-conformance.{record['area']}", "name": name,
            "time": f"{check['duration']:.3f}" if check else "0.000",
        })
        status = check["status"] if check else "not checked"
        case_properties = ElementTree.SubElement(case, "properties")
        for key, value in (("requirement", record["id"]), ("level", check["level"] if check else record["level"]),
                           ("status", status)):
            ElementTree.SubElement(case_properties, "property", {"name": key, "value": value})
        if status in ("failed", "error"):
            element = "failure" if status == "failed" else "error"
            failure = ElementTree.SubElement(case, element, {"message": check["summary"], "type": record["level"]})
            failure.text = check["details"]
        elif status != "passed":
            reason = check["summary"] if check else record["reason"]
            ElementTree.SubElement(case, "skipped", {"message": f"{status}: {reason}"})
    root = ElementTree.Element("testsuites")
    root.append(suite)
    ElementTree.indent(root)
    return ElementTree.tostring(root, encoding="utf-8", xml_declaration=True) + b"\n"


# --- report.html -----------------------------------------------------------------------------------------

STYLE = """
body { font: 15px/1.45 system-ui, sans-serif; color: #1d2733; background: #eef1f4; margin: 0; }
main { max-width: 1060px; margin: 2rem auto; background: #fff; border: 1px solid #d5dbe1; padding: 2.5rem 3rem; }
header { border: 3px double #8a97a6; padding: 1.5rem 2rem; text-align: center; margin-bottom: 2rem; }
header h1 { margin: 0; font-size: 1.1rem; letter-spacing: .12em; text-transform: uppercase; color: #52606d; }
.verdict { font-size: 2.4rem; font-weight: 700; margin: .6rem 0; letter-spacing: .04em; }
.CONFORMANT { color: #1a7f37; } .NOT-CONFORMANT { color: #b42318; } .INCONCLUSIVE { color: #b54708; }
dl.facts { display: grid; grid-template-columns: max-content 1fr; gap: .2rem 1.2rem; text-align: left;
  max-width: 760px; margin: 1.2rem auto 0; font-size: .9rem; }
dl.facts dt { color: #52606d; } dl.facts dd { margin: 0; word-break: break-all; }
table { width: 100%; border-collapse: collapse; margin: .5rem 0 1.5rem; }
th, td { text-align: left; padding: .45rem .5rem; border-bottom: 1px solid #e3e8ed; vertical-align: top; }
th { font-size: .8rem; text-transform: uppercase; color: #52606d; }
td:first-child { width: 46%; } td:last-child { width: 36%; }
.status { font-weight: 600; white-space: nowrap; }
.passed { color: #1a7f37; } .failed, .error { color: #b42318; } .inconclusive { color: #b54708; }
.not-applicable, .not-checked { color: #6b7785; }
details summary { cursor: pointer; color: #2f5f8f; }
pre { background: #f6f8fa; padding: .7rem; overflow-x: auto; font-size: .8rem; white-space: pre-wrap; }
footer { margin-top: 2rem; font-size: .8rem; color: #52606d; border-top: 1px solid #e3e8ed; padding-top: 1rem; }
code { font-size: .85em; }
"""


def html_report(report: dict[str, Any], digest: str) -> str:
    e = html.escape
    image, product, run = report["image"], report["product"], report["run"]
    facts = [
        ("Product", " ".join(p for p in (product.get("vendor"), product.get("name"), product.get("version")) if p)
         or "not given"),
        ("Image", image["reference"]), ("Image ID", image["id"]),
        ("Digests", ", ".join(image["digests"]) or "none (built locally)"),
        ("Platform", f"{image['os']}/{image['architecture']}, {image['size'] / 1e6:.0f} MB"),
        ("Harness", "byoc-conformance {version}, catalogue {catalogue_version}, Docker engine {docker_engine}"
                    .format(**report["harness"])),
        ("Run", f"{run['started']} to {run['ended']}, seed {run['seed']}, run {run['id']}"
                + (f"; INTERRUPTED: {run['interrupted']}" if run.get("interrupted") else "")),
        ("Limits", "each container: {memory_mb} MiB memory, {pids} processes; servers' network: {network}"
                   .format(**run["limits"]) if run.get("limits") else "not recorded"),
        ("Gate", f"--byoc-fail-on {report['fail_on']}: {report['gate']}"),
        ("Declaration", report.get("declaration", {}).get("summary", "not recorded")),
    ]
    if report.get("metrics"):
        facts.append(("Training metrics", _metrics_line(report["metrics"])))
    counts = ", ".join(f"{n} {s}" for s, n in report["counts"].items())
    parts = [
        "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>",
        f"<title>{e(report['verdict'])}: {e(image['reference'])} (SageMaker BYOC conformance)</title>",
        f"<style>{STYLE}</style></head><body><main>",
        "<header><h1>SageMaker bring-your-own-container conformance</h1>",
        f"<div class='verdict {report['verdict'].replace(' ', '-')}'>{e(report['verdict'])}</div>",
        f"<div>{e(counts)}</div><dl class='facts'>",
        *(f"<dt>{e(k)}</dt><dd>{e(v)}</dd>" for k, v in facts),
        "</dl></header>",
    ]
    if report["warnings"]:
        parts += ["<h2>Warnings (SHOULD)</h2><ul>", *(f"<li>{e(w)}</li>" for w in report["warnings"]), "</ul>"]
    checked = [r for r in report["requirements"] if r["checks"]]
    for area, title in AREA_TITLES.items():
        rows = [r for r in checked if r["area"] == area]
        if rows:
            parts += [f"<h2>{e(title)}</h2>", _table(rows)]
    unchecked = [r for r in report["requirements"] if not r["checks"]]
    parts += [f"<details><summary><h2 style='display:inline'>Not checked in this run ({len(unchecked)})</h2>"
              "</summary>", _table(unchecked), "</details>"]
    parts += [f"<footer>SHA-256 of report.json: <code>{digest}</code><br>Options: <code>"
              f"{e(json.dumps(run['options']))}</code></footer></main></body></html>"]
    return "\n".join(parts)


def _table(records: Iterable[dict[str, Any]]) -> str:
    e = html.escape
    rows = ["<table><tr><th>Requirement</th><th>Level</th><th>Status</th><th>Evidence</th></tr>"]
    for r in records:
        evidence = "".join(
            f"<details><summary>{e(c['check'].split(':', 1)[1])}: <span class='{c['status'].replace(' ', '-')}'>"
            f"{e(c['status'])}</span> ({c['duration']:.2f} s)</summary><p>{e(c['summary'])}</p>"
            + (f"<pre>{e(c['details'])}</pre>" if c["details"] else "") + "</details>"
            for c in r["checks"]
        ) or f"<p>{e(r['reason'] or '')}</p>"
        rows.append(
            f"<tr><td><a href='{e(r['source'])}'><b>{e(r['id'])}</b></a><br>{e(r['statement'])}</td>"
            f"<td>{e(r['level'])}</td><td class='status {r['status'].replace(' ', '-')}'>{e(r['status'])}</td>"
            f"<td>{evidence}</td></tr>"
        )
    return "\n".join(rows) + "</table>"
