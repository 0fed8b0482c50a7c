"""The asynchronous-inference run ASYNC-01 reads: SageMaker stages the caller's payload, up to 1 GB, and sends it as
an ordinary POST /invocations body, giving the model up to InvocationTimeoutSeconds. One such body goes to a fresh
server of its own; the run records its answer or why there was none, and checks/asynchronous.py judges."""

from __future__ import annotations

import time
from dataclasses import dataclass

import requests

from .exchange import MIB
from .hosting import Endpoint, Hosting, Server
from .plan import planned_for
from .probing import Sent

ASYNC_TIMEOUT = 900.0  # InvocationTimeoutSeconds' default (1-3600)


@dataclass
class LargeRequest:
    """One valid body of --byoc-async-payload-mb MiB sent to a healthy server of its own: its answer, or why there was
    none (the error's type and words; `server_exited`: the engine said the container died, seen when there was no
    answer, before it was removed), and the seconds it took, the body's included."""

    server: Server
    sent: Sent
    seconds: float


@planned_for
def large_request(hosting: Hosting) -> LargeRequest:
    """A fresh server sent one valid body of --byoc-async-payload-mb MiB, within ASYNC_TIMEOUT. A server of its own:
    a body this size may take the shared one down. The shared server is needed healthy first."""
    hosting.healthy()
    payload = hosting.sized_payload(hosting.async_payload_mb * MIB)  # CSV, or the declared sample grown
    request = hosting.request(payload, "async.payload")
    with hosting.fresh(Endpoint("serve-async")) as server:
        server.require_healthy()
        started = time.monotonic()
        try:
            response = server.exchange("POST", "/invocations", deadline=ASYNC_TIMEOUT, data=request.body,
                                       headers=request.headers)
        except requests.RequestException as error:
            seconds = time.monotonic() - started
            return LargeRequest(server, Sent(request, error=f"{type(error).__name__}: {error}",
                                             server_exited=server.died()), seconds)
        return LargeRequest(server, Sent(request, response=response), time.monotonic() - started)
