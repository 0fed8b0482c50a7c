"""The response-streaming run the STREAM checks read: one CSV request of several rows to the shared server, and how
its answer came, piece by piece (exchange times each piece of the body as it arrives). It records; checks/streaming.py
judges."""

from __future__ import annotations

from dataclasses import dataclass, field

import requests

from .exchange import DeadlineExceeded
from .hosting import Hosting, Server, invocation
from .payloads import example_csv
from .plan import planned_for
from .verdicts import Request

ROWS = 8  # records in the streamed request: a streaming server answers them in several pieces


@dataclass
class Stream:
    """The streamed request sent to the healthy shared server: its whole answer, or why it did not end, and when each
    piece of the body arrived."""

    server: Server
    request: Request
    response: requests.Response | None = None  # the whole answer; None when it did not end within the deadline
    cut: str | None = None  # why the answer did not end: no complete answer within the server's invocation timeout
    # The body's pieces as they arrived, (seconds after the request went, bytes) each, all of them or those before the
    # cut.
    pieces: list[tuple[float, int]] = field(default_factory=list)

    @property
    def ended(self) -> bool:
        return self.response is not None


@planned_for
def streamed_request(hosting: Hosting) -> Stream:
    """One CSV request of ROWS rows to the shared server, and its answer with the time each piece arrived. Any other
    failure to exchange than the deadline ends the run (the plan keeps it for the checks that read it)."""
    hosting.require_csv()
    server = hosting.healthy()
    payload = example_csv(hosting.csv.feature_ranges, ROWS)
    request = invocation(payload.body, "stream.payload", payload.content_type)
    try:
        response = server.send(request)
    except DeadlineExceeded as cut:
        return Stream(server, request, cut=str(cut), pieces=list(cut.pieces))
    return Stream(server, request, response, pieces=list(getattr(response, "pieces", ())))
