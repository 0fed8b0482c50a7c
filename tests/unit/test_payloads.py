import hypothesis.errors
import pytest
from hypothesis import given

from byoc_conformance.payloads import invalid_payloads, large_csv, raised_by, valid_csv


def parsed_rows(body: bytes, features: int) -> list[list[float]] | None:
    """A strict reading of label-free numeric CSV; None where a row is not `features` numbers."""
    try:
        lines = [line for line in body.decode("utf-8").splitlines() if line.strip()]
        rows = [[float(field) for field in line.split(",")] for line in lines]
    except (UnicodeDecodeError, ValueError):
        return None
    return rows if rows and all(len(row) == features for row in rows) else None


@given(valid_csv((None, None, (0.0, 1.0), (-5.0, 5.0))))
def test_valid_payloads_hold_the_rows_they_claim_within_the_declared_ranges(payload):
    assert payload.content_type == "text/csv"
    rows = parsed_rows(payload.body, 4)
    assert len(rows) == payload.rows
    assert all(0 <= row[2] <= 1 and -5 <= row[3] <= 5 for row in rows)


@given(invalid_payloads(4))
def test_invalid_payloads_are_never_valid_csv(payload):
    assert payload.content_type != "text/csv" or parsed_rows(payload.body, 4) is None


def test_the_large_payload_fits_the_invoke_endpoint_limit():
    payload = large_csv((None,) * 4, 6 * 1024 * 1024)
    assert 6 * 1024 * 1024 - 100 < len(payload.body) <= 6 * 1024 * 1024
    assert len(parsed_rows(payload.body, 4)) == payload.rows


def test_raised_by_gives_what_a_hypothesis_test_found_and_whether_it_repeated():
    found = KeyError("found")

    def finds() -> None:
        raise found

    def flaky() -> None:
        raise hypothesis.errors.FlakyFailure("did not repeat", [ValueError("other"), found])

    def flaky_elsewhere() -> None:
        raise hypothesis.errors.FlakyFailure("did not repeat", [ValueError("other")])

    assert raised_by(finds, KeyError) == (found, False)
    assert raised_by(flaky, KeyError) == (found, True)
    assert raised_by(lambda: None, KeyError) == (None, False)
    with pytest.raises(hypothesis.errors.Flaky):
        raised_by(flaky_elsewhere, KeyError)
