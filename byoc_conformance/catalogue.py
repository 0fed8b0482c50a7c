"""The requirement catalogue (specs/requirements.json): what every check traces back to."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from . import specs


@dataclass(frozen=True)
class Requirement:
    id: str
    area: str
    level: str
    statement: str
    source: str
    decision: str | None = None
    unchecked_reason: str | None = None


@dataclass(frozen=True)
class Catalogue:
    version: str
    requirements: dict[str, Requirement]

    def __getitem__(self, requirement_id: str) -> Requirement:
        return self.requirements[requirement_id]


def load_catalogue() -> Catalogue:
    document = specs.load("requirements.json")
    specs.validate(document, "requirements.schema.json", "specs/requirements.json")
    ids = [entry["id"] for entry in document["requirements"]]
    duplicates = sorted({i for i in ids if ids.count(i) > 1})
    if duplicates:
        raise specs.SpecError(f"specs/requirements.json lists these IDs twice: {', '.join(duplicates)}")
    return Catalogue(
        version=document["catalogue_version"],
        requirements={entry["id"]: Requirement(**entry) for entry in document["requirements"]},
    )


def coverage_problems(catalogue: Catalogue, checked_ids: Iterable[str]) -> list[str]:
    """What keeps the catalogue and the checks from tracing to each other (empty when they do)."""
    checked = set(checked_ids)
    unknown = sorted(checked - set(catalogue.requirements))
    problems = [f"check bound to {i}, which is not in the catalogue" for i in unknown]
    problems += [
        f"{r.id} is a MUST with no check and no unchecked_reason"
        for r in catalogue.requirements.values()
        if r.level == "MUST" and r.id not in checked and not r.unchecked_reason
    ]
    problems += [
        f"{r.id} has a check, but still says why it has none (unchecked_reason)"
        for r in catalogue.requirements.values()
        if r.id in checked and r.unchecked_reason
    ]
    return problems
