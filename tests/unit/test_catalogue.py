
import pytest

from byoc_conformance import specs
from byoc_conformance.catalogue import coverage_problems, load_catalogue
from byoc_conformance.checks import all_checks

from .catalogues import edited_catalogue


def test_the_shipped_catalogue_validates_and_traces_to_every_check():
    catalogue = load_catalogue()
    assert coverage_problems(catalogue, (c.requirement_id for c in all_checks())) == []


def test_every_check_id_names_its_requirement():
    for entry in all_checks():
        assert entry.test_id.startswith(entry.requirement_id + ":")


def test_a_check_outside_the_catalogue_is_a_problem():
    problems = coverage_problems(load_catalogue(), ["TRAIN-15", "TRAIN-99"])
    assert "check bound to TRAIN-99, which is not in the catalogue" in problems


def test_a_must_with_neither_check_nor_reason_is_a_problem(tmp_path, monkeypatch):
    def without_reason(entry):
        if entry["id"] == "SLS-01":
            del entry["unchecked_reason"]

    with edited_catalogue(tmp_path, monkeypatch, without_reason):
        problems = coverage_problems(load_catalogue(), (c.requirement_id for c in all_checks()))
    assert problems == ["SLS-01 is a MUST with no check and no unchecked_reason"]


def test_a_schema_error_names_the_json_path():
    with pytest.raises(specs.SpecError, match=r"at \$\.requirements\[0\]\.level: 'OUGHT' is not one of"):
        specs.validate(
            {"schema_version": 1, "catalogue_version": "1.0.0", "requirements": [
                {"id": "X-01", "area": "image", "level": "OUGHT", "statement": "a statement", "source": "https://x"}
            ]},
            "requirements.schema.json",
            "test catalogue",
        )


def test_a_checked_requirement_that_still_gives_an_unchecked_reason_is_a_problem():
    catalogue = load_catalogue()
    assert catalogue["SLS-01"].unchecked_reason  # unchecked today
    problems = coverage_problems(catalogue, [c.requirement_id for c in all_checks()] + ["SLS-01"])
    assert problems == ["SLS-01 has a check, but still says why it has none (unchecked_reason)"]
