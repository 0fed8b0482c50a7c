"""Removes what a run left when the run itself could not: `python -m byoc_conformance.reaper PID RUN_ID SCRATCH`
waits for the harness process PID to end, however it ends (kill -9, the OOM killer), then removes the Docker
objects labelled with RUN_ID and the scratch directory. The harness starts one per run, in a session of its
own, so that the Ctrl-C meant for the harness does not reach it."""

from __future__ import annotations

import contextlib
import math
import shutil
import socket
import sys

import docker
import docker.errors
import requests.exceptions

from .engine import HOST_LABEL, PID_LABEL, RUN_LABEL, client_from_env, remove_labelled
from .waiting import Poll

POLL = 0.5  # seconds between looks at the harness
WATCH = Poll(math.inf, POLL)  # the harness is watched for as long as it lives


def alive(pid: int) -> bool:
    """Whether the process runs (a zombie, dead but not yet waited for by its parent, does not)."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().rpartition(")")[2].split()[0] not in ("Z", "X")
    except FileNotFoundError:
        return False
    except OSError:
        return True


def orphans(client: docker.DockerClient, own_run: str) -> dict[str, bool]:
    """The runs, other than `own_run`, whose containers, volumes or networks are still on the engine: run ID ->
    whether its process is known to be dead (it ran on this host, and no process has its PID any more)."""
    labelled = {"label": RUN_LABEL}
    found = [c.labels for c in client.containers.list(all=True, filters=labelled,
                                                                   ignore_removed=True)]
    found += [v.attrs.get("Labels") or {} for v in client.volumes.list(filters=labelled)]
    found += [n.attrs.get("Labels") or {} for n in client.networks.list(filters=labelled)]
    runs: dict[str, bool] = {}
    for labels in found:
        run, pid = labels.get(RUN_LABEL, ""), labels.get(PID_LABEL, "")
        if run == own_run:
            continue
        dead = labels.get(HOST_LABEL) == socket.gethostname() and pid.isdigit() and not alive(int(pid))
        runs[run] = runs.get(run, True) and dead  # one object that cannot be shown dead keeps the run
    return runs


def main(argv: list[str]) -> int:
    pid, run_id, scratch = int(argv[0]), argv[1], argv[2]
    WATCH.until(lambda: not alive(pid))
    with contextlib.suppress(docker.errors.DockerException, requests.exceptions.RequestException):
        remove_labelled(client_from_env(), {"label": f"{RUN_LABEL}={run_id}"})
    shutil.rmtree(scratch, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
