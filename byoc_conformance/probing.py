"""Requests sent to a running server, and the payloads hypothesis generates for them. A probe records what it sent
and what came back (Sent); an exploration sends generated payloads and, when the check's criterion picks one out,
lets hypothesis shrink it to the smallest that still does. Nothing here judges: a criterion is the check's, given
as data, and the record goes back to the check."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import hypothesis
import requests
from hypothesis import Phase, given
from hypothesis import strategies as st

from .exchange import Answer
from .hosting import Hosting, Server
from .payloads import Payload, hypothesis_settings, raised_by
from .verdicts import Request

# A criterion: what a check looks for in one answer, in words, or None when the answer is not what it looks for.
Criterion = Callable[["Sent"], "str | None"]


@dataclass
class Sent:
    """One request to a server and what came of it: its answer, or why there was none. Every run that sends
    requests records each as one of these."""

    request: Request
    payload: Payload | None = None
    response: Answer | None = None
    error: str | None = None  # no answer: why
    timed_out: bool = False  # no complete answer within the server's invocation timeout
    # The request that first went unanswered at its deadline: once one has, the server is not asked again, and every
    # later request is blamed on that one.
    blamed: Request | None = None
    server_exited: bool = False  # the container had exited when the answer was missing

    @property
    def answered(self) -> bool:
        return self.response is not None

    @property
    def ok(self) -> bool:
        return self.response is not None and self.response.ok

    @property
    def status(self) -> int | None:
        """The answer's status; None without an answer."""
        return self.response.status_code if self.response is not None else None

    @property
    def body(self) -> bytes:
        """The answer's body as read (up to the cap); empty without an answer."""
        return self.response.content if self.response is not None else b""

    @property
    def seconds(self) -> float:
        return self.response.elapsed.total_seconds() if self.response is not None else 0.0


def send(server: Server, request: Request, payload: Payload | None = None) -> Sent:
    """`request` sent to `server` (see Server.send), and what came of it."""
    try:
        return Sent(request, payload, server.send(request))
    except requests.Timeout as error:
        blamed, why = server.unanswered or (request, str(error))
        return Sent(request, payload, error=why, timed_out=True, blamed=blamed)
    except requests.RequestException as error:
        return Sent(request, payload, error=str(error), server_exited=server.exited())


def generated(hosting: Hosting, name: str, strategy: st.SearchStrategy[Payload]) -> list[Payload]:
    """The payloads hypothesis generates from `strategy` with the run's seed and example count, before any is sent:
    drawn once per run and shared by every probe that sends them. They are the ones hypothesis generates with a
    probe that passes them all, so an exploration that finds nothing sends exactly these."""
    def draw() -> list[Payload]:
        drawn: list[Payload] = []

        @hypothesis_settings(hosting.examples, Phase.explicit, Phase.generate)
        @hypothesis.seed(hosting.seed)
        @given(strategy)
        def collect(payload: Payload) -> None:
            drawn.append(payload)

        collect()
        return drawn

    # Drawing is the harness's own work: it takes no slot from the container runs.
    return hosting.plan.once(("payloads", name), draw, hold=None)  # type: ignore[no-any-return]


@dataclass
class Exploration:
    """Generated payloads sent one after another until the criterion picked one out, and then the smallest payload
    hypothesis shrank that to."""

    sent: list[Sent] = field(default_factory=list)  # the first pass, in order, up to the first one picked out
    found: Sent | None = None  # the smallest payload picked out, and its answer
    problem: str | None = None  # what the criterion said of it
    # Said when what was picked out did not come back when hypothesis sent the payloads again (or replayed it).
    unrepeated: str = ""

    @property
    def answered(self) -> list[Sent]:
        return [one for one in self.sent if one.answered]


class _PickedOut(Exception):
    def __init__(self, sent: Sent, problem: str) -> None:
        super().__init__(problem)
        self.sent, self.problem = sent, problem


def explore(hosting: Hosting, name: str, strategy: st.SearchStrategy[Payload], attempt: Callable[[Payload], Sent],
            criterion: Criterion) -> Exploration:
    """`attempt` (which sends one payload) on the payloads generated from `strategy` (`name` names it: they are
    drawn once per run), until `criterion` picks an answer out; then hypothesis sends them again and shrinks the
    payload picked out to the smallest that still is."""
    exploration = Exploration()
    first = None
    for payload in generated(hosting, name, strategy):  # the payloads sent as fast as the server answers
        sent = attempt(payload)
        exploration.sent.append(sent)
        problem = criterion(sent)
        if problem is not None:
            first = _PickedOut(sent, problem)
            break
    if first is None:
        return exploration

    def probe(payload: Payload) -> None:
        sent = attempt(payload)
        problem = criterion(sent)
        if problem is not None:
            raise _PickedOut(sent, problem)

    @hypothesis_settings(hosting.examples, Phase.explicit, Phase.generate, Phase.shrink)
    @hypothesis.seed(hosting.seed)
    @given(strategy)
    def shrink(payload: Payload) -> None:
        probe(payload)

    smallest, flaky = raised_by(shrink, _PickedOut)
    picked = smallest or first
    if smallest is None:
        exploration.unrepeated = " (this failure did not repeat when hypothesis sent the payloads again)"
    elif flaky:
        exploration.unrepeated = " (this failure did not repeat when hypothesis replayed the payload)"
    exploration.found, exploration.problem = picked.sent, picked.problem
    return exploration
