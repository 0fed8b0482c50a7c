"""The certification bundle as its readers meet it: report.json against its schema, report.html rendered in
headless Chromium, and the exit status a CI pipeline acts on."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import tempfile
import xml.etree.ElementTree as ElementTree

import pytest

from byoc_conformance import specs

from ..suite_runs import area_selection, run_suite

pytestmark = pytest.mark.docker
WINDOW = "--byoc-startup-timeout=15"
# Flags for a closed network: without them Chromium keeps reaching for Google's services.
CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync"]


@pytest.fixture(scope="session")
def chromium() -> str:
    found = shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")
    if found:
        return found
    if os.environ.get("CI") == "true":
        pytest.fail("CI=true, but no Chromium is installed")
    pytest.skip("no Chromium installed")


def rendered(chromium: str, page, screenshot) -> str:
    """The DOM Chromium built from the page, after taking a screenshot of it."""
    with tempfile.TemporaryDirectory(prefix="byoc-chromium-") as profile:
        flags = [*CHROMIUM_FLAGS, f"--user-data-dir={profile}", "--window-size=1200,1600"]
        subprocess.run([chromium, *flags, f"--screenshot={screenshot}", page.as_uri()], capture_output=True,
                       timeout=120, check=True)
        return subprocess.run([chromium, *flags, "--dump-dom", page.as_uri()], capture_output=True, text=True,
                              timeout=120, check=True).stdout


def bundle_of(tmp_path, image, *options):
    run = run_suite(image, tmp_path, WINDOW, f"--byoc-report={tmp_path / 'bundle'}", *options)
    document = (tmp_path / "bundle" / "report.json").read_bytes()
    report = json.loads(document)
    specs.validate(report, "report.schema.json", "report.json")
    return run, report, hashlib.sha256(document).hexdigest()


def test_the_reference_image_gets_a_conformant_certificate(sample_images, chromium, tmp_path):
    run, report, digest = bundle_of(tmp_path, "byoc-samples/reference", "--byoc-vendor=Acme ML",
                                    "--byoc-product=Linear", "--byoc-product-version=1.2.0")
    assert run.exit_code == 0 and (report["verdict"], report["gate"]) == ("CONFORMANT", "passed"), run.output
    assert report["product"] == {"vendor": "Acme ML", "name": "Linear", "version": "1.2.0"}
    dom = rendered(chromium, tmp_path / "bundle" / "report.html", tmp_path / "report.png")
    assert "class=\"verdict CONFORMANT\">CONFORMANT<" in dom and "Acme ML Linear 1.2.0" in dom
    assert digest in dom and digest in (tmp_path / "bundle" / "summary.md").read_text()
    assert (tmp_path / "report.png").stat().st_size > 10_000


def test_a_broken_image_gets_a_failing_certificate_with_its_evidence(sample_images, chromium, tmp_path):
    run, report, _ = bundle_of(tmp_path, "byoc-samples/serve-ping-500", *area_selection("hosting"))
    assert run.exit_code == 1 and (report["verdict"], report["gate"]) == ("NOT CONFORMANT", "failed")
    dom = rendered(chromium, tmp_path / "bundle" / "report.html", tmp_path / "report.png")
    assert ">NOT CONFORMANT<" in dom
    assert "/ping did not answer 200 within the start-up window (last: HTTP 500)" in dom
    junit = ElementTree.parse(tmp_path / "bundle" / "junit.xml").getroot()
    failed = [case for case in junit.iter("testcase") if case.find("failure") is not None]
    # the start-up pings were answered 500: that fails SERVE-04 as well as the health check
    assert [case.get("name") for case in failed] == ["SERVE-04:ping-answers-200-within-2s",
                                                     "SERVE-05:healthy-within-startup-window"]


@pytest.mark.parametrize("fail_on, exit_code, gate", [("must", 0, "passed"), ("should", 1, "failed")])
def test_the_exit_status_follows_byoc_fail_on(sample_images, tmp_path, fail_on, exit_code, gate):
    run, report, _ = bundle_of(tmp_path, "byoc-samples/serve-wrong-content-type", f"--byoc-fail-on={fail_on}")
    assert (run.exit_code, report["verdict"], report["gate"]) == (exit_code, "CONFORMANT", gate), run.output
    assert report["warnings"][0].startswith("SERVE-10:response-content-type-matches-accept: Content-Type ")
    # Visible in the terminal under either gate: a warning, or under --byoc-fail-on should what decides the gate.
    assert ("decides the gate: SERVE-10" if fail_on == "should" else "warning (SHOULD): SERVE-10") in run.output
