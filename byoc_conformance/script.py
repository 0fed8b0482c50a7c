"""Script mode as SageMaker's Python SDK delivers it, offline (SCRIPT-01, TRAIN-01, TRAIN-05): the user's entry point
and source directory packed into sourcedir.tar.gz for training, with the sagemaker_* hyperparameters the SDK adds
and every hyperparameter JSON-encoded; for hosting, model.tar.gz repacked with the code under code/ and the
environment the SDK sets for the model."""

from __future__ import annotations

import io
import json
import os
import shlex
import tarfile
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path, PurePosixPath

from .declaration import Hyperparameter
from .opt_ml import CODE_FILE

# Where the harness puts sourcedir.tar.gz in a training container, in place of the S3 URI the SDK uploads it to.
# The training toolkit treats a local tar file as it treats the downloaded object: extracted into /opt/ml/code.
SUBMIT_PATH = f"/opt/ml/input/{CODE_FILE}"
CODE_DIR = "/opt/ml/code"  # where the training toolkit extracts the source, and where baked-in code lives
SERVING_CODE_DIR = "/opt/ml/model/code"  # where the SDK's repacked model.tar.gz puts the code
REGION = "us-east-1"
LOG_LEVEL = 20  # the SDK's default container_log_level, logging.INFO
MAX_SOURCE_BYTES = 256 * 1024 * 1024  # the source is packed in memory
MAX_COMMAND_ITEMS, MAX_COMMAND_CHARS = 100, 256  # ContainerEntrypoint / ContainerArguments (TRAIN-01)
PROBE_NAME = "byoc_environment_probe.py"
PROBE_MARKER = "BYOC-CONFORMANCE-ENVIRONMENT "
USER_PROGRAM_ENV, SUBMIT_DIR_ENV = "SAGEMAKER_PROGRAM", "SAGEMAKER_SUBMIT_DIRECTORY"


class ScriptError(ValueError):
    """Script options that cannot be used: one line for the user."""


@dataclass(frozen=True)
class Script:
    """The user's code as SDK estimator arguments name it: entry_point, source_dir, dependencies; and the
    entry point the model is served with (the SDK's default: the training one)."""

    entry_point: str  # relative to source_dir, or a file name when there is no source_dir
    source_dir: Path | None = None
    serving_entry_point: str = ""
    files: dict[str, Path] = field(default_factory=dict, compare=False)  # archive name -> file on the host

    @classmethod
    def from_options(cls, entry_point: str, source_dir: Path | None, dependencies: list[Path] | None = None,
                     serving_entry_point: str | None = None) -> Script:
        """The options, checked before anything starts (ScriptError otherwise)."""
        files: dict[str, Path] = {}
        if source_dir is not None:
            if not source_dir.is_dir():
                raise ScriptError(f"--byoc-source-dir {source_dir}: not a directory")
            files.update(_tree(source_dir, ""))
            name = _inside(entry_point, source_dir, "--byoc-entry-point")
            serving = _inside(serving_entry_point or entry_point, source_dir, "--byoc-serving-entry-point")
        else:
            path = Path(entry_point)
            if not path.is_file():
                raise ScriptError(f"--byoc-entry-point {entry_point}: no such file (without --byoc-source-dir it "
                                  "names the script on this machine)")
            name = path.name
            files[name] = path
            serving = serving_entry_point or name
            if serving != name:
                raise ScriptError("--byoc-serving-entry-point needs --byoc-source-dir: without it only the entry "
                                  "point is packed")
        for dependency in dependencies or []:
            if not dependency.exists():
                raise ScriptError(f"--byoc-dependencies {dependency}: no such file or directory")
            # The SDK copies each dependency into the archive's top level under its own name.
            files.update(_tree(dependency, dependency.resolve().name) if dependency.is_dir()
                         else {dependency.name: dependency})
        size = sum(path.stat().st_size for path in files.values())
        if size > MAX_SOURCE_BYTES:
            raise ScriptError(f"the source ({len(files)} files, {size / 2**20:.0f} MiB) is over "
                              f"{MAX_SOURCE_BYTES // 2**20} MiB")
        return cls(name, source_dir, serving, files)

    @cached_property  # packed once for every run of the session (cached_property writes past the frozen check)
    def packed(self) -> bytes:
        return self.sourcedir()

    def sourcedir(self, extra: dict[str, bytes] | None = None) -> bytes:
        """sourcedir.tar.gz as the SDK packs it: the source directory's contents (or the entry point alone) and
        the dependencies at the top level; `extra` adds files (the harness's environment probe)."""
        return _gzipped_tar(self.files, extra or {})

    def hyperparameters(self, values: dict[str, str], specs: list[Hyperparameter], job_name: str,
                        program: str | None = None) -> dict[str, str]:
        """hyperparameters.json as an SDK framework estimator writes it: every value JSON-encoded, and the
        sagemaker_* entries naming the code. `values` are the strings the harness would give a plain image."""
        encoded = {name: encode(value, _type_of(name, specs)) for name, value in values.items()
                   if not name.startswith("sagemaker_")}
        return {
            **encoded,
            "sagemaker_program": json.dumps(program or self.entry_point),
            "sagemaker_submit_directory": json.dumps(SUBMIT_PATH),
            "sagemaker_container_log_level": json.dumps(LOG_LEVEL),
            "sagemaker_job_name": json.dumps(job_name),
            "sagemaker_region": json.dumps(REGION),
        }

    def serving_environment(self) -> dict[str, str]:
        """What the SDK sets on the model when the code travels inside model.tar.gz."""
        return {
            USER_PROGRAM_ENV: self.serving_entry_point,
            SUBMIT_DIR_ENV: SERVING_CODE_DIR,
            "SAGEMAKER_CONTAINER_LOG_LEVEL": str(LOG_LEVEL),
            "SAGEMAKER_REGION": REGION,
        }

    def describe(self) -> str:
        where = f" in {self.source_dir}" if self.source_dir else ""
        extra = f", serving {self.serving_entry_point}" if self.serving_entry_point != self.entry_point else ""
        return f"{self.entry_point}{where} ({len(self.files)} file(s){extra})"


