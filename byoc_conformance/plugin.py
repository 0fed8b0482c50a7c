"""pytest plugin: `pytest --image IMAGE` runs the SageMaker BYOC conformance suite against IMAGE.

Without --image it does nothing: no fixtures are used, nothing is collected, no container starts."""

from __future__ import annotations

import argparse
import os
import signal
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from . import __version__

if TYPE_CHECKING:
    from .harness import Harness

SUITE = Path(__file__).with_name("suite.py")


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not 0 < value < 86400 * 28:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of seconds above 0")
    return value


def _count(text: str) -> int:
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number above 0")
    return int(text)


SERVERLESS_MEMORY = (1024, 2048, 3072, 4096, 5120, 6144)  # ProductionVariantServerlessConfig.MemorySizeInMB


def _serverless_memory(text: str) -> int:
    if not text.isdigit() or int(text) not in SERVERLESS_MEMORY:
        sizes = ", ".join(map(str, SERVERLESS_MEMORY))
        raise argparse.ArgumentTypeError(f"{text!r}: serverless memory sizes are {sizes} MB")
    return int(text)


def _async_payload(text: str) -> int:
    if not text.isdigit() or not 7 <= int(text) <= 1024:
        raise argparse.ArgumentTypeError(f"{text!r}: an asynchronous request body is 7 to 1024 MiB (over the 6 MB "
                                         "a real-time request may have, up to the 1 GB an asynchronous one may)")
    return int(text)


