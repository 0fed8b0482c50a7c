"""The vendor's declaration: the TrainingSpecification and InferenceSpecification of a CreateAlgorithm request,
as sent to AWS, plus our own section (sample data, CSV layout). Without one, the defaults below apply."""

from __future__ import annotations

import json
import re
import shlex
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from . import specs
from .engine import HarnessError
from .payloads import Payload, Traffic
from .specs import SpecError
from .waivers import Waiver, from_section

CONVENTIONAL_NAME = "byoc-spec.json"  # picked up from the current directory when --byoc-spec is not given
OWN_SECTION = "byoc-conformance"
CSV = "text/csv"
DEFAULT_COLUMNS = 5  # label first, then 4 features
# Class labels 0, 1, 2 by default: the iris-style classifiers users start from need whole-number classes, and
# a regressor fits them as well.
DEFAULT_CLASSES = 3


def media_type(header: str | None) -> str:
    """`text/csv` of `text/CSV; charset=utf-8`: how content types are compared."""
    return (header or "").split(";")[0].strip().lower()


def duplicate_names(what: str, names: list[str]) -> list[str]:
    return [f"{what} {name!r} is declared {names.count(name)} times" for name in sorted(set(names))
            if names.count(name) > 1]


def count_problems(what: str, items: list, limits: tuple[int, int]) -> list[str]:
    """Why `items` is not a count the API allows (inclusive limits), or nothing."""
    low, high = limits
    return [] if low <= len(items) <= high else [f"{len(items)} {what}; {low}-{high} are allowed"]


def lists_csv(types: list[str] | tuple[str, ...]) -> bool:
    return any(media_type(kind) == CSV for kind in types)


@dataclass(frozen=True)
class CsvLayout:
    columns: int = DEFAULT_COLUMNS
    label_column: int | None = 0
    ranges: tuple[tuple[float, float] | None, ...] = ()  # per column; empty: any number anywhere
    label_classes: int | None = DEFAULT_CLASSES  # None: a continuous label

    def range_of(self, column: int) -> tuple[float, float] | None:
        return self.ranges[column] if self.ranges else None

    @property
    def feature_columns(self) -> list[int]:
        return [c for c in range(self.columns) if c != self.label_column]

    @property
    def features(self) -> int:
        return len(self.feature_columns)

    @property
    def feature_ranges(self) -> tuple[tuple[float, float] | None, ...]:
        return tuple(self.range_of(c) for c in self.feature_columns)

    def describe_label(self) -> str:
        return "continuous" if self.label_classes is None else f"classes 0-{self.label_classes - 1}"

    def label_first(self) -> CsvLayout:
        """The same features behind a label in column 0: the batch checks' input, which `$[1:]` filters."""
        label = (self.range_of(self.label_column) if self.label_column is not None else None)
        ranges = (label, *self.feature_ranges) if self.ranges else ()
        return CsvLayout(self.features + 1, 0, ranges, self.label_classes)


DEFAULT_CSV = CsvLayout()


@dataclass(frozen=True)
class Channel:
    name: str
    required: bool
    content_types: tuple[str, ...]
    sample: dict[str, bytes] | None = None  # the declared sample data (relative path -> content)
    input_modes: tuple[str, ...] = ("File",)  # SupportedInputModes

    @property
    def usual_mode(self) -> str:
        """The input mode of every run but those that try the others: File where declared (what SageMaker uses when
        a job names none), else the first declared."""
        return "File" if "File" in self.input_modes else self.input_modes[0]

    @property
    def accepts_csv(self) -> bool:
        return lists_csv(self.content_types)

    @property
    def content_type(self) -> str:
        # What goes into inputdataconfig.json: text/csv when the harness generates the data.
        return self.content_types[0] if self.sample is not None or not self.accepts_csv else CSV


@dataclass(frozen=True)
class Checkpoints:
    """The image resumes from what it left in /opt/ml/checkpoints (managed spot training, TRAIN-19)."""

    resumed: re.Pattern[str] | None = None  # a line of the resumed run's log that says so