def with_code(model_tar_gz: Path, script: Script, destination: Path) -> Path:
    """model.tar.gz repacked as the SDK repacks it for deployment: the model's own entries, minus any code/ it
    had, and the source under code/."""
    with tarfile.open(model_tar_gz) as source, tarfile.open(destination, "w:gz", compresslevel=1) as target:
        for member in source:
            if _top(member.name) == "code":
                continue
            target.addfile(member, source.extractfile(member) if member.isfile() else None)
        for name, path in script.files.items():
            target.add(path, arcname=f"code/{name}", recursive=False)
    return destination


def encode(value: str, declared_type: str | None) -> str:
    """A value as the SDK writes it: json.dumps of what the user would pass, a number for a numeric
    hyperparameter (or an undeclared one) that reads as a number, a string otherwise."""
    if declared_type not in ("Categorical", "FreeText"):
        try:
            number = json.loads(value)
        except ValueError:
            number = None
        if isinstance(number, (int, float)) and not isinstance(number, bool):
            return value
    return json.dumps(value)


def decoded(value: str) -> object:
    """What the training toolkit makes of a hyperparameters.json value: JSON if it parses, else the string."""
    try:
        return json.loads(value)
    except ValueError:
        return value


def command_list(option: str, text: str | None) -> list[str] | None:
    """--byoc-container-entrypoint / --byoc-container-arguments: a JSON list of strings, or words as a shell
    splits them; 1-100 items of at most 256 characters each, as CreateTrainingJob allows."""
    if text is None:
        return None
    try:
        items = json.loads(text) if text.lstrip().startswith("[") else shlex.split(text)
    except ValueError as error:
        raise ScriptError(f"{option} {text!r}: {error}") from None
    if not isinstance(items, list) or not all(isinstance(item, str) for item in items):
        raise ScriptError(f"{option} {text!r}: not a list of strings")
    if not 1 <= len(items) <= MAX_COMMAND_ITEMS:
        raise ScriptError(f"{option}: {len(items)} items; SageMaker takes 1 to {MAX_COMMAND_ITEMS}")
    too_long = next((item for item in items if len(item) > MAX_COMMAND_CHARS), None)
    if too_long is not None:
        raise ScriptError(f"{option}: an item of {len(too_long)} characters; SageMaker takes at most "
                          f"{MAX_COMMAND_CHARS}")
    return items


