"""Hypothesis strategies for /invocations payloads: numeric CSV without a label column, as a client sends
it, and the malformed bodies a server meets in the wild."""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

import hypothesis.errors
from hypothesis import HealthCheck, Phase, settings
from hypothesis import strategies as st

MAX_ROWS = 20
Ranges = tuple[tuple[float, float] | None, ...]  # one per feature column; None: any number


@dataclass(frozen=True)
class Payload:
    body: bytes
    rows: int  # records a conforming answer has (0 for invalid payloads)
    content_type: str = "text/csv"
    kind: str = "valid CSV"


# The many ways one number is written: integers, negatives, exponents, many decimals.
_finite = st.floats(allow_nan=False, allow_infinity=False, min_value=-1e12, max_value=1e12)
numbers = st.one_of(
    st.integers(-(10**9), 10**9).map(str),
    _finite.map(repr),
    _finite.map(lambda x: f"{x:e}"),
    _finite.map(lambda x: f"{x:.15f}"),
    st.integers(0, 10**6).map(lambda n: f"-{n}.5"),
)


def numbers_within(low: float, high: float) -> st.SearchStrategy[str]:
    values = st.floats(low, high)
    integers = st.integers(math.ceil(low), math.floor(high)) if math.ceil(low) <= math.floor(high) else st.nothing()
    return st.one_of(integers.map(str), values.map(repr), values.map(lambda x: f"{x:e}").filter(
        lambda text: low <= float(text) <= high))


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


# Letters only, and never a word float() reads as a number ("nan", "inf", "Infinity").
words = st.text(st.characters(categories=["L"]), min_size=1, max_size=12).filter(lambda w: not _is_number(w))


def _join(rows: list[list[str]], newline: str, trailing: bool) -> bytes:
    return (newline.join(",".join(row) for row in rows) + (newline if trailing else "")).encode()


@st.composite
def valid_csv(draw: st.DrawFn, ranges: Ranges) -> Payload:
    row = st.tuples(*(numbers_within(*r) if r else numbers for r in ranges)).map(list)
    rows = draw(st.lists(row, min_size=1, max_size=MAX_ROWS))
    return Payload(_join(rows, draw(st.sampled_from(["\n", "\r\n"])), draw(st.booleans())), len(rows))


@st.composite
def invalid_payloads(draw: st.DrawFn, features: int) -> Payload:
    rows = draw(st.lists(st.lists(numbers, min_size=features, max_size=features), min_size=1, max_size=5))
    kind = draw(st.sampled_from(["non-numeric field", "wrong column count", "empty body", "binary junk",
                                 "invalid UTF-8", "unsupported Content-Type"]))
    if kind == "non-numeric field":
        row = draw(st.integers(0, len(rows) - 1))
        rows[row][draw(st.integers(0, features - 1))] = draw(words)
    elif kind == "wrong column count":
        row = draw(st.integers(0, len(rows) - 1))
        # A short row keeps one field at least: a blank line is no row at all, and CSV readers skip it.
        short = features > 1 and draw(st.booleans())
        rows[row] = rows[row][: draw(st.integers(1, features - 1))] if short else rows[row] + ["1"]
    return _spoilt(draw, kind, _join(rows, "\n", True), "text/csv")


def _spoilt(draw: st.DrawFn, kind: str, body: bytes, content_type: str) -> Payload:
    """A valid body spoilt the ways any type can be: emptied, replaced by junk, made invalid UTF-8, or sent with an
    unsupported Content-Type; any other kind leaves it as it is."""
    if kind == "empty body":
        body = b""
    elif kind == "binary junk":
        body = b"\x00" + draw(st.binary(min_size=1, max_size=200))
    elif kind == "invalid UTF-8":
        body = body[: draw(st.integers(0, len(body)))] + b"\xff\xfe\xfd" + body
    if kind == "unsupported Content-Type":
        content_type = draw(st.sampled_from(["application/x-unsupported", "image/png"]))
    return Payload(body, 0, content_type, kind)


def example_row(ranges: Ranges, number: int = 0) -> str:
    """A valid row, different for each number: values spread over each feature's range."""
    values = []
    for column, bounds in enumerate(ranges):
        low, high = bounds or (-10.0, 10.0)
        values.append(f"{low + (high - low) * (((number + 1) * 0.618034 + column * 0.414214) % 1):.9f}")
    return ",".join(values)


