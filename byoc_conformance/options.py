"""What one run is asked to do, as one frozen object: the image and what it claims (the declaration, with the
claims the command line adds), how to run it (timeouts, sizes, the seed, limits) and what to report. Built and
validated once, from the command line's values, before anything starts; the harness passes it down."""

from __future__ import annotations

import dataclasses
import json
import os
import random
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from . import declaration, profile, script
from .declaration import DEFAULTS, Declaration
from .engine import HarnessError, Limits
from .profile import Profile
from .s3 import Buckets
from .script import Command, Script
from .waivers import Waiver, from_option

MAX_BATCH_INPUT_MB = 1024.0


@dataclass(frozen=True)
class TrainingOptions:
    timeout: float = 600.0  # one training run on good input (--byoc-train-timeout)
    hyperparameter_examples: int = 2
    hyperparameter_probes: int = 12
    hosts: int = 2  # of the multi-host job


@dataclass(frozen=True)
class ServingOptions:
    startup_timeout: float = 480.0  # until /ping answers 200: SageMaker's 8 minutes
    invocation_timeout: float = 70.0  # the whole answer to one request: the client timeout AWS advises
    examples: int = 100  # generated payloads per property probe
    batch_input_mb: float = 4.0
    serverless_mb: int | None = None  # --byoc-serverless: the memory size of the serverless profile
    async_payload_mb: int = 64


@dataclass(frozen=True)
class ReportOptions:
    directory: Path | None = None  # --byoc-report: where the bundle is written
    repro_dir: Path | None = None
    fail_on: str = "must"
    vendor: str | None = None
    product: str | None = None
    product_version: str | None = None
    waivers: tuple[Waiver, ...] = ()  # the declaration's, then --byoc-waive's
    strict_waivers: bool = False  # --byoc-strict-waivers: a stale waiver fails the gate
    baseline: Path | None = None  # --byoc-baseline: an earlier report.json
    baseline_report: Mapping[str, Any] | None = None  # its document
    gate_on: str = "verdict"  # --byoc-gate: verdict | new-failures
    today: date = field(default_factory=date.today)  # what a waiver's end date is compared with


@dataclass(frozen=True)
class RunOptions:
    image: str
    declaration: Declaration = DEFAULTS  # the declaration file's, with the claims the command line adds
    seed: int = 0  # of every generated input; drawn at random when not given, and shown so it can be repeated
    inference_image: str = ""  # a separate image for hosting; empty: the image under test
    training: TrainingOptions = TrainingOptions()
    serving: ServingOptions = ServingOptions()
    code: Script | None = None  # script mode: the user's code
    command: Command = Command()  # ContainerEntrypoint / ContainerArguments
    model: Path | None = None  # --byoc-model: an inference-only image, served this model
    pipeline: tuple[str, ...] = ()  # IMAGE or IMAGE=MODEL of the containers after it in a pipeline
    limits: Limits = Limits()
    network: str = "auto"
    host_address: str | None = None
    jobs: int | None = None  # runs at once; None: the engine's CPU count
    report: ReportOptions = ReportOptions()
    s3: Buckets = Buckets()  # --byoc-s3: where the validation profile's S3 data is
    profile: Profile | None = None  # the validation profile's jobs, when the request has one and its data is mapped
    given: Mapping[str, Any] = field(default_factory=dict)  # the options as given, seed included, for the report

    @property
    def hosting_image(self) -> str:
        return self.inference_image or self.image

    @classmethod
    def from_command_line(cls, values: Mapping[str, Any], cwd: Path) -> RunOptions:
        """The run's options from pytest's option values (`image` and every `byoc_*`). Raises HarnessError (or the
        declaration's SpecError) with one line for what no parser type can judge alone."""
        image = values["image"]
        if not image.strip():
            raise HarnessError("--image is empty: name the image to test, e.g. --image myrepo/algo:latest")
        for name in ("byoc_report", "byoc_repro_dir"):
            _check_output_directory(f"--{name.replace('_', '-')}", values[name])
        if values["byoc_batch_input_mb"] > MAX_BATCH_INPUT_MB:
            raise HarnessError(f"--byoc-batch-input-mb {values['byoc_batch_input_mb']:g}: at most "
                               f"{MAX_BATCH_INPUT_MB:g} (the input file is generated in memory)")
        code, command = _script_options(values)
        seed = values["byoc_seed"] if values["byoc_seed"] is not None else random.randrange(2**32)
        declared = _with_claimed_modes(declaration.load(declaration.locate(values["byoc_spec"], cwd)), values)
        buckets = Buckets.parse(values["byoc_s3"], cwd)
        return cls(
            image=image,
            declaration=declared,
            seed=seed,
            inference_image=values["byoc_inference_image"] or "",
            training=TrainingOptions(values["byoc_train_timeout"], values["byoc_hyperparameter_examples"],
                                     values["byoc_hyperparameter_probes"], values["byoc_hosts"]),
            serving=ServingOptions(values["byoc_startup_timeout"], values["byoc_invocation_timeout"],
                                   values["byoc_examples"], values["byoc_batch_input_mb"], values["byoc_serverless"],
                                   values["byoc_async_payload_mb"]),
            code=code,
            command=command,
            model=values["byoc_model"],
            pipeline=tuple(values["byoc_pipeline"]),
            limits=Limits(memory_mb=values["byoc_memory_mb"], pids=values["byoc_pids"]),
            network=values["byoc_network"],
            host_address=values["byoc_host_address"],
            jobs=values["byoc_jobs"],
            report=ReportOptions(values["byoc_report"], values["byoc_repro_dir"], values["byoc_fail_on"],
                                 values["byoc_vendor"], values["byoc_product"], values["byoc_product_version"],
                                 (*declared.waivers, *map(from_option, values["byoc_waive"])),
                                 values["byoc_strict_waivers"], values["byoc_baseline"],
                                 _baseline(values["byoc_baseline"], values["byoc_gate"]), values["byoc_gate"]),
            s3=buckets,
            profile=profile.build(declared, buckets, values["byoc_model"]),
            given={name: _plain(seed if name == "byoc_seed" else value) for name, value in values.items()
                   if name == "image" or name.startswith("byoc_")},
        )


