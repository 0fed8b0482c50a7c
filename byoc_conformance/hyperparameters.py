"""Hyperparameter sets drawn from the declared SupportedHyperParameters (TRAIN-04/05, MKT-03): valid sets as a
hypothesis strategy, and the invalid probes, each breaking one hyperparameter at the edge of what is declared.
Every value is a string, as SageMaker writes hyperparameters.json."""

from __future__ import annotations

import math
from dataclasses import dataclass

from hypothesis import strategies as st

from .declaration import Hyperparameter

# What a tuning job adds to the declared hyperparameters (TRAIN-05): the objective metric's name.
TUNING_OBJECTIVE = "_tuning_objective_metric"


def _number(text: str | None) -> float | None:
    try:
        value = float(text) if text is not None else None
    except ValueError:
        return None
    return value if value is not None and math.isfinite(value) else None


def bounds(spec: Hyperparameter) -> tuple[float, float] | None:
    """The declared numeric range, or None when there is none (or it does not parse: MKT-03 reports that)."""
    low, high = _number(spec.minimum), _number(spec.maximum)
    if low is None or high is None or low > high:
        return None
    if spec.type == "Integer" and (low != int(low) or high != int(high)):
        return None
    return low, high


def within_declaration(spec: Hyperparameter, value: str) -> bool:
    """Whether `value` is one the declaration allows: a listed category, free text, or a finite number of the type
    within the declared range."""
    if spec.type == "Categorical":
        return not spec.values or value in spec.values
    if spec.type == "FreeText":
        return True
    try:
        number = int(value) if spec.type == "Integer" else float(value)
    except ValueError:
        return False
    numeric = bounds(spec)
    return math.isfinite(number) and (numeric is None or numeric[0] <= number <= numeric[1])


def fixed_value(spec: Hyperparameter) -> str:
    """The value a required hyperparameter gets in the ordinary runs: its default, or the simplest valid value."""
    if spec.default is not None:
        return spec.default
    if spec.values:
        return spec.values[0]
    numeric = bounds(spec)
    if spec.type == "Integer":
        return str(int(numeric[0])) if numeric else "1"
    if spec.type == "Continuous":
        return repr(numeric[0]) if numeric else "1.0"
    return "text"


def required_set(specs: list[Hyperparameter]) -> dict[str, str]:
    """What the good training run is given: the required hyperparameters only (for most images, {})."""
    return {spec.name: fixed_value(spec) for spec in specs if spec.required}


def value_strategy(spec: Hyperparameter) -> st.SearchStrategy[str]:
    numeric = bounds(spec)
    if spec.type == "Integer":
        low, high = (int(numeric[0]), int(numeric[1])) if numeric else (-1000, 1000)
        return st.integers(low, high).map(str)
    if spec.type == "Continuous":
        low, high = numeric or (-1000.0, 1000.0)
        return st.one_of(st.floats(low, high).map(repr), st.sampled_from([spec.minimum, spec.maximum])
                         if numeric else st.nothing())
    if spec.values:
        return st.sampled_from(spec.values)
    # FreeText: what it means is the image's business, so only its default (or a plain word) is safe.
    return st.just(fixed_value(spec))


def valid_sets(specs: list[Hyperparameter]) -> st.SearchStrategy[dict[str, str]]:
    """Every declared hyperparameter, each with a value drawn within its declared type and range."""
    return st.fixed_dictionaries({spec.name: value_strategy(spec) for spec in specs})


@dataclass(frozen=True)
class Probe:
    """One invalid hyperparameter set: the required set with one hyperparameter broken (or left out)."""

    name: str
    value: str | None  # None: left out
    why: str

    def apply(self, base: dict[str, str]) -> dict[str, str]:
        broken = {k: v for k, v in base.items() if k != self.name}
        return broken if self.value is None else {**broken, self.name: self.value}

    def describe(self) -> str:
        if self.value is None:
            return f"{self.name} left out ({self.why})"
        return f"{self.name}={self.value!r} ({self.why})"


def probes(specs: list[Hyperparameter]) -> list[Probe]:
    """The nearest violations of each declaration, the values most likely to slip through: just below and above
    the range, a value of the wrong type, a category not declared, a required hyperparameter left out. Ordered
    round-robin over the hyperparameters, so that a capped number of runs still reaches each of them."""
    per_spec = []
    for spec in specs:
        numeric = bounds(spec)
        found = []
        if numeric and spec.type == "Integer":
            found += [Probe(spec.name, str(int(numeric[0]) - 1), f"below the declared minimum {spec.minimum}"),
                      Probe(spec.name, str(int(numeric[1]) + 1), f"above the declared maximum {spec.maximum}")]
        elif numeric:
            step = (numeric[1] - numeric[0]) / 2 or max(abs(numeric[0]), 1.0) / 2
            found += [Probe(spec.name, repr(numeric[0] - step), f"below the declared minimum {spec.minimum}"),
                      Probe(spec.name, repr(numeric[1] + step), f"above the declared maximum {spec.maximum}")]
        if spec.type == "Integer":
            middle = (numeric[0] + numeric[1]) / 2 if numeric else 0
            found.append(Probe(spec.name, f"{math.floor(middle)}.5", "not an integer"))
        elif spec.type == "Continuous":
            found.append(Probe(spec.name, "not-a-number", "not a number"))
        elif spec.type == "Categorical" and spec.values:
            found.append(Probe(spec.name, f"{spec.values[0]}-undeclared", "not one of the declared values"))
        if spec.required:
            found.append(Probe(spec.name, None, "declared as required"))
        per_spec.append(found)
    ordered = []
    for rank in range(max(map(len, per_spec), default=0)):
        ordered += [found[rank] for found in per_spec if rank < len(found)]
    return ordered


def defaults(specs: list[Hyperparameter]) -> dict[str, str]:
    """Every declared hyperparameter that has a default, at its default."""
    return {spec.name: spec.default for spec in specs if spec.default is not None}


def tunable_alternatives(specs: list[Hyperparameter]) -> dict[str, str]:
    """TRAIN-23: for each hyperparameter declared tunable, the valid value farthest from its default (or the
    simplest valid value): the far end of a numeric range, another category."""
    alternatives = {}
    for spec in specs:
        if not spec.tunable:
            continue
        numeric = bounds(spec)
        default = fixed_value(spec)
        current = _number(default)
        if spec.type in ("Integer", "Continuous") and numeric and numeric[0] < numeric[1]:
            far = numeric[0] if current is not None and current - numeric[0] > numeric[1] - current else numeric[1]
            alternatives[spec.name] = str(int(far)) if spec.type == "Integer" else \
                (spec.minimum if far == numeric[0] else spec.maximum)
        else:
            other = next((value for value in spec.values if value != default), None)
            if other is not None:
                alternatives[spec.name] = other
    return alternatives  # type: ignore[return-value]
