"""Image-level requirements (catalogue A.1), judged from the image's runs, with its configuration as the explanation."""

from __future__ import annotations

import json
import posixpath

from ..hosting import Hosting, Server
from ..jobs import TrainingRun
from ..outcome import CouldNotRun
from ..registry import Context, check
from ..serving import shared_pid1
from ..training import Shipped, TrainingRuns, shipped_under_model, shipped_under_mounts
from ..verdicts import Failed, Inconclusive

SHELLS = {"sh", "bash", "dash", "ash", "zsh"}
DEFAULT_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"


def _entrypoint(ctx: Context) -> list[str]:
    return list(ctx.image_config.get("Entrypoint") or [])


def _is_shell_form(entrypoint: list[str]) -> bool:
    # Docker stores `ENTRYPOINT command args` as [<SHELL>, "-c", "command args"].
    return len(entrypoint) >= 3 and posixpath.basename(entrypoint[0]) in SHELLS and entrypoint[1] == "-c"


def _inspect_command(ctx: Context) -> str:
    return f"docker image inspect --format '{{{{json .Config.Entrypoint}}}} {{{{json .Config.Env}}}}' {ctx.image}"


NOT_STARTED = {126: "126, not executable", 127: "127, command not found"}  # the codes of sh and of Docker
EXEC_FORMAT = "exec format error"  # the kernel's word for a program built for another platform
SAGEMAKER_PLATFORMS = ("linux/amd64", "linux/arm64")


def _cannot_execute(run: TrainingRun | Server) -> bool:
    return EXEC_FORMAT in (run.start_error or "") or EXEC_FORMAT in run.logs[-4096:]


@check("IMG-01", "train-and-serve-reachable", runs=(TrainingRuns.good, Hosting.shared))
def train_and_serve_reachable(ctx: Context) -> str:
    """Judged on the runs: `docker run IMAGE train` and `docker run IMAGE serve`, as every other check makes them;
    the image's configuration explains a failure."""
    entrypoint = _entrypoint(ctx)
    expected = ("`docker run IMAGE train` and `docker run IMAGE serve` start the training and serving programs: "
                "executables named train and serve on PATH, or an exec-form ENTRYPOINT that passes the argument on")
    if _is_shell_form(entrypoint) and not any(ref in entrypoint[2] for ref in ("$0", "$@", "$*", "${0", "${@")):
        raise Failed(
            f"shell-form ENTRYPOINT {entrypoint[2]!r}: /bin/sh -c takes `train`/`serve` as $0, which the command "
            "never uses", expected=expected, reproduce=_inspect_command(ctx))
    reached, unobserved = [], []
    for program in _programs(ctx):
        try:
            run = ctx.training.good if program == "train" else ctx.hosting.shared
        except CouldNotRun as why:  # e.g. no model to serve, because training failed
            unobserved.append(f"`{program}`: {why.observed}")
            continue
        problem, outcome = _not_reached(program, run)
        if problem:
            raise Failed(f"{problem}; the image has {_configuration(ctx)}", expected=expected, run=run,
                         reproduce=_inspect_command(ctx))
        (reached if outcome else unobserved).append(outcome or f"`{program}`: {run.outcome()}")
    if not reached:
        raise Inconclusive(f"no program was seen to start: {'; '.join(unobserved)}")
    return "; ".join(reached) + (f" (not observed: {'; '.join(unobserved)})" if unobserved else "") + \
        f"; {_configuration(ctx)}"


