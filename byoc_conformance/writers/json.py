"""report.json: the report's document (report.Report.document), checked against specs/report.schema.json."""

from __future__ import annotations

import hashlib
import json

from .. import specs
from ..report import Report


def render(report: Report) -> bytes:
    """report.json's bytes; a document that does not match the schema is a specs.SpecError, and nothing is written."""
    document = report.document()
    specs.validate(document, "report.schema.json", "the report")
    return (json.dumps(document, indent=2, ensure_ascii=False) + "\n").encode()


def digest(rendered: bytes) -> str:
    """The SHA-256 of report.json, which summary.md and report.html carry."""
    return hashlib.sha256(rendered).hexdigest()
