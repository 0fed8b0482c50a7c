"""Serverless Inference (SLS-02..06, IMG-10), with --byoc-serverless MEMORY_MB: judged from one server run under
the serverless profile (serverless.run_profile) and from the image's size. A profile server that does not start fails
SLS-04, and the others are inconclusive with that cause unless its log or the engine shows their own failure (kept
from writing: SLS-06; killed for memory: SLS-02), as claims.py rules."""

from __future__ import annotations

import re

from ..exchange import MIB
from ..probing import Sent
from ..registry import Context, check, on_hosting
from ..serverless import INVOCATION_LIMIT, PAYLOAD_LIMIT, STARTUP, ProfileRun, run_profile
from ..verdicts import Failed, Inconclusive, NotApplicable
from .claims import SERVERLESS, require_started

GIB = 1024 * MIB
IMAGE_LIMIT = 10 * GIB  # IMG-10, SLS-03: 10 GB, read as GiB as Lambda's 10 GB image limit is
# What a server prints when the filesystem or its user keeps it from writing.
NO_WRITE = re.compile(r"Permission denied|Read-only file system|EACCES|EROFS|PermissionError|Operation not "
                      r"permitted", re.IGNORECASE)


def _run(ctx: Context) -> ProfileRun:
    return run_profile(ctx.hosting)


def _profile(run: ProfileRun) -> str:
    return f"{run.memory_mb} MB, {run.cpus:g} CPUs, user {run.server.endpoint.user}"


def _shown(sent: Sent) -> str:
    if sent.response is None:
        return f"no answer ({sent.error})"
    return f"HTTP {sent.response.status_code}, {len(sent.response.content)} bytes"


def _not_started(run: ProfileRun) -> str:
    return f"under the serverless profile ({_profile(run)}): {run.server.outcome()}"


def _require_started(run: ProfileRun, requirement: str) -> None:
    """The rule for a claimed server that does not start (claims.py): SLS-04, whose matter the start is, fails;
    the other checks are inconclusive. A window shorter than serverless's 3 minutes (--byoc-startup-timeout) that
    ended while the server was still starting shows no failure: inconclusive."""
    cut_short = (f"{run.window:g} s (--byoc-startup-timeout), shorter than serverless's {STARTUP:g} s"
                 if run.window < STARTUP else None)
    require_started(SERVERLESS, requirement, run.server, f"the server under the serverless profile ({_profile(run)})",
                    cut_short=cut_short)


@check("SLS-04", "serverless-start-and-payloads", runs=(on_hosting(run_profile),))
def serverless_start_and_payloads(ctx: Context) -> str:
    run = _run(ctx)
    server = run.server
    _require_started(run, "SLS-04")
    expected = (f"2xx within {INVOCATION_LIMIT:g} s for valid CSV and for a {PAYLOAD_LIMIT // MIB} MiB request, "
                f"and answers of at most {PAYLOAD_LIMIT // MIB} MiB")
    for kind, sent in run.answers.items():
        if sent.status is None or not 200 <= sent.status < 300:
            raise Failed(f"{sent.request.summary()[:120]}...: {_shown(sent)}", expected=expected, run=server,
                         request=sent.request)
        length = len(sent.body)
        if length > PAYLOAD_LIMIT:
            raise Failed(f"the answer to the {kind} request has {length} bytes", expected=expected,
                         run=server, request=sent.request)
    return (f"healthy {server.healthy_after:.1f} s after start under the profile ({_profile(run)}); valid CSV and a "
            f"{PAYLOAD_LIMIT // MIB} MiB request answered 2xx")


@check("SLS-06", "serverless-not-root", runs=(on_hosting(run_profile),))
def serverless_not_root(ctx: Context) -> str:
    run = _run(ctx)
    server = run.server
    expected = ("a server that starts and answers as a user other than root, writing only where that user may "
                "(/tmp, or directories made writable with chmod o+rwX)")
    if server.healthy_after is None or not run.answers["valid"].answered:
        denied = [line.strip() for line in server.logs.splitlines() if NO_WRITE.search(line)]
        if denied:  # why it did not start or answer, seen in its log: this requirement's own failure
            raise Failed(f"{_not_started(run)}; it was kept from writing: " + " | ".join(denied[-3:]),
                         expected=expected, run=server)
        _require_started(run, "SLS-06")
        raise Inconclusive(f"{_not_started(run)}, with no sign in its logs of being kept from writing",
                           run=server)
    uids = sorted({row.get("UID", "?") for row in run.processes or []})
    return (f"healthy and answering as user {server.endpoint.user} (its processes' UIDs as the engine sees them: "
            f"{', '.join(uids) or 'unknown'})")


@check("SLS-02", "serverless-fits-memory", runs=(on_hosting(run_profile),))
def serverless_fits_memory(ctx: Context) -> str:
    run = _run(ctx)
    server = run.server
    if run.oom_killed:  # seen whether or not it started: this requirement's own failure
        raise Failed(f"out of memory under MemorySizeInMB {run.memory_mb}: the kernel killed a process "
                     f"({server.outcome()})", expected=f"a server that starts and answers within {run.memory_mb} MB",
                     run=server)
    _require_started(run, "SLS-02")
    used = f"{run.memory_used / MIB:.0f} MiB in use after the probes" if run.memory_used is not None else \
        "its use not read"
    return f"started and answered within {run.memory_mb} MB, never out of memory ({used})"


@check("SLS-05", "serverless-one-worker", runs=(on_hosting(run_profile),))
def serverless_one_worker(ctx: Context) -> str:
    run = _run(ctx)
    _require_started(run, "SLS-05")
    workers = run.workers
    if workers is None:
        raise Inconclusive("the engine did not list the container's processes", run=run.server)
    listing = "; ".join(f"{row.get('PID')} (parent {row.get('PPID')}) {row.get('COMMAND', '')[:60]}"
                        for row in (run.processes or [])[:8])
    if workers > 1:
        raise Failed(f"{workers} worker processes, forked with the server's command line: {listing}",
                     expected="one worker with one copy of the model (serverless memory is small)", run=run.server,
                     reproduce=f"docker top byoc-repro-{run.server.role} -o pid,ppid,uid,args")
    return f"one worker ({len(run.processes or [])} process(es): {listing})"


def _image_size(ctx: Context) -> str:
    if ctx.hosting.serverless_mb is None:
        raise NotApplicable("no --byoc-serverless MEMORY_MB: no serverless limit on the image's size")
    size = ctx.hosting.image_size
    if not isinstance(size, int):
        raise Inconclusive("the engine gave no size for the image")
    if size > IMAGE_LIMIT:
        raise Failed(f"the image is {size / GIB:.2f} GiB uncompressed", expected="at most 10 GiB for serverless",
                     reproduce=f"docker image inspect -f '{{{{.Size}}}}' {ctx.hosting.image}")
    return f"the image is {size / GIB:.2f} GiB uncompressed, within 10 GiB"


@check("IMG-10", "serverless-image-size")
def serverless_image_size(ctx: Context) -> str:
    return _image_size(ctx)


@check("SLS-03", "serverless-image-and-disk")
def serverless_image_and_disk(ctx: Context) -> str:
    return _image_size(ctx) + "; the 5 GB of ephemeral disk is not probed"