def _not_reached(program: str, run: TrainingRun | Server) -> tuple[str | None, str | None]:
    """(why the argument did not start the program, or None; what shows that it did, or None)."""
    if _cannot_execute(run):  # the argument may well reach the program; the platform is IMG-09's verdict
        return None, None
    if run.start_error:
        return f"`docker run IMAGE {program}` could not start: {run.start_error}", None
    code = run.exit_code
    if isinstance(run, Server):
        if run.healthy_after is not None:
            return None, f"`serve` answered /ping 200 {run.healthy_after:.1f} s after start"
        if code in NOT_STARTED:
            return f"`serve` exited with code {NOT_STARTED[code]}, before it served", None
        if code == 0:
            return "`serve` exited with code 0 without serving: the argument started something else", None
        return None, None
    if code in NOT_STARTED:
        return f"`train` exited with code {NOT_STARTED[code]} after {run.duration:.1f} s", None
    if code is not None and not run.killed_at_deadline:
        return None, f"`train` ran and exited with code {code} after {run.duration:.1f} s"
    return None, None


def _configuration(ctx: Context) -> str:
    config = ctx.image_config
    return (f"ENTRYPOINT {json.dumps(config.get('Entrypoint'))}, CMD {json.dumps(config.get('Cmd'))}, "
            f"PATH={_image_path(ctx)}")


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


def _tini_runs(ctx: Context) -> object:
    """An inference-only image under tini is judged on its server: healthy, and stopped by SIGTERM."""
    if ctx.training.disabled and _inits(_entrypoint(ctx)):
        return ctx.hosting.shared, ctx.hosting.stopped_by_sigterm
    return None


def _inits(entrypoint: list[str]) -> list[str]:
    return [part for part in entrypoint if posixpath.basename(part).startswith(("tini", "docker-init"))]


@check("IMG-03", "no-tini", runs=(_tini_runs,))
def no_tini(ctx: Context) -> str:
    entrypoint = _entrypoint(ctx)
    inits = _inits(entrypoint)
    if not inits:
        return f"no tini in ENTRYPOINT {json.dumps(entrypoint)}"
    if not ctx.training.disabled:
        raise Failed(
            f"ENTRYPOINT {json.dumps(entrypoint)} runs {inits[0]} as init, in an image SageMaker trains with",
            expected="no tini as entrypoint or init: SageMaker's training docs say the train and serve arguments "
            "confuse it",
            reproduce=_inspect_command(ctx),
        )
    # An inference-only image (--byoc-model): judge what the rule protects, the argument and SIGTERM reaching serve.
    server = ctx.hosting.shared
    expected = f"{inits[0]} passes `serve` on (/ping answers 200) and SIGTERM on (the container exits within 30 s)"
    if server.healthy_after is None:
        raise Failed(f"under {inits[0]}, `serve` never became healthy: {server.outcome()}", expected=expected,
                     run=server)
    stop = ctx.hosting.stopped_by_sigterm
    if stop.seconds is None:
        raise Failed(f"under {inits[0]}, the container was still running 30 s after SIGTERM", expected=expected,
                     run=stop.server)
    return (f"inference-only image: {inits[0]} passes `serve` on (healthy after {server.healthy_after:.1f} s) and "
            f"SIGTERM on (exited {stop.seconds:.2f} s after it)")


@check("IMG-04", "serves-as-root", runs=(Hosting.shared,))
def serves_as_root(ctx: Context) -> str:
    """Judged on the running server's PID 1, what SageMaker starts: a server that gives up root for its workers
    (nginx, gunicorn) after starting as root conforms."""
    server = ctx.hosting.shared
    pid1 = shared_pid1(ctx.hosting)
    if not pid1.running:
        raise Inconclusive(f"no running server to look at: {server.outcome()}", run=server)
    if ctx.engine.remapped_users:
        raise Inconclusive("the engine remaps user IDs (userns-remap or rootless Docker): its `ps` shows the "
                           "host's user IDs, not the container's")
    process = pid1.process
    if process is None:
        raise Inconclusive("the engine's `ps` did not show the server's PID 1")
    user = ctx.image_config.get("User") or ""
    configured = f"the image's USER is {user!r}" if user else "the image sets no USER (root)"
    if not process.root:
        raise Failed(
            f"the server's PID 1 ({process.command}) runs as {process.user}, not root; {configured}",
            expected="the serve container runs as root (UID 0): SageMaker's hosting expects root, and other users "
            "meet permission errors", run=server,
            reproduce=f"docker top byoc-repro-{server.role} -o pid,user,args")
    return f"the server's PID 1 ({process.command}) runs as root (UID 0); {configured}"