def _hosts(text: str) -> int:
    if not text.isdigit() or int(text) < 2:
        raise argparse.ArgumentTypeError(f"{text!r}: a multi-host job has at least 2 hosts")
    return int(text)


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("byoc", "SageMaker BYOC conformance (byoc-conformance)")
    group.addoption("--image", metavar="IMAGE", help="run the SageMaker container conformance suite against IMAGE")
    group.addoption(
        "--byoc-train-timeout", type=_seconds, default=600.0, metavar="SECONDS",
        help="deadline for one training run on good input (default: 600); bad-input runs get "
        "min(this, max(60, 5 x the good run's duration)), both multiplied by the runs at once (--byoc-jobs)",
    )
    group.addoption(
        "--byoc-startup-timeout", type=_seconds, default=480.0, metavar="SECONDS",
        help="how long `serve` may take until /ping answers 200 (default: 480, SageMaker's 8 minutes)",
    )
    group.addoption(
        "--byoc-examples", type=_count, default=100, metavar="N",
        help="generated payloads per /invocations property probe (default: 100)",
    )
    group.addoption(
        "--byoc-seed", type=_count, default=None, metavar="N",
        help="seed for the generated payloads (default: random, shown in the header) to repeat a run",
    )
    group.addoption(
        "--byoc-batch-input-mb", type=_seconds, default=4.0, metavar="MB",
        help="size of the CSV file the batch transform checks transform (default: 4)",
    )
    group.addoption(
        "--byoc-spec", type=Path, default=None, metavar="FILE",
        help="the vendor's declaration: CreateAlgorithm TrainingSpecification/InferenceSpecification JSON plus a "
        "'byoc-conformance' section (default: ./byoc-spec.json if present, else built-in defaults)",
    )
    group.addoption(
        "--byoc-hyperparameter-examples", type=_count, default=2, metavar="N",
        help="training runs with every declared hyperparameter set to values drawn within the declaration "
        "(default: 2)",
    )
    group.addoption(
        "--byoc-hyperparameter-probes", type=_count, default=12, metavar="N",
        help="at most N training runs with one hyperparameter outside its declaration (default: 12)",
    )
    group.addoption(
        "--byoc-hosts", type=_hosts, default=2, metavar="N",
        help="the hosts of the multi-host training job run when the declaration claims "
        "SupportsDistributedTraining (default: 2)",
    )
    group.addoption(
        "--byoc-network-isolation", action="store_true", default=False,
        help="check that the image serves with no network at all (SERVE-15), as under CreateModel's "
        "EnableNetworkIsolation, which AWS Marketplace requires; as when the declaration has "
        "$.byoc-conformance.network_isolation: true",
    )
    group.addoption(
        "--byoc-serverless", type=_serverless_memory, default=None, metavar="MEMORY_MB",
        help="also serve as Serverless Inference does, with this MemorySizeInMB (1024-6144): memory and a CPU share "
        "to match, as a user other than root; checks SLS-02..06 and IMG-10",
    )
    group.addoption(
        "--byoc-async", action="store_true", default=False,
        help="check that the image serves asynchronous inference (ASYNC-01): a request body far over 6 MB "
        "(--byoc-async-payload-mb) answered within 900 s; as when the declaration has "
        "$.byoc-conformance.async_inference: true",
    )
    group.addoption(
        "--byoc-async-payload-mb", type=_async_payload, default=64, metavar="MB",
        help="size of ASYNC-01's request body, 7-1024 MiB (default: 64)",
    )
    group.addoption(
        "--byoc-response-streaming", action="store_true", default=False,
        help="check that /invocations answers stream (STREAM-01, STREAM-02: chunked, in pieces, ended within "
        "--byoc-invocation-timeout), as InvokeEndpointWithResponseStream needs; as when the declaration has "
        "$.byoc-conformance.response_streaming: true",
    )
    group.addoption(
        "--byoc-checkpoints", action="store_true", default=False,
        help="check that training resumes from /opt/ml/checkpoints after a spot interruption (TRAIN-19), as when "
        "the declaration has a $.byoc-conformance.checkpoints section",
    )
    group.addoption(
        "--byoc-model", type=Path, default=None, metavar="PATH",
        help="serve this model (a directory or a model.tar.gz) instead of training one: for inference-only images",
    )
    group.addoption(
        "--byoc-inference-image", default=None, metavar="IMAGE",
        help="a separate image for hosting, which serves the model that --image trained",
    )
    group.addoption(
        "--byoc-pipeline", action="append", default=[], metavar="IMAGE[=MODEL]",
        help="an image that follows the image under test in a serial inference pipeline, with its model (a "
        "directory or model.tar.gz; none: an empty /opt/ml/model); repeat for each container, in order. Checks "
        "PIPE-01, PIPE-02 and PIPE-04 on the pipeline run end to end",
    )
    group.addoption(
        "--byoc-waive", action="append", default=[], metavar="ID[:check][@YYYY-MM-DD]=REASON",
        help="a known failure the gate passes over, still reported as waived with its reason (repeatable; also "
        "$.byoc-conformance.waivers in the declaration); past its date it fails the gate again",
    )
    group.addoption(
        "--byoc-strict-waivers", action="store_true", default=False,
        help="a waiver that covers no failure of the checks that ran (stale) fails the gate",
    )
    group.addoption(
        "--byoc-baseline", type=Path, default=None, metavar="REPORT_JSON",
        help="an earlier report.json: the report lists new failures, fixed ones and every status change against it",
    )
    group.addoption(
        "--byoc-gate", choices=("verdict", "new-failures"), default="verdict",
        help="what the exit status follows: the verdict (default), or new-failures: no check that passed in "
        "--byoc-baseline fails now (a ratchet)",
    )
    group.addoption(
        "--byoc-s3", action="append", default=[], metavar="s3://BUCKET/PREFIX=PATH",
        help="S3 without S3: the objects below an s3:// prefix are the files of a local directory (or the one object "
        "named exactly is a local file); repeat for each prefix. With a CreateAlgorithm or CreateModelPackage request "
        "as --byoc-spec, its validation profile's jobs run on this data as SageMaker runs them (MKT-02)",
    )
    group.addoption(
        "--byoc-report", type=Path, default=None, metavar="DIR",
        help="write the certification bundle (report.json, report.html, summary.md, junit.xml) to DIR",
    )
    group.addoption(
        "--byoc-fail-on", choices=("must", "should"), default="must",
        help="what fails the run (exit status 1): a MUST not met (default), or also a SHOULD",
    )
    group.addoption("--byoc-vendor", metavar="NAME", help="vendor name for the report")
    group.addoption("--byoc-product", metavar="NAME", help="product name for the report")
    group.addoption("--byoc-product-version", metavar="VERSION", help="product version for the report")
    group.addoption(
        "--byoc-invocation-timeout", type=_seconds, default=70.0, metavar="SECONDS",
        help="deadline for the whole answer to one request to /invocations (default: 70, the client timeout AWS "
        "advises for the model's 60 s)",
    )
    group.addoption(
        "--byoc-memory-mb", type=_count, default=8192, metavar="MB",
        help="memory limit of each container the run starts, swap included (default: 8192)",
    )
    group.addoption(
        "--byoc-pids", type=_count, default=4096, metavar="N",
        help="process limit of each container the run starts (default: 4096)",
    )
    group.addoption(
        "--byoc-network", choices=("auto", "internal", "published"), default="auto",
        help="how servers are reached: 'internal', on a network with no route out, at the container's address; "
        "'published', on a bridge with the port published (on 127.0.0.1 by a local engine), for engines whose "
        "container addresses this host cannot reach (default 'auto': internal on a local Linux engine, else "
        "published)",
    )
    group.addoption(
        "--byoc-host-address", metavar="HOST",
        help="where this machine reaches the ports a remote engine publishes (default: $TESTCONTAINERS_HOST_OVERRIDE, "
        "else the host of DOCKER_HOST for tcp:// and ssh://, else 127.0.0.1)",
    )
    group.addoption(
        "--byoc-jobs", type=_count, default=None, metavar="N",
        help="container runs at once, when they do not depend on each other (default: the engine's CPU count); "
        "runs whose timing is judged (SIGTERM, the start-up window) always run alone",
    )
    group.addoption(
        "--byoc-repro-dir", type=Path, default=None, metavar="DIR",
        help="where the inputs of failing runs are saved for the reproduce commands (default: ./byoc-repro/RUN, "
        "a directory per run, so that runs side by side do not overwrite each other's)",
    )
    script = parser.getgroup("byoc-script", "SageMaker BYOC conformance: script mode on a framework image "
                             "(named after the SDK's estimator arguments)")
    script.addoption(
        "--byoc-entry-point", metavar="PATH",
        help="the training script, relative to --byoc-source-dir (or a file when there is none): packed into "
        "sourcedir.tar.gz and named in sagemaker_program; hyperparameters are then JSON-encoded as the SDK does",
    )
    script.addoption("--byoc-source-dir", type=Path, metavar="DIR",
                     help="the directory packed with the entry point (the toolkit installs its requirements.txt)")
    script.addoption("--byoc-dependencies", type=Path, action="append", metavar="PATH",
                     help="a directory or file added to the top of sourcedir.tar.gz (repeatable)")
    script.addoption(
        "--byoc-serving-entry-point", metavar="PATH",
        help="the inference script in --byoc-source-dir (default: the entry point, as the SDK deploys it); the "
        "served model.tar.gz carries the source in code/, named by SAGEMAKER_PROGRAM",
    )
    script.addoption(
        "--byoc-container-entrypoint", metavar="COMMAND",
        help="AlgorithmSpecification.ContainerEntrypoint for every training run: a JSON list or shell words; "
        "replaces the image's ENTRYPOINT and drops `train`",
    )
    script.addoption("--byoc-container-arguments", metavar="ARGS",
                     help="AlgorithmSpecification.ContainerArguments for every training run, in place of `train`")


