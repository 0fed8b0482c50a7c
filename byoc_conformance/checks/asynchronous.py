"""Asynchronous inference (ASYNC-01), for an image said to serve it: SageMaker stages the caller's payload, up to
1 GB, and sends it as an ordinary POST /invocations body, giving the model up to InvocationTimeoutSeconds."""

from __future__ import annotations

import time

import requests

from ..exchange import MIB, cut_note
from ..hosting import Endpoint, Hosting, Server
from ..plan import planned_for
from ..registry import Context, check, on_hosting
from ..verdicts import Failed, Inconclusive, NotApplicable, Request
from .claims import ASYNCHRONOUS, claimed_run

ASYNC_TIMEOUT = 900.0  # InvocationTimeoutSeconds' default (1-3600)


@planned_for
def _large_request(hosting: Hosting) -> tuple[Server, Request, requests.Response | str, float]:
    """A fresh server sent one valid body of --byoc-async-payload-mb MiB: its answer (or why there was none) and the
    seconds it took. A server of its own: a body this size may take the shared one down."""
    hosting.healthy()
    payload = hosting.sized_payload(hosting.async_payload_mb * MIB)  # CSV, or the declared sample grown
    request = hosting.request(payload, "async.payload")
    with hosting.fresh(Endpoint("serve-async")) as server:
        server.require_healthy()
        started = time.monotonic()
        try:
            answer: requests.Response | str = server.exchange(
                "POST", "/invocations", deadline=ASYNC_TIMEOUT, data=request.body, headers=request.headers)
        except requests.RequestException as error:
            answer = f"{type(error).__name__}: {error}"
        return server, request, answer, time.monotonic() - started


@check("ASYNC-01", "large-asynchronous-request", level="MUST", runs=(on_hosting(_large_request),))
def large_asynchronous_request(ctx: Context) -> str:
    if not ctx.declaration.async_inference:
        raise NotApplicable("the image is not said to serve asynchronous inference: neither the declaration's "
                            "$.byoc-conformance.async_inference nor --byoc-async")
    # A server that does not start (this one, or the shared `serve` before it) fails ASYNC-01 (claims.py).
    server, request, answer, seconds = claimed_run(ASYNCHRONOUS, "ASYNC-01", lambda: _large_request(ctx.hosting))
    kind = "CSV" if ctx.hosting.traffic.takes_csv else request.headers["Content-Type"]
    size = f"{len(request.body) / MIB:.1f} MiB {kind} body ({len(request.body)} bytes)"
    expected = (f"2xx for a {size}, within InvocationTimeoutSeconds' default of {ASYNC_TIMEOUT:.0f} s: an "
                "asynchronous endpoint sends payloads of up to 1 GB as ordinary /invocations bodies")
    if isinstance(answer, str):
        if server.died():
            raise Failed(f"the server died on the {size}: {answer}", expected=expected, run=server, request=request)
        raise Failed(f"no answer to the {size}: {answer}", expected=expected, run=server, request=request)
    if not answer.ok:
        raise Failed(f"HTTP {answer.status_code} for the {size}: {answer.content[:200]!r}", expected=expected,
                     run=server, request=request)
    if not answer.content:
        raise Inconclusive(f"HTTP {answer.status_code} with an empty body for the {size}", run=server,
                           request=request)
    return (f"HTTP {answer.status_code} for the {size} in {seconds:.1f} s ({len(answer.content)} bytes of answer"
            f"{cut_note(answer)})")