def example_csv(ranges: Ranges, rows: int) -> Payload:
    return Payload("".join(example_row(ranges, n) + "\n" for n in range(rows)).encode(), rows)


def large_csv(ranges: Ranges, size: int) -> Payload:
    """Valid rows adding up to just under `size` bytes."""
    row = example_row(ranges) + "\n"
    count = size // len(row)
    return Payload((row * count).encode(), count, kind=f"{count} rows, {count * len(row)} bytes")


@dataclass(frozen=True)
class Traffic:
    """What the /invocations probes send an image, as its declaration says: generated CSV when it takes text/csv,
    else its declared sample request; asking for text/csv when it answers in it, else for the first type it
    declares (an image may take CSV and answer JSON)."""

    takes_csv: bool = True
    accept: str = "text/csv"
    sample: Payload | None = None  # the declared sample of the first declared request type that has one

    @property
    def speaks_csv(self) -> bool:
        """text/csv both ways: what the probes that need records (batch, streaming, pipelines) send and ask for."""
        return self.takes_csv and self.accept == "text/csv"

    def describe(self) -> str:
        sent = "generated CSV" if self.takes_csv else f"the declared {self.sample.content_type} sample" \
            if self.sample else "nothing (no text/csv declared and no sample request)"
        return f"{sent}, Accept: {self.accept}"


def grown(sample: Payload, size: int) -> Payload | None:
    """A valid body of the sample's type of just under `size` bytes, or None where its type gives no way to grow
    one: a JSON list (or an object whose one list holds the records, as {"instances": [...]}) repeats its records;
    other JSON is padded with whitespace, which JSON allows around any value."""
    if not (sample.content_type == "application/json" or sample.content_type.endswith("+json")):
        return None
    try:
        document = json.loads(sample.body)
    except ValueError:
        return None
    records = document if isinstance(document, list) else None
    lists = [key for key, value in document.items() if isinstance(value, list)] if isinstance(document, dict) else []
    if records is None and len(lists) == 1:
        records = document[lists[0]]
    if records:
        one = max(1, len(json.dumps(records[0])) + 2)
        count = max(len(records), size // one)
        while True:
            many = [records[n % len(records)] for n in range(count)]
            body = json.dumps(many if isinstance(document, list) else {**document, lists[0]: many}).encode()
            if len(body) < size or count <= len(records):
                break
            count -= max(1, (len(body) - size) // one + 1)
        if len(body) < size:
            return Payload(body, count, sample.content_type, f"the declared sample's records repeated {count} times, "
                           f"{len(body)} bytes")
    body = sample.body.rstrip()
    return Payload(body + b" " * (size - 1 - len(body)), sample.rows, sample.content_type,
                   f"the declared sample padded with whitespace to {size - 1} bytes")


@st.composite
def invalid_samples(draw: st.DrawFn, sample: Payload) -> Payload:
    """Malformed bodies of the declared sample's type: cut short, junk, empty, invalid UTF-8, or an unsupported
    Content-Type."""
    kind = draw(st.sampled_from(["the sample cut short", "empty body", "binary junk", "invalid UTF-8",
                                 "unsupported Content-Type"]))
    body = sample.body
    if kind == "the sample cut short":
        body = body[: draw(st.integers(1, max(1, len(body) // 2)))]
    return _spoilt(draw, kind, body, sample.content_type)


E = TypeVar("E", bound=BaseException)


def raised_by(test: Callable[[], None], kind: type[E]) -> tuple[E | None, bool]:
    """Runs a hypothesis test whose examples raise `kind` when they find what it looks for: the exception it ended
    with (hypothesis's smallest), or None; and whether it did not repeat when hypothesis replayed it (Flaky)."""
    try:
        test()
    except hypothesis.errors.Flaky as flaky:
        found = next((e for e in getattr(flaky, "exceptions", ()) if isinstance(e, kind)), None)
        if found is None:
            raise
        return found, True
    except kind as found:
        return found, False
    return None, False


def hypothesis_settings(examples: int, *phases: Phase) -> settings:
    """How hypothesis draws everything the harness generates (payloads, request sequences, hyperparameter sets):
    `examples` at most, no deadline or database (the run's seed alone decides)."""
    return settings(max_examples=examples, deadline=None, database=None, report_multiple_bugs=False,
                    suppress_health_check=list(HealthCheck), phases=phases)