HARNESS = pytest.StashKey["Harness"]()
PREVIOUS_HANDLERS = pytest.StashKey[dict[int, Any]]()
INTERRUPTS = pytest.StashKey["Interrupts"]()


class Interrupts:
    """Ctrl-C and SIGTERM during a run. The first stops the checks, as Ctrl-C does in pytest (a CI runner
    cancels with SIGTERM: it unwinds the same way, so the run's containers are removed). Any later one, or
    one during the cleanup, is noted and not obeyed: the cleanup ends first, then the run exits as interrupted."""

    def __init__(self) -> None:
        self.received: list[int] = []
        self.cleaning = False

    def __call__(self, signum: int, frame: object) -> None:
        self.received.append(signum)
        if len(self.received) == 1 and not self.cleaning:
            raise KeyboardInterrupt
        os.write(2, b"\nbyoc-conformance: removing this run's containers before it exits\n")


def pytest_configure(config: pytest.Config) -> None:
    image = config.getoption("image")
    if image is None:
        return
    if getattr(config.option, "numprocesses", None) or hasattr(config, "workerinput"):
        raise pytest.UsageError("byoc-conformance: the checks share containers in one process and cannot be "
                                "spread over pytest-xdist workers; run without -n/--dist, and use --byoc-jobs N "
                                "for N container runs at once")
    from .harness import start  # imported only now: without --image the plugin stays light

    config.stash[HARNESS] = start(config)
    # The built-in suite is what runs; with no paths given, the user's directory is not collected.
    if config.args_source != pytest.Config.ArgsSource.ARGS:
        config.args[:] = []
    config.args.append(str(SUITE))
    # Only the main thread may set handlers; pytest run from a thread keeps its defaults.
    interrupts = config.stash[INTERRUPTS] = Interrupts()
    if threading.current_thread() is threading.main_thread():
        config.stash[PREVIOUS_HANDLERS] = {signum: signal.signal(signum, interrupts)
                                           for signum in (signal.SIGINT, signal.SIGTERM)}