@dataclass(frozen=True)
class Hyperparameter:
    name: str
    type: str  # Integer | Continuous | Categorical | FreeText
    required: bool
    default: str | None
    minimum: str | None = None
    maximum: str | None = None
    values: tuple[str, ...] = ()
    tunable: bool = False


@dataclass(frozen=True)
class Declaration:
    source: Path | None  # None: no declaration, the defaults
    training: dict[str, Any] | None = None
    inference: dict[str, Any] | None = None
    csv: CsvLayout = field(default_factory=CsvLayout)
    channels: tuple[Channel, ...] = (Channel("training", True, (CSV,)),)
    invocation_samples: dict[str, bytes] = field(default_factory=dict)
    checkpoints: Checkpoints | None = None  # declared ($.byoc-conformance.checkpoints) or asked for
    # Served with no network: declared ($.byoc-conformance.network_isolation) or asked for (SERVE-15).
    network_isolation: bool = False
    # Answers /invocations as a stream: declared ($.byoc-conformance.response_streaming) or asked for (STREAM-01/02).
    response_streaming: bool = False
    # Served for asynchronous inference: declared ($.byoc-conformance.async_inference) or asked for (ASYNC-01).
    async_inference: bool = False
    # The request's ValidationSpecification, as submitted: the profile Marketplace validates the listing with (MKT-02).
    validation: dict[str, Any] | None = None
    model_package: bool = False  # the request is CreateModelPackage's: its profile is a transform job alone
    waivers: tuple[Waiver, ...] = ()  # $.byoc-conformance.waivers: known failures the gate passes over

    @property
    def metric_definitions(self) -> list[dict[str, str]]:
        return (self.training or {}).get("MetricDefinitions", [])

    @property
    def objective_metrics(self) -> list[str]:
        return [m["MetricName"] for m in (self.training or {}).get("SupportedTuningJobObjectiveMetrics", [])]

    @property
    def distributed(self) -> bool:
        """SupportsDistributedTraining: the image claims to train on more than one host."""
        return (self.training or {}).get("SupportsDistributedTraining") is True

    def rerun(self, image: str, requirement: str) -> str:
        """The command that judges this declaration again for `image`, for failures that no container run shows."""
        return f"pytest --image {shlex.quote(image)} --byoc-spec {shlex.quote(str(self.source))} -k {requirement}"

    def channels_in(self, mode: str) -> tuple[Channel, ...]:
        """The channels that declare this input mode (SupportedInputModes)."""
        return tuple(c for c in self.channels if mode in c.input_modes)

    @property
    def hyperparameters(self) -> list[Hyperparameter]:
        return [parse_hyperparameter(spec) for spec in (self.training or {}).get("SupportedHyperParameters", [])]

    @property
    def content_types(self) -> list[str]:
        return (self.inference or {}).get("SupportedContentTypes") or [CSV]

    @property
    def response_types(self) -> list[str]:
        return (self.inference or {}).get("SupportedResponseMIMETypes") or [CSV]

    @property
    def traffic(self) -> Traffic:
        """What the /invocations probes send this image and ask it for."""
        accept = CSV if lists_csv(self.response_types) else self.response_types[0]
        sample = next((Payload(self.invocation_samples[kind], 1, kind, f"the declared {kind} sample")
                       for kind in self.content_types if kind in self.invocation_samples), None)
        return Traffic(lists_csv(self.content_types), accept, sample)

    @property
    def primary_channel(self) -> Channel:
        """The channel the bad-input runs spoil: the first required one."""
        return next((c for c in self.channels if c.required), self.channels[0])

    def summary(self) -> str:
        if self.source is None:
            return (f"none (no --byoc-spec, no {CONVENTIONAL_NAME} here): defaults: one required 'training' "
                    f"channel of generated text/csv, label first ({self.csv.describe_label()}) then "
                    f"{self.csv.features} features, no hyperparameters or metrics "
                    "declared (declaration-driven checks are not applicable)")
        return (f"{self.source}: {len(self.channels)} channel(s), {len(self.hyperparameters)} hyperparameter(s), "
                f"{len(self.metric_definitions)} metric(s); invocations {', '.join(self.content_types)} -> "
                f"{', '.join(self.response_types)}; CSV {self.csv.columns} columns, label "
                f"{'none' if self.csv.label_column is None else f'column {self.csv.label_column}'}"
                f"{'' if self.csv.label_column is None else ', ' + self.csv.describe_label()}")


