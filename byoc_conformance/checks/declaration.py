"""The declaration itself (MKT-03): what CreateAlgorithm would refuse in a TrainingSpecification or
InferenceSpecification, judged before any container runs."""

from __future__ import annotations

from ..declaration import Declaration, count_problems, duplicate_names, parse_hyperparameter
from ..hyperparameters import bounds, within_declaration
from ..registry import Context, check
from ..verdicts import Failed, NotApplicable

CHANNELS = (1, 8)  # TrainingSpecification.TrainingChannels
MAX_HYPERPARAMETERS = 100  # SupportedHyperParameters
CONTAINERS = (1, 15)  # InferenceSpecification.Containers
CATEGORICAL_VALUES = (1, 30)  # CategoricalParameterRangeSpecification.Values


def _hyperparameter_problems(spec: dict) -> list[str]:
    parsed = parse_hyperparameter(spec)
    name, kind, ranges = parsed.name, parsed.type, spec.get("Range", {})
    problems = []
    if parsed.required and parsed.default is not None:
        problems.append(f"hyperparameter {name!r} is required and has a DefaultValue; a default means not required")
    expected_range = {"Integer": "IntegerParameterRangeSpecification",
                      "Continuous": "ContinuousParameterRangeSpecification",
                      "Categorical": "CategoricalParameterRangeSpecification"}.get(kind)
    wrong = [key for key in ranges if key != expected_range]
    if wrong:
        problems.append(f"hyperparameter {name!r} of Type {kind} has a {', '.join(wrong)}")
    if expected_range in ranges and kind in ("Integer", "Continuous") and bounds(parsed) is None:
        problems.append(f"hyperparameter {name!r}: range {parsed.minimum!r}..{parsed.maximum!r} is not "
                        f"a valid {kind} range (MinValue <= MaxValue, both {kind.lower()} numbers)")
    if "CategoricalParameterRangeSpecification" in ranges:
        problems += [f"hyperparameter {name!r}: {p}"
                     for p in count_problems("categorical values", list(parsed.values), CATEGORICAL_VALUES)]
    if parsed.default is not None and not within_declaration(parsed, parsed.default):
        problems.append(f"hyperparameter {name!r}: DefaultValue {parsed.default!r} is outside its own declaration")
    return problems


def declaration_problems(declaration: Declaration) -> list[str]:
    problems = []
    training = declaration.training
    if training:
        channels = training["TrainingChannels"]
        problems += count_problems("training channels", channels, CHANNELS)
        problems += duplicate_names("channel", [c["Name"] for c in channels])
        problems += [f"channel {c['Name']!r} lists no SupportedContentTypes" for c in channels
                     if not c["SupportedContentTypes"]]
        specs = training.get("SupportedHyperParameters", [])
        problems += count_problems("hyperparameters", specs, (0, MAX_HYPERPARAMETERS))
        problems += duplicate_names("hyperparameter", [s["Name"] for s in specs])
        for spec in specs:
            problems += _hyperparameter_problems(spec)
    inference = declaration.inference
    if inference:
        problems += count_problems("inference containers", inference["Containers"], CONTAINERS)
        for key in ("SupportedContentTypes", "SupportedResponseMIMETypes"):
            if key in inference and not inference[key]:
                problems.append(f"InferenceSpecification.{key} is empty")
    return problems


@check("MKT-03", "declaration-within-api-limits")
def declaration_within_limits(ctx: Context) -> str:
    declared = ctx.declaration
    if declared.source is None:
        raise NotApplicable("no declaration was given (--byoc-spec)")
    problems = declaration_problems(declared)
    if problems:
        raise Failed("; ".join(problems), expected="a TrainingSpecification with 1-8 channels and at most 100 "
                     "hyperparameters whose ranges and defaults hold, and an InferenceSpecification with 1-15 "
                     "containers (what CreateAlgorithm accepts)", reproduce=declared.rerun(ctx.image, "MKT-03"))
    parts = [f"{len(declared.channels)} channel(s), {len(declared.hyperparameters)} hyperparameter(s)"
             if declared.training else "no TrainingSpecification",
             f"{len(declared.inference['Containers'])} container(s)" if declared.inference else
             "no InferenceSpecification"]
    return f"{declared.source}: {'; '.join(parts)}, within the API's limits"