def probe_source(target: str) -> bytes:
    """The harness's entry point for the run that records the environment (SCRIPT-01): it prints what the
    toolkit gave it on one marked line, then runs `target`, the real entry point, in its place."""
    return f'''"""byoc-conformance: records the environment the toolkit gives the entry point, then runs it."""
import json, os, runpy, sys
TARGET = {target!r}
record = {{"argv": sys.argv[1:], "cwd": os.getcwd(), "target": TARGET,
          "environment": {{k: v for k, v in os.environ.items() if k.startswith(("SM_", "SAGEMAKER_"))}}}}
print({PROBE_MARKER!r} + json.dumps(record), flush=True)
sys.argv = [TARGET, *sys.argv[1:]]
if TARGET.endswith(".py"):
    runpy.run_path(TARGET, run_name="__main__")
else:
    os.execv("/bin/sh", ["/bin/sh", "-c", 'exec "./$0" "$@"', TARGET, *sys.argv[1:]])
'''.encode()


def probe_record(lines: Iterable[str]) -> dict | None:
    """The probe's record in a run's log lines, if it ran."""
    for line in lines:
        start = line.find(PROBE_MARKER)
        if start >= 0:
            try:
                return json.loads(line[start + len(PROBE_MARKER):])
            except ValueError:
                return None
    return None


def _top(name: str) -> str:
    parts = [part for part in PurePosixPath(name).parts if part != "."]
    return parts[0] if parts else ""


def _type_of(name: str, specs: list[Hyperparameter]) -> str | None:
    return next((spec.type for spec in specs if spec.name == name), None)


def _inside(name: str, directory: Path, option: str) -> str:
    relative = PurePosixPath(name)
    if relative.is_absolute() or ".." in relative.parts:
        raise ScriptError(f"{option} {name}: name it relative to --byoc-source-dir {directory}")
    if not (directory / relative).is_file():
        raise ScriptError(f"{option} {name}: no such file in --byoc-source-dir {directory}")
    return str(relative)


def _tree(directory: Path, prefix: str) -> dict[str, Path]:
    files = {}
    for root, dirs, names in os.walk(directory):
        dirs[:] = sorted(d for d in dirs if d != "__pycache__")
        for name in sorted(names):
            path = Path(root) / name
            if path.is_file():
                relative = path.relative_to(directory).as_posix()
                files[f"{prefix}/{relative}" if prefix else relative] = path
    return files


def _gzipped_tar(files: dict[str, Path], extra: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz", compresslevel=6) as archive:
        for name, path in files.items():
            archive.add(path, arcname=name, recursive=False)
        for name, content in extra.items():
            info = tarfile.TarInfo(name)
            info.size, info.mode = len(content), 0o644
            archive.addfile(info, io.BytesIO(content))
    return buffer.getvalue()


@dataclass(frozen=True)
class Command:
    """What the container is started with (TRAIN-01): `train` by default; AlgorithmSpecification's
    ContainerEntrypoint replaces the image's ENTRYPOINT and drops `train`, ContainerArguments replace `train`."""

    entrypoint: list[str] | None = None
    arguments: list[str] | None = None

    @property
    def args(self) -> list[str]:
        if self.arguments is not None:
            return self.arguments
        return [] if self.entrypoint is not None else ["train"]

    def describe(self) -> str:
        if self.entrypoint is None and self.arguments is None:
            return "train"
        program = [shlex.quote(item) for item in self.entrypoint] if self.entrypoint else ["ENTRYPOINT"]
        return " ".join([*program, *map(shlex.quote, self.args)])

    def docker_run(self, options: list[str], image: str) -> list[str]:
        """The `docker run` lines: --entrypoint takes one program, the rest of ContainerEntrypoint follows the image."""
        first, rest = (self.entrypoint[0], self.entrypoint[1:]) if self.entrypoint else (None, [])
        entrypoint = [f"--entrypoint {shlex.quote(first)}"] if first else []
        return [*entrypoint, *options, shlex.join([image, *rest, *self.args])]