DEFAULTS = Declaration(None)


def parse_hyperparameter(spec: dict[str, Any]) -> Hyperparameter:
    ranges = spec.get("Range", {})
    numeric = ranges.get("IntegerParameterRangeSpecification") or ranges.get("ContinuousParameterRangeSpecification")
    return Hyperparameter(
        spec["Name"], spec["Type"], bool(spec.get("IsRequired")), spec.get("DefaultValue"),
        numeric["MinValue"] if numeric else None, numeric["MaxValue"] if numeric else None,
        tuple(ranges.get("CategoricalParameterRangeSpecification", {}).get("Values", ())),
        bool(spec.get("IsTunable")),
    )


def locate(given: Path | None, cwd: Path) -> Path | None:
    if given is not None:
        return given
    conventional = cwd / CONVENTIONAL_NAME
    return conventional if conventional.is_file() else None


# What the harness reads of a declaration: a real one is a few KiB and a few levels deep (the API caps lists at
# 8 channels and 100 hyperparameters, which checks judge; the schema stops lists at 1000).
MAX_SPEC_BYTES = 4 * 1024 * 1024
MAX_SPEC_DEPTH = 32


def _depth(value: object) -> int:
    """How deeply a JSON value nests, counted without recursion."""
    deepest, stack = 0, [(value, 1)]
    while stack:
        item, depth = stack.pop()
        deepest = max(deepest, depth)
        children = item.values() if isinstance(item, dict) else item if isinstance(item, list) else ()
        stack.extend((child, depth + 1) for child in children if isinstance(child, (dict, list)))
    return deepest


def load(path: Path | None) -> Declaration:
    """The declaration in `path` (None: the defaults). Raises SpecError naming the file and the JSON path."""
    if path is None:
        return DEFAULTS
    try:
        if path.stat().st_size > MAX_SPEC_BYTES:
            raise SpecError(f"the declaration {path} has {path.stat().st_size} bytes; the harness reads at most "
                            f"{MAX_SPEC_BYTES}")
        document = json.loads(path.read_text(encoding="utf-8"))
    except OSError as error:
        raise SpecError(f"cannot read the declaration {path}: {error.strerror}") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise SpecError(f"the declaration {path} is not valid JSON: {error}") from None
    except RecursionError:
        raise SpecError(f"the declaration {path} nests deeper than the harness reads") from None
    if _depth(document) > MAX_SPEC_DEPTH:
        raise SpecError(f"the declaration {path} nests deeper than {MAX_SPEC_DEPTH} levels")
    specs.validate(document, "declaration.schema.json", f"the declaration {path}")
    own = document.get(OWN_SECTION, {})
    training = document.get("TrainingSpecification")
    csv = _csv_layout(own.get("csv", {}), path)
    samples = own.get("channels", {})
    channels = tuple(
        Channel(spec["Name"], bool(spec.get("IsRequired")), tuple(spec["SupportedContentTypes"]),
                _read_sample(path, spec["Name"], samples[spec["Name"]]) if spec["Name"] in samples else None,
                tuple(spec["SupportedInputModes"]))
        for spec in training["TrainingChannels"]
    ) if training else Declaration.channels
    undeclared = sorted(set(samples) - {c.name for c in channels})
    if undeclared:
        raise SpecError(f"the declaration {path} at $.{OWN_SECTION}.channels: sample data for undeclared "
                        f"channel(s) {', '.join(undeclared)}; TrainingSpecification.TrainingChannels lists "
                        f"{', '.join(c.name for c in channels)}")
    for channel in channels:
        if channel.required and channel.sample is None and not channel.accepts_csv:
            raise SpecError(f"the declaration {path}: the required channel {channel.name!r} takes "
                            f"{', '.join(channel.content_types)}, not text/csv, so the harness cannot generate its "
                            f"data: give a sample at $.{OWN_SECTION}.channels.{channel.name}")
    invocations = {kind: _read_file(path, f"$.{OWN_SECTION}.invocations", where)
                   for kind, where in own.get("invocations", {}).items()}
    return Declaration(path, training, document.get("InferenceSpecification"), csv, channels, invocations,
                       _checkpoints(own, path), bool(own.get("network_isolation", False)),
                       bool(own.get("response_streaming", False)), bool(own.get("async_inference", False)),
                       document.get("ValidationSpecification"),
                       any(key.startswith("ModelPackage") for key in document),
                       _waivers(own, path))


