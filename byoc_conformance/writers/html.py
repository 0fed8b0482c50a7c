"""report.html: the certificate a person reads, with the evidence of every check."""

from __future__ import annotations

import html
import json
from collections.abc import Iterable

from ..report import GateOn, Report, RequirementRecord
from .markdown import metrics_line
from .terminal import baseline_line, waiver_lines

AREA_TITLES = {
    "image": "Image", "training": "Training", "metrics": "Training metrics", "hosting": "Real-time hosting",
    "streaming": "Streaming", "batch": "Batch transform", "multi-model": "Multi-model endpoints",
    "pipelines": "Inference pipelines", "serverless": "Serverless and asynchronous", "marketplace": "AWS Marketplace",
}

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
.opening { text-align: left; max-width: 900px; margin: 1rem auto; } .opening h2 { font-size: 1rem; margin: .4rem 0; }
.opening ul { margin: 0; padding-left: 1.2rem; font-size: .9rem; } .opening ul.failed li { color: #b42318; }
.opening ul.inconclusive li { color: #b54708; } .waived { color: #6b7785; }
footer { margin-top: 2rem; font-size: .8rem; color: #52606d; border-top: 1px solid #e3e8ed; padding-top: 1rem; }
code { font-size: .85em; }
"""


def render(report: Report, digest: str) -> str:
    """report.html, which names report.json by its SHA-256 (`digest`)."""
    e = html.escape
    image, product, run = report.image, report.product, report.run
    facts = [
        ("Product", " ".join(p for p in (product.get("vendor"), product.get("name"), product.get("version")) if p)
         or "not given"),
        ("Image", image["reference"]), ("Image ID", image["id"]),
        ("Digests", ", ".join(image["digests"]) or "none (built locally)"),
        ("Platform", f"{image['os']}/{image['architecture']}, {image['size'] / 1e6:.0f} MB"),
        ("Harness", "byoc-conformance {version}, catalogue {catalogue_version}, Docker engine {docker_engine}"
                    .format(**report.harness)),
        ("Run", f"{run['started']} to {run['ended']}, seed {run['seed']}, run {run['id']}"
                + (f"; INTERRUPTED: {report.interrupted}" if report.interrupted else "")),
        ("Limits", "each container: {memory_mb} MiB memory, {pids} processes; servers' network: {network}"
                   .format(**run["limits"]) if run.get("limits") else "not recorded"),
        ("Gate", (f"--byoc-gate new-failures: {report.gate}" if report.gate_on is GateOn.NEW_FAILURES else
                  f"--byoc-fail-on {report.fail_on}: {report.gate}")
         + (f"; {len(report.stale_waivers)} stale waiver(s) under --byoc-strict-waivers" if report.strict_waivers
            and report.stale_waivers else "")),
        ("Declaration", report.declaration["summary"] if report.declaration is not None else "not recorded"),
    ]
    if report.metrics:
        facts.append(("Training metrics", metrics_line(report.metrics)))
    counts = ", ".join(f"{n} {s}" for s, n in report.counts.items())
    parts = [
        "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>",
        f"<title>{e(report.verdict)}: {e(image['reference'])} (SageMaker BYOC conformance)</title>",
        f"<style>{STYLE}</style></head><body><main>",
        "<header><h1>SageMaker bring-your-own-container conformance</h1>",
        f"<div class='verdict {_css(report.verdict)}'>{e(report.verdict)}</div>",
        *_opening(report),
        f"<div>{e(counts)}</div><dl class='facts'>",
        *(f"<dt>{e(k)}</dt><dd>{e(v)}</dd>" for k, v in facts),
        "</dl></header>",
    ]
    if report.listed_warnings:
        parts += ["<h2>Warnings (SHOULD)</h2><ul>", *(f"<li>{e(w)}</li>" for w in report.listed_warnings), "</ul>"]
    if report.validation:
        profile = report.validation
        parts += [f"<h2>Validation profile <code>{e(profile['profile'])}</code></h2>",
                  "<p>Data: " + e(", ".join(f"{uri} ({found})" for uri, found in profile["data"].items())) + "</p>",
                  "<table><tr><th>Step</th><th>Job</th><th>Outcome</th><th>Seconds</th><th>Outputs</th></tr>",
                  *(f"<tr><td>{e(step['step'])}</td><td>{e(step['job'])}</td><td>{e(step['outcome'])}</td>"
                    f"<td>{step['seconds']:.1f}</td><td>{e(', '.join(step['outputs']) or 'none')}</td></tr>"
                    for step in profile["steps"]), "</table>"]
        if profile["not_observable"]:
            parts.append(f"<p>Set, and not observable offline: {e(', '.join(profile['not_observable']))}</p>")
    checked = [r for r in report.requirements if r.checks]
    for area, title in AREA_TITLES.items():
        rows = [r for r in checked if r.area == area]
        if rows:
            parts += [f"<h2>{e(title)}</h2>", _table(rows)]
    unchecked = [r for r in report.requirements if not r.checks]
    parts += [f"<details><summary><h2 style='display:inline'>Not checked in this run ({len(unchecked)})</h2>"
              "</summary>", _table(unchecked), "</details>"]
    parts += [f"<footer>SHA-256 of report.json: <code>{digest}</code><br>Options: <code>"
              f"{e(json.dumps(run['options']))}</code></footer></main></body></html>"]
    return "\n".join(parts)


def _opening(report: Report) -> list[str]:
    """What decides the gate, right under the verdict: each failure in one line, the inconclusive MUSTs, the
    waivers and the comparison with a baseline."""
    e = html.escape
    title = "New failures (passed in the baseline)" if report.gate_on is GateOn.NEW_FAILURES else "Decides the gate"
    parts = []
    for heading, results, css in ((title, report.deciding, "failed"),
                                  ("Keeps it from CONFORMANT (inconclusive MUST)", report.unobserved, "inconclusive")):
        if results:
            parts += [f"<section class='opening'><h2>{e(heading)}</h2><ul class='{css}'>",
                      *(f"<li>{e(result.headline())}</li>" for result in results), "</ul></section>"]
    if report.waivers:
        parts += [f"<section class='opening'><h2>Waivers ({len(report.waivers)})</h2><ul>",
                  *(f"<li>{e(line)}</li>" for line in waiver_lines(report)), "</ul></section>"]
    if report.baseline is not None:
        parts.append(f"<section class='opening'><h2>Baseline</h2><p>{e(baseline_line(report.baseline))}</p></section>")
    return parts


def _css(word: str) -> str:
    """A status or a verdict as a class name."""
    return word.replace(" ", "-")


def _table(records: Iterable[RequirementRecord]) -> str:
    e = html.escape
    rows = ["<table><tr><th>Requirement</th><th>Level</th><th>Status</th><th>Evidence</th></tr>"]
    for r in records:
        evidence = "".join(
            f"<details><summary>{e(c.check.split(':', 1)[1])}: <span class='{_css(c.status)}'>"
            f"{e(c.status)}</span> ({c.duration:.2f} s)</summary><p>{e(c.summary)}</p>"
            + (f"<pre>{e(c.details)}</pre>" if c.details else "") + "</details>"
            for c in r.checks
        ) or f"<p>{e(r.reason or '')}</p>"
        rows.append(
            f"<tr><td><a href='{e(r.source)}'><b>{e(r.id)}</b></a><br>{e(r.statement)}</td>"
            f"<td>{e(r.level)}</td><td class='status {_css(r.status)}'>{e(r.status)}</td>"
            f"<td>{evidence}</td></tr>"
        )
    return "\n".join(rows) + "</table>"
