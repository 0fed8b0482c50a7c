"""The requirement catalogue (specs/requirements.json): what every check traces back to."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from . import specs

# How AWS words a requirement's level (Basis.wording); the first two carry a MUST on their own.
REQUIREMENT_WORDINGS = ("stated as a requirement", "API validation rule")
WORDINGS = (*REQUIREMENT_WORDINGS, "recommendation", "described, not required", "optional capability",
            "harness reading")


@dataclass(frozen=True)
class Basis:
    """Where a requirement's level comes from: the page and section, how AWS words it, what it says (in the
    catalogue's own words), and why the harness's check asks more, when it does."""

    page: str
    section: str
    wording: str
    says: str
    stricter: str | None = None


@dataclass(frozen=True)
class Requirement:
    id: str
    area: str
    level: str
    statement: str
    source: str
    decision: str | None = None
    unchecked_reason: str | None = None
    basis: Basis | None = None  # always set in the shipped catalogue (load_catalogue); None in hand-made ones
    usual_fix: str | None = None


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
    # Required of every entry, but checked here rather than in the schema, whose error would then outrank (as the
    # shallower one) the error of a faulty field inside the entry.
    baseless = [entry["id"] for entry in document["requirements"] if "basis" not in entry]
    if baseless:
        raise specs.SpecError(f"specs/requirements.json gives no basis for {', '.join(baseless)}")
    return Catalogue(
        version=document["catalogue_version"],
        requirements={entry["id"]: _requirement(entry) for entry in document["requirements"]},
    )


def _requirement(entry: dict[str, Any]) -> Requirement:
    return Requirement(**{**entry, "basis": Basis(**entry["basis"])})


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
