"""Asynchronous inference (ASYNC-01), for an image said to serve it: SageMaker stages the caller's payload, up to
1 GB, and sends it as an ordinary POST /invocations body, giving the model up to InvocationTimeoutSeconds. Judged on
the answer a server of its own gave to one such body (asynchronous.large_request)."""

from __future__ import annotations

from ..asynchronous import ASYNC_TIMEOUT, large_request
from ..exchange import MIB, cut_note
from ..registry import Context, check, on_hosting
from ..verdicts import Failed, Inconclusive, NotApplicable
from .claims import ASYNCHRONOUS, claimed_run


@check("ASYNC-01", "large-asynchronous-request", level="MUST", runs=(on_hosting(large_request),))
def large_asynchronous_request(ctx: Context) -> str:
    if not ctx.declaration.async_inference:
        raise NotApplicable("the image is not said to serve asynchronous inference: neither the declaration's "
                            "$.byoc-conformance.async_inference nor --byoc-async")
    # A server that does not start (this one, or the shared `serve` before it) fails ASYNC-01 (claims.py).
    record = claimed_run(ASYNCHRONOUS, "ASYNC-01", lambda: large_request(ctx.hosting))
    server, sent = record.server, record.sent
    request, answer = sent.request, sent.response
    kind = "CSV" if ctx.hosting.traffic.takes_csv else request.headers["Content-Type"]
    size = f"{len(request.body) / MIB:.1f} MiB {kind} body ({len(request.body)} bytes)"
    expected = (f"2xx for a {size}, within InvocationTimeoutSeconds' default of {ASYNC_TIMEOUT:.0f} s: an "
                "asynchronous endpoint sends payloads of up to 1 GB as ordinary /invocations bodies")
    if answer is None:
        if sent.server_exited:
            raise Failed(f"the server died on the {size}: {sent.error}", expected=expected, run=server,
                         request=request)
        raise Failed(f"no answer to the {size}: {sent.error}", expected=expected, run=server, request=request)
    if not answer.ok:
        raise Failed(f"HTTP {answer.status_code} for the {size}: {answer.content[:200]!r}", expected=expected,
                     run=server, request=request)
    if not answer.content:
        raise Inconclusive(f"HTTP {answer.status_code} with an empty body for the {size}", run=server,
                           request=request)
    return (f"HTTP {answer.status_code} for the {size} in {record.seconds:.1f} s ({len(answer.content)} bytes of answer"
            f"{cut_note(answer)})")