@check("IMG-09", "runs-on-the-engine-platform", runs=(TrainingRuns.good, Hosting.shared))
def runs_on_the_engine_platform(ctx: Context) -> str:
    """The image's platform is one SageMaker runs, and its programs execute on this engine's platform."""
    platform, engine = ctx.image_platform, ctx.engine.platform
    if platform not in SAGEMAKER_PLATFORMS:
        raise Failed(f"the image is {platform}", expected=f"an image for {' or '.join(SAGEMAKER_PLATFORMS)}, the "
                     "platforms of SageMaker's instances", reproduce=f"docker image inspect --format "
                     f"'{{{{.Os}}}}/{{{{.Architecture}}}}' {ctx.image}")
    ran = []
    for program in _programs(ctx):
        try:
            run = ctx.training.good if program == "train" else ctx.hosting.shared
        except CouldNotRun:
            continue
        if _cannot_execute(run):
            raise Failed(f"`{program}` could not execute on this {engine} engine ({EXEC_FORMAT}); the image says it "
                         f"is {platform}", run=run, expected=f"programs that run on instances of the engine's "
                         f"platform, {engine} (certify an image for another platform on an engine of that platform)")
        if _not_reached(program, run)[1]:
            ran.append(program)
    if not ran:
        raise Inconclusive(f"no program of this {platform} image was seen to run on the {engine} engine")
    return f"{platform} image; {' and '.join(f'`{p}`' for p in ran)} ran on this {engine} engine"


def _shipped(ctx: Context) -> Shipped:
    """What the image ships under the directories its runs mount over: training's three, or /opt/ml/model for an
    inference-only image, which only serves."""
    return shipped_under_model(ctx.hosting) if ctx.training.disabled else shipped_under_mounts(ctx.training)


@check("IMG-07", "nothing-relied-on-under-opt-ml", runs=(TrainingRuns.good, _shipped))
def nothing_relied_on_under_opt_ml(ctx: Context) -> str:
    """What the image ships under the directories SageMaker mounts over (training's three; /opt/ml/model when it
    serves) is hidden in every run the harness starts, as in SageMaker: the good run tells whether it was needed."""
    program = "serve" if ctx.training.disabled else "train"
    run: TrainingRun | Server = ctx.hosting.shared if ctx.training.disabled else ctx.training.good
    shipped = _shipped(ctx)
    image, paths, files = shipped.image, shipped.paths, shipped.files
    if not files:
        return f"the image ships no file under {', '.join(paths)}, which SageMaker mounts over"
    shown = ", ".join(files[:5]) + (f" and {len(files) - 5} more" if len(files) > 5 else "")
    worked = run.exit_code == 0 if isinstance(run, TrainingRun) else run.healthy_after is not None
    if worked:
        return (f"ships {len(files)} file(s) there ({shown}), hidden by the mounts in every run; `{program}` worked "
                "without them")
    named = [line.strip() for line in run.logs.splitlines() if any(
        posixpath.basename(name) in line for name in files[:100])]
    if named:
        raise Failed(f"`{program}` failed ({run.outcome()}), and its log names files the image ships under "
                     f"{', '.join(paths)}, hidden there by SageMaker's mounts: " + " | ".join(named[-3:]),
                     expected=f"nothing needed from under {', '.join(paths)}: ship it elsewhere (e.g. /opt/program)",
                     run=run, reproduce=f"docker run --rm --entrypoint ls {image} -lR {' '.join(paths)}")
    raise Inconclusive(f"`{program}` failed ({run.outcome()}) without naming the {len(files)} file(s) the image ships "
                       f"there ({shown})", run=run)