def pytest_report_header(config: pytest.Config) -> list[str]:
    harness = config.stash.get(HARNESS, None)
    if harness is None:
        return []
    attrs = harness.image_attrs
    return [
        f"byoc-conformance {__version__}: catalogue {harness.catalogue.version}, "
        f"Docker engine {harness.engine.version()}, run {harness.engine.run_id}",
        f"image: {harness.image} ({attrs['Id'][:19]}, {attrs.get('Os')}/{attrs.get('Architecture')}, "
        f"{attrs.get('Size', 0) / 1e6:.0f} MB)",
        f"generated payloads: {harness.options.serving.examples} per probe, --byoc-seed={harness.options.seed}",
        f"declaration: {harness.context.declaration.summary()}",
        f"limits: each container {harness.engine.resource_limits.memory_mb} MiB, "
        f"{harness.engine.resource_limits.pids} processes; servers on {harness.engine.describe_network()}; "
        f"{harness.plan.jobs} run(s) at once",
        *_job_lines(harness),
        *(f"notice: {notice}" for notice in harness.notices),
    ]


def _job_lines(harness: Harness) -> list[str]:
    runner = harness.context.training.runner
    lines = []
    if runner.script:
        lines.append(f"script mode: {runner.script.describe()}, as sourcedir.tar.gz for training and code/ in "
                     "model.tar.gz for hosting")
    if runner.command.entrypoint is not None or runner.command.arguments is not None:
        lines.append(f"training command: {runner.command.describe()} (ContainerEntrypoint/ContainerArguments)")
    return lines


def pytest_pycollect_makemodule(module_path: Path, parent: pytest.Collector) -> pytest.Module | None:
    # The suite lives in the installed package, outside the user's rootdir: give it a short node ID.
    if module_path == SUITE and HARNESS in parent.config.stash:
        return pytest.Module.from_parent(parent, path=module_path, nodeid="byoc-conformance")
    return None


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    harness = metafunc.config.stash.get(HARNESS, None)
    if harness is not None and "byoc_check" in metafunc.fixturenames:
        checks = harness.checks_in_contract_order()
        metafunc.parametrize("byoc_check", checks, ids=[entry.test_id for entry in checks])