def _waivers(own: dict[str, Any], path: Path) -> tuple[Waiver, ...]:
    try:
        return from_section(own.get("waivers", []), f"the declaration {path} at $.{OWN_SECTION}.waivers")
    except HarnessError as error:
        raise SpecError(str(error)) from None


def _checkpoints(own: dict[str, Any], path: Path) -> Checkpoints | None:
    if "checkpoints" not in own:
        return None
    resumed = own["checkpoints"].get("resumed")
    try:
        return Checkpoints(re.compile(resumed) if resumed else None)
    except re.error as error:
        raise SpecError(f"the declaration {path} at $.{OWN_SECTION}.checkpoints.resumed: the regex does not compile: "
                        f"{error}") from None


def _csv_layout(section: dict[str, Any], path: Path) -> CsvLayout:
    if not section:
        return DEFAULT_CSV
    columns, label = section["columns"], section.get("label_column", 0)
    where = f"the declaration {path} at $.{OWN_SECTION}.csv"
    if label is not None and label >= columns:
        raise SpecError(f"{where}.label_column: column {label} does not exist among {columns} columns")
    ranges = section.get("ranges")
    if ranges is None:
        per_column: tuple = ()
    elif ranges and isinstance(ranges[0], (int, float)):
        per_column = (tuple(ranges),) * columns
    elif len(ranges) != columns:
        raise SpecError(f"{where}.ranges: {len(ranges)} ranges for {columns} columns")
    else:
        per_column = tuple(tuple(r) if r else None for r in ranges)
    if any(r and r[0] > r[1] for r in per_column):
        raise SpecError(f"{where}.ranges: a range has its minimum above its maximum")
    label_range = per_column[label] if per_column and label is not None else None

    def holds(classes: int) -> bool:
        return not label_range or label_range[0] <= 0 < classes - 1 <= label_range[1]

    # Undeclared, the label is the default classes, or continuous where a declared label range cannot hold them.
    kind = section.get("label", {"classes": DEFAULT_CLASSES} if holds(DEFAULT_CLASSES) else "continuous")
    classes = None if kind == "continuous" else kind["classes"]
    if classes and not holds(classes):
        raise SpecError(f"{where}: class labels 0-{classes - 1} lie outside the label column's range "
                        f"{list(label_range or ())}; declare \"label\": \"continuous\" or widen the range")
    return CsvLayout(columns, label, per_column, classes)


def _read_file(declaration: Path, where: str, relative: str) -> bytes:
    target = declaration.parent / relative
    try:
        return target.read_bytes()
    except OSError as error:
        raise SpecError(f"the declaration {declaration} at {where}: cannot read {target}: {error.strerror}") from None


def _read_sample(declaration: Path, channel: str, relative: str) -> dict[str, bytes]:
    target = declaration.parent / relative
    if target.is_dir():
        return {str(p.relative_to(target)): p.read_bytes() for p in sorted(target.rglob("*")) if p.is_file()}
    return {target.name: _read_file(declaration, f"$.{OWN_SECTION}.channels.{channel}", relative)}