def _with_claimed_modes(declared: Declaration, values: Mapping[str, Any]) -> Declaration:
    """The declaration with the modes the command line claims (as if it said so itself)."""
    if values["byoc_checkpoints"] and declared.checkpoints is None:
        declared = dataclasses.replace(declared, checkpoints=declaration.Checkpoints())
    claims = {"network_isolation": values["byoc_network_isolation"],
              "response_streaming": values["byoc_response_streaming"], "async_inference": values["byoc_async"]}
    return dataclasses.replace(declared, **{name: True for name, claimed in claims.items() if claimed})


def _script_options(values: Mapping[str, Any]) -> tuple[Script | None, Command]:
    """The user's code and the training command."""
    entry_point = values["byoc_entry_point"]
    others = [f"--byoc-{name.replace('_', '-')}" for name in ("source_dir", "dependencies", "serving_entry_point")
              if values[f"byoc_{name}"]]
    try:
        if entry_point is None and others:
            raise script.ScriptError(f"{others[0]} needs --byoc-entry-point: name the script to run")
        code = Script.from_options(entry_point, values["byoc_source_dir"], values["byoc_dependencies"],
                                   values["byoc_serving_entry_point"]) if entry_point is not None else None
        command = Command(script.command_list("--byoc-container-entrypoint", values["byoc_container_entrypoint"]),
                          script.command_list("--byoc-container-arguments", values["byoc_container_arguments"]))
    except script.ScriptError as error:
        raise HarnessError(str(error)) from None
    return code, command


def _baseline(path: Path | None, gate_on: str) -> Mapping[str, Any] | None:
    """--byoc-baseline's report.json, read whole (a report is a few hundred KiB)."""
    if path is None:
        if gate_on == "new-failures":
            raise HarnessError("--byoc-gate new-failures needs --byoc-baseline, an earlier report.json")
        return None
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except OSError as error:
        raise HarnessError(f"--byoc-baseline {path}: cannot read it: {error.strerror}") from None
    except (ValueError, UnicodeDecodeError):
        raise HarnessError(f"--byoc-baseline {path}: not JSON: give a report.json the harness wrote") from None
    requirements = document.get("requirements") if isinstance(document, dict) else None
    if not isinstance(requirements, list) or not all(
            isinstance(record, dict) and isinstance(record.get("checks"), list) and all(
                isinstance(check, dict) and isinstance(check.get("check"), str) and isinstance(check.get("status"), str)
                for check in record["checks"]) for record in requirements):
        raise HarnessError(f"--byoc-baseline {path}: not a report.json of byoc-conformance (no requirements with "
                           "their checks' statuses)")
    return document


def _check_output_directory(option: str, path: Path | None) -> None:
    """A directory the harness will write into: it may not exist yet, but it must be one it can create."""
    if path is None:
        return
    if path.exists() and not path.is_dir():
        raise HarnessError(f"{option} {path}: exists and is not a directory")
    existing = next(parent for parent in (path, *path.parents) if parent.exists())
    if not existing.is_dir() or not os.access(existing, os.W_OK | os.X_OK):
        raise HarnessError(f"{option} {path}: {existing} is not a directory the harness can write in")


def _plain(value: Any) -> Any:
    """An option's value as JSON holds it: paths as strings, repeated options as lists."""
    if isinstance(value, (list, tuple)):
        return [_plain(item) for item in value]
    return value if isinstance(value, (int, float, bool)) or value is None else str(value)