@pytest.hookimpl(trylast=True)  # after deselection (-k, -m) and any reordering plugin
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Labels each check's test with its requirement; starts the selected checks' runs ahead of them, and orders
    the checks as their runs will be ready: while training runs go on, the checks of the running server are judged."""
    harness = config.stash.get(HARNESS, None)
    if harness is None:
        return
    tests = {id(_check_of(item)): item for item in items if _check_of(item) is not None}
    for item in tests.values():
        entry = _check_of(item)
        item.user_properties += [("requirement", entry.requirement_id), ("level", harness.level(entry))]
    if config.option.collectonly:
        return
    ordered = harness.prefetch([_check_of(item) for item in tests.values()])
    items[:] = [tests[id(entry)] for entry in ordered] + [item for item in items if _check_of(item) is None]


def _check_of(item: pytest.Item) -> Any:
    callspec = getattr(item, "callspec", None)
    return callspec.params.get("byoc_check") if callspec else None


def pytest_sessionstart(session: pytest.Session) -> None:
    harness = session.config.stash.get(HARNESS, None)
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    if harness is None or reporter is None:
        return
    from .progress import WAITS

    # Long waits are said while a check waits for them, when pytest itself writes nothing.
    WAITS.start(lambda line: reporter.write_line(line, yellow=True), quiet=lambda: not harness.judging)


@pytest.fixture(scope="session")
def byoc_harness(pytestconfig: pytest.Config) -> Iterator[Harness]:
    harness = pytestconfig.stash.get(HARNESS, None)
    if harness is None:
        pytest.skip("byoc-conformance runs only with --image")
    yield harness


def pytest_terminal_summary(terminalreporter: Any, config: pytest.Config) -> None:
    harness = config.stash.get(HARNESS, None)
    if harness is None or harness.final_report is None:
        return
    from .writers import terminal

    terminal.write(terminalreporter, harness.final_report, harness.bundle)
    if os.environ.get("GITHUB_ACTIONS") == "true":  # the failures that decide the gate, on the workflow's page
        for line in terminal.annotations(harness.final_report):
            terminalreporter.write_line(line)


@pytest.hookimpl(tryfirst=True)
def pytest_keyboard_interrupt(excinfo: pytest.ExceptionInfo[BaseException]) -> None:
    # Interrupts raises KeyboardInterrupt wherever the signal lands, and in Python 3.11 that can be a frame with no
    # line number (a frozen stdlib module's): pytest's rendering of the interrupt then fails with a TypeError, and the
    # run ends in a traceback instead of as interrupted. Such frames are left out of what it renders.
    excinfo.traceback = excinfo.traceback.filter(has_line_number)


def has_line_number(entry: Any) -> bool:
    try:
        return isinstance(entry.lineno, int)
    except TypeError:  # tb_lineno is None
        return False


def pytest_sessionfinish(session: pytest.Session) -> None:
    harness = session.config.stash.get(HARNESS, None)
    if harness is None:
        return
    interrupted = session.exitstatus == pytest.ExitCode.INTERRUPTED
    interrupts = session.config.stash[INTERRUPTS]
    interrupts.cleaning = True  # from here on a Ctrl-C or SIGTERM waits for the cleanup to end
    from .progress import WAITS
    from .report import Gate

    WAITS.stop()
    harness.stop_runs()
    if interrupted or session.exitstatus in (pytest.ExitCode.OK, pytest.ExitCode.TESTS_FAILED,
                                             pytest.ExitCode.NO_TESTS_COLLECTED):
        # The exit status is the gate's: a failed SHOULD alone passes the default gate, and a MUST that was
        # inconclusive or did not run fails it, whatever pytest counted. An interrupted run still reports what
        # it judged (every check it did not reach is "not checked") and exits as interrupted.
        report = harness.finish(interrupted="the run was interrupted (Ctrl-C or SIGTERM) "
                                f"after {len(harness.results)} checks" if interrupted else None)
        if not interrupted:
            session.exitstatus = pytest.ExitCode.OK if report.gate is Gate.PASSED else pytest.ExitCode.TESTS_FAILED
    if interrupts.received:
        session.exitstatus = pytest.ExitCode.INTERRUPTED


def pytest_unconfigure(config: pytest.Config) -> None:
    for signum, handler in config.stash.get(PREVIOUS_HANDLERS, {}).items():
        signal.signal(signum, handler)
    harness = config.stash.get(HARNESS, None)
    if harness is not None:
        harness.engine.close()
