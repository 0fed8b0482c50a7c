"""The response-streaming run the STREAM checks read: one CSV request of several rows to the shared server, and how
its answer came, piece by piece (exchange times each piece of the body as it arrives). It records; checks/streaming.py
judges."""

from __future__ import annotations

from dataclasses import dataclass, field

from .exchange import DeadlineExceeded
from .hosting import Hosting, Server, invocation
from .payloads import example_csv
from .plan import planned_for
from .probing import Sent

ROWS = 8  # records in the streamed request: a streaming server answers them in several pieces


@dataclass
class Stream:
    """The streamed request sent to the healthy shared server: its whole answer, or why it did not end (`sent.error`,
    timed out: no complete answer within the server's invocation timeout), and when each piece of the body arrived."""

    server: Server
    sent: Sent
    # The body's pieces as they arrived, (seconds after the request went, bytes) each, all of them or those before the
    # cut.
    pieces: list[tuple[float, int]] = field(default_factory=list)

    @property
    def ended(self) -> bool:
        return self.sent.answered


@planned_for
def streamed_request(hosting: Hosting) -> Stream:
    """One CSV request of ROWS rows to the shared server, and its answer with the time each piece arrived. Any other
    failure to exchange than the deadline ends the run (the plan keeps it for the checks that read it)."""
    hosting.require_csv()
    server = hosting.healthy()
    payload = example_csv(hosting.csv.feature_ranges, ROWS)
    request = invocation(payload.body, "stream.payload", payload.content_type)
    try:
        answer = server.send(request)
    except DeadlineExceeded as cut:
        return Stream(server, Sent(request, error=str(cut), timed_out=True), list(cut.pieces))
    return Stream(server, Sent(request, response=answer), list(answer.pieces))
