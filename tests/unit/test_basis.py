"""Every requirement says where its level comes from (issue 23): a MUST rests on what AWS states as a requirement
or enforces as an API rule, or says why the harness gates on it anyway."""

from collections.abc import Callable
from dataclasses import replace

import pytest

from byoc_conformance import specs
from byoc_conformance.catalogue import REQUIREMENT_WORDINGS, WORDINGS, Requirement, load_catalogue

from .catalogues import edited_catalogue

# The wordings each level may rest on (a MUST also on any other, with `stricter` saying why it gates).
ALLOWED = {
    "MUST": set(REQUIREMENT_WORDINGS),
    "SHOULD": set(WORDINGS) - {"optional capability"},
    "MAY": {"optional capability", "described, not required"},
    "INFO": set(WORDINGS),
}


@pytest.fixture(scope="module")
def requirements() -> list[Requirement]:
    return list(load_catalogue().requirements.values())


def offenders(requirements: list[Requirement], problem: Callable[[Requirement], str | None]) -> list[str]:
    """'ID: why' for every requirement that `problem` (a requirement -> reason or None) finds fault with."""
    return [f"{r.id}: {why}" for r in requirements if (why := problem(r))]


def assert_none(found: list[str], what: str) -> None:
    assert not found, f"{len(found)} requirement(s) {what}:\n  " + "\n  ".join(found)


def test_every_requirement_has_a_basis(requirements):
    assert_none(offenders(requirements, lambda r: None if r.basis else "no basis"), "without a basis")


def test_every_wording_is_one_of_the_allowed_values(requirements):
    def problem(r: Requirement) -> str | None:
        return f"wording {r.basis.wording!r}" if r.basis and r.basis.wording not in WORDINGS else None

    assert_none(offenders(requirements, problem), f"with a wording outside {list(WORDINGS)}")


def _level_problem(requirement: Requirement) -> str | None:
    basis = requirement.basis
    if basis is None or basis.wording in ALLOWED[requirement.level]:
        return None
    if requirement.level == "MUST" and basis.stricter:
        return None  # gates anyway, and says why
    if requirement.level == "MUST":
        return f"a MUST whose basis is {basis.wording!r}, with no `stricter` saying why it gates anyway"
    return f"a {requirement.level} whose basis is {basis.wording!r} (allowed: {sorted(ALLOWED[requirement.level])})"


def test_every_level_rests_on_a_wording_that_carries_it(requirements):
    assert_none(offenders(requirements, _level_problem), "whose level its basis does not carry")


def test_every_basis_page_is_an_https_url(requirements):
    def problem(r: Requirement) -> str | None:
        return f"page {r.basis.page!r}" if r.basis and not r.basis.page.startswith("https://") else None

    assert_none(offenders(requirements, problem), "whose basis page is not an https URL")


def test_basis_text_is_filled_in(requirements):
    def problem(r: Requirement) -> str | None:
        if r.basis is None:
            return None
        empty = [name for name in ("section", "says") if not getattr(r.basis, name).strip()]
        if r.basis.stricter is not None and not r.basis.stricter.strip():
            empty.append("stricter")
        return f"empty {', '.join(empty)}" if empty else None

    assert_none(offenders(requirements, problem), "with an empty basis field")


def test_the_level_rule_itself():
    """A MUST that rests on a recommendation is refused unless `stricter` says why it gates; a MAY never rests on a
    recommendation."""
    requirement = load_catalogue()["IMG-01"]
    assert requirement.basis is not None
    weak = replace(requirement, basis=replace(requirement.basis, wording="recommendation", stricter=None))
    assert _level_problem(weak) == ("a MUST whose basis is 'recommendation', with no `stricter` saying why it gates "
                                    "anyway")
    assert _level_problem(replace(weak, basis=replace(weak.basis, stricter="the harness's reason"))) is None
    assert _level_problem(replace(weak, level="MAY")) is not None


def test_usual_fixes_are_given_where_users_usually_trip(requirements):
    fixed = {r.id for r in requirements if r.usual_fix}
    assert {"TRAIN-17", "SERVE-03", "SERVE-07", "TRAIN-16", "METRIC-01"} <= fixed


def test_a_catalogue_entry_without_a_basis_is_refused(tmp_path, monkeypatch):
    def without_basis(entry):
        if entry["id"] in ("SLS-01", "TRAIN-15"):
            del entry["basis"]

    with edited_catalogue(tmp_path, monkeypatch, without_basis), \
            pytest.raises(specs.SpecError, match="gives no basis for TRAIN-15, SLS-01"):
        load_catalogue()


def test_the_schema_and_the_code_list_the_same_wordings():
    schema = specs.load("requirements.schema.json")
    assert schema["$defs"]["basis"]["properties"]["wording"]["enum"] == list(WORDINGS)
