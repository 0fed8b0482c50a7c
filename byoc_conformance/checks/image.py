"""Image-level requirements (catalogue A.1), judged from the image's configuration and filesystem."""

from __future__ import annotations

import io
import json
import posixpath
import tarfile

import docker.errors
from docker.models.containers import Container

from ..registry import Context, check
from ..verdicts import Failed

SHELLS = {"sh", "bash", "dash", "ash", "zsh"}
DEFAULT_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"


def _entrypoint(ctx: Context) -> list[str]:
    return list(ctx.image_config.get("Entrypoint") or [])


def _is_shell_form(entrypoint: list[str]) -> bool:
    # Docker stores `ENTRYPOINT command args` as [<SHELL>, "-c", "command args"].
    return len(entrypoint) >= 3 and posixpath.basename(entrypoint[0]) in SHELLS and entrypoint[1] == "-c"


def _inspect_command(ctx: Context) -> str:
    return f"docker image inspect --format '{{{{json .Config.Entrypoint}}}} {{{{json .Config.Env}}}}' {ctx.image}"


@check("IMG-01", "train-and-serve-reachable")
def train_and_serve_reachable(ctx: Context) -> str:
    entrypoint = _entrypoint(ctx)
    if _is_shell_form(entrypoint):
        script = entrypoint[2]
        if any(ref in script for ref in ("$0", "$@", "$*", "${0", "${@")):
            return f"shell-form ENTRYPOINT passes the argument on: {script!r}"
        raise Failed(
            f"shell-form ENTRYPOINT {script!r}: /bin/sh -c takes `train`/`serve` as $0, which the command never uses",
            expected="an exec-form ENTRYPOINT that receives `train`/`serve` as its first argument, "
            "or no ENTRYPOINT and executables named train and serve on PATH",
            reproduce=_inspect_command(ctx),
        )
    if entrypoint:
        return f"exec-form ENTRYPOINT {json.dumps(entrypoint)} receives `train`/`serve` as its first argument"
    path = _image_path(ctx)
    container = ctx.engine.create_container(ctx.image, ["train"], role="inspect-path", network_mode="none")
    try:
        found = {name: _find_executable(container, path, name) for name in _programs(ctx)}
    finally:
        ctx.engine.remove(container)
    missing = [name for name, where in found.items() if where is None]
    if missing:
        raise Failed(
            f"no ENTRYPOINT, and no executable {' or '.join(missing)} on PATH={path}",
            expected="`docker run IMAGE train` and `docker run IMAGE serve` to start the program: "
            "executables named train and serve on PATH, or an exec-form ENTRYPOINT",
            reproduce=_inspect_command(ctx),
        )
    return f"no ENTRYPOINT; executables on PATH: {', '.join(str(where) for where in found.values())}"


def _programs(ctx: Context) -> tuple[str, ...]:
    """What `--image` must start: `serve` alone for an inference-only image (--byoc-model), `train` alone
    when a separate image serves (--byoc-inference-image)."""
    if ctx.training.disabled:
        return ("serve",)
    return ("train",) if ctx.hosting.image != ctx.image else ("train", "serve")


def _image_path(ctx: Context) -> str:
    for variable in ctx.image_config.get("Env") or []:
        if variable.startswith("PATH="):
            return str(variable[len("PATH="):])
    return DEFAULT_PATH


def _find_executable(container: Container, path: str, name: str) -> str | None:
    for directory in path.split(":"):
        candidate = posixpath.join(directory or ".", name)
        for _ in range(10):  # follow symbolic links, a few levels deep
            member = _stat(container, candidate)
            if member is None or not member.issym():
                break
            candidate = posixpath.normpath(posixpath.join(posixpath.dirname(candidate), member.linkname))
        if member is not None and member.isfile() and member.mode & 0o111:
            return candidate
    return None


def _stat(container: Container, path: str) -> tarfile.TarInfo | None:
    try:
        stream, _ = container.get_archive(path)
    except docker.errors.NotFound:
        return None
    with tarfile.open(fileobj=io.BytesIO(b"".join(stream))) as archive:
        return archive.next()


@check("IMG-02", "exec-form-entrypoint")
def exec_form_entrypoint(ctx: Context) -> str:
    entrypoint = _entrypoint(ctx)
    if not entrypoint:
        return "no ENTRYPOINT: `train`/`serve` run directly as PID 1 and receive signals"
    if _is_shell_form(entrypoint):
        raise Failed(
            f"shell-form ENTRYPOINT {json.dumps(entrypoint)}: {entrypoint[0]} is PID 1, and SIGTERM reaches "
            "the shell, not the program",
            expected='an exec-form ENTRYPOINT ["executable", "param", ...]',
            reproduce=_inspect_command(ctx),
        )
    return f"exec-form ENTRYPOINT {json.dumps(entrypoint)}"


@check("IMG-03", "no-tini")
def no_tini(ctx: Context) -> str:
    entrypoint = _entrypoint(ctx)
    inits = [part for part in entrypoint if posixpath.basename(part).startswith(("tini", "docker-init"))]
    if inits:
        raise Failed(
            f"ENTRYPOINT {json.dumps(entrypoint)} runs {inits[0]} as init",
            expected="no tini as entrypoint or init: SageMaker's docs say the train and serve arguments confuse it",
            reproduce=_inspect_command(ctx),
        )
    return f"no tini in ENTRYPOINT {json.dumps(entrypoint)}"
