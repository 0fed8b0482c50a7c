"""The serverless profile (--byoc-serverless MEMORY_MB): one `serve` container run as Serverless Inference runs
it, with that memory and a CPU share to match, as a user other than root (so the image's directories are writable
only where their permissions say so: AWS's fix for serverless permission errors is `chmod o+rwX`). The runner
records what happened; checks/serverless.py judges it."""

from __future__ import annotations

import os
from collections import Counter
from dataclasses import dataclass, field

from .engine import memory_in_use, processes
from .exchange import MIB
from .hosting import Endpoint, Hosting, Server
from .outcome import Unclaimed
from .plan import planned_for
from .probing import Sent, send

STARTUP = 180.0  # SLS-04: the model download and the first healthy /ping within 3 minutes
PAYLOAD_LIMIT = 4 * MIB  # SLS-04: 4 MB requests and responses, read as MiB as SERVE-07's 6 MB is
INVOCATION_LIMIT = 60.0  # SLS-04: an invocation has 1 minute
USER = "1000:1000"  # not root (SLS-06); SageMaker does not say which user, so an ordinary one
MB_PER_VCPU = 1769  # SageMaker publishes no ratio of vCPUs to memory; Lambda's, on which the sizes are modelled


@dataclass
class ProfileRun:
    """A server under the serverless profile, and what it did."""

    server: Server
    memory_mb: int
    cpus: float
    window: float  # seconds it had to become healthy
    answers: dict[str, Sent] = field(default_factory=dict)  # "valid", "large": each request and its answer
    oom_killed: bool = False
    memory_used: int | None = None  # bytes, once the probes were answered
    processes: list[dict[str, str]] | None = None  # the container's processes: PID, PPID, UID, COMMAND

    @property
    def workers(self) -> int | None:
        """Processes that serve side by side: the children forked with their parent's command line (a pre-fork
        server's workers), or 1 for a server without any; None if the processes are not known."""
        if not self.processes:
            return None
        commands = {row["PID"]: row.get("COMMAND", "") for row in self.processes}
        forked = Counter(row.get("COMMAND", "") for row in self.processes
                         if commands.get(row.get("PPID", "")) == row.get("COMMAND", ""))
        return max(forked.values(), default=1)


def profile(memory_mb: int, machine_cpus: int) -> Endpoint:
    cpus = round(min(float(machine_cpus), memory_mb / MB_PER_VCPU), 2)
    return Endpoint("serve-serverless", memory_mb=memory_mb, cpus=cpus, user=USER)


@planned_for
def run_profile(hosting: Hosting) -> ProfileRun:
    if hosting.serverless_mb is None:
        raise Unclaimed("no --byoc-serverless MEMORY_MB: the image is not checked as a serverless one")
    valid, large = hosting.valid_payload(), hosting.sized_payload(PAYLOAD_LIMIT)  # as the declaration says
    endpoint = profile(hosting.serverless_mb, hosting.engine.cpus or os.cpu_count() or 1)
    window = min(STARTUP, hosting.startup_timeout)
    with hosting.fresh(endpoint, window) as server:
        server.invocation_timeout = min(server.invocation_timeout, INVOCATION_LIMIT + 10)  # AWS's 10 s for clients
        run = ProfileRun(server, endpoint.memory_mb or 0, endpoint.cpus or 0, window)
        if server.healthy_after is not None:
            run.answers["valid"] = send(server, hosting.request(valid, "serverless-valid.payload"))
            run.answers["large"] = send(server, hosting.request(large, "serverless-4mib.payload"))
            run.memory_used = memory_in_use(server.container)
            run.processes = processes(server.container, "pid,ppid,uid,args")
        server.container.reload()
        run.oom_killed = bool(server.container.attrs.get("State", {}).get("OOMKilled"))
        server.exited()
        return run
