"""STREAM-01/02: the run (streaming.streamed_request) on a stand-in server, and the checks' judgement of its record
(streaming.Stream), in process: when the pieces came, how the answer was encoded, whether it ended, and a server that
never started. The checks run on real images in tests/integration (the stream* samples)."""

import dataclasses
from types import MethodType, SimpleNamespace

import pytest
import requests

from byoc_conformance import streaming as runs
from byoc_conformance.checks import streaming
from byoc_conformance.declaration import DEFAULTS
from byoc_conformance.exchange import Answer, DeadlineExceeded
from byoc_conformance.hosting import Hosting
from byoc_conformance.outcome import CouldNotRun
from byoc_conformance.payloads import Traffic
from byoc_conformance.plan import Plan
from byoc_conformance.probing import Sent
from byoc_conformance.verdicts import Failed, Inconclusive, NotApplicable, Request

from .fakes import FakeHosting
from .test_claims import StoppedServer

REQUEST = Request("stream.payload", "POST", "/invocations", b"1,2,3,4\n", {"Content-Type": "text/csv"})


def answered(pieces, chunked=True, status=200):
    headers = {"Transfer-Encoding": "chunked"} if chunked else {"Content-Length": "16"}
    return Answer(status, b"1\n" * len(pieces), headers, pieces=pieces)


def streamed(pieces, chunked=True, status=200):
    """The record of a stream that ended, its answer's body in `pieces`."""
    return runs.Stream(StoppedServer("serve", healthy=True), Sent(REQUEST, response=answered(pieces, chunked, status)),
                       list(pieces))


def cut(pieces):
    """The record of a stream that did not end within the invocation timeout."""
    return runs.Stream(StoppedServer("serve", healthy=True),
                       Sent(REQUEST, error="no complete answer within 70 s", timed_out=True), list(pieces))


def context(stream, claimed=True):
    hosting = SimpleNamespace(plan=Plan())
    hosting.plan.once((runs.__name__, runs.streamed_request.__qualname__), lambda: stream)
    declaration = dataclasses.replace(DEFAULTS, response_streaming=claimed)
    return SimpleNamespace(hosting=hosting, declaration=declaration)


def test_pieces_that_leave_as_they_are_produced_pass():
    verdict = streaming.answers_in_pieces(context(streamed([(0.002, 2), (0.022, 2), (0.142, 2)])))
    assert verdict == "chunked, 3 pieces over 140 ms (first at 2 ms, end at 142 ms) for 8 rows"


def test_an_answer_held_back_until_it_is_whole_fails_chunked_or_not():
    held = [(0.140, 2), (0.141, 2), (0.141, 2)]
    with pytest.raises(Failed, match="held back") as failed:
        streaming.answers_in_pieces(context(streamed(held)))
    assert failed.value.reproduce == streaming.REPRODUCE
    assert failed.value.request is REQUEST
    with pytest.raises(Failed, match=r"no chunked transfer encoding \(Content-Length: 16\); pieces: 2 B at 140 ms"):
        streaming.answers_in_pieces(context(streamed(held, chunked=False)))


def test_an_error_answer_fails_stream_01_and_leaves_stream_02_inconclusive():
    error = streamed([(0.01, 40)], chunked=False, status=500)
    with pytest.raises(Failed, match=r"^HTTP 500: b'1\\n'"):
        streaming.answers_in_pieces(context(error))
    with pytest.raises(Inconclusive, match="HTTP 500 with 2 bytes: no stream to time"):
        streaming.stream_ends_in_time(context(error))


def test_a_chunked_answer_with_an_empty_body_has_nothing_to_judge():
    empty = streamed([])
    with pytest.raises(Inconclusive, match="empty body: nothing streamed"):
        streaming.answers_in_pieces(context(empty))
    with pytest.raises(Inconclusive, match="no stream to time"):
        streaming.stream_ends_in_time(context(empty))


def test_an_answer_too_fast_to_tell_is_inconclusive():
    with pytest.raises(Inconclusive, match="too soon to tell"):
        streaming.answers_in_pieces(context(streamed([(0.003, 2), (0.004, 2)])))


def test_a_stream_that_never_ends_fails_stream_02_only():
    never = cut([(0.01, 2), (0.5, 1), (1.0, 1)])
    with pytest.raises(Failed, match="^no complete answer within 70 s: 2 B at 10 ms, 1 B at 500 ms, 1 B at 1000 ms "
                       "arrived, and no end of the stream") as failed:
        streaming.stream_ends_in_time(context(never))
    assert "within 70 s (--byoc-invocation-timeout)" in failed.value.expected
    with pytest.raises(Inconclusive, match="STREAM-02 judges that"):
        streaming.answers_in_pieces(context(never))
    with pytest.raises(Failed, match="no piece arrived"):
        streaming.stream_ends_in_time(context(cut([])))


def test_a_stream_that_ends_in_time_passes_stream_02():
    verdict = streaming.stream_ends_in_time(context(streamed([(0.002, 2), (0.1, 2), (0.2, 2)])))
    assert verdict == "the stream of 3 pieces ended 0.20 s after the request (limit 70 s)"


def test_many_pieces_are_shown_ten_at_most():
    shown = streaming._times([(n / 1000, 1) for n in range(12)])
    assert shown.endswith("1 B at 9 ms, ... (12 pieces)")


def test_without_the_claim_neither_applies():
    for judge in (streaming.answers_in_pieces, streaming.stream_ends_in_time):
        with pytest.raises(NotApplicable):
            judge(context(streamed([(0.01, 2)]), claimed=False))


def test_a_shared_server_that_never_starts_fails_stream_01_and_leaves_stream_02_inconclusive():
    shared = StoppedServer("serve", exit_code=1)

    def healthy():
        shared.require_healthy()
        return shared

    hosting = SimpleNamespace(plan=Plan(), shared=shared, require_csv=lambda: None, healthy=healthy)
    ctx = SimpleNamespace(hosting=hosting, declaration=dataclasses.replace(DEFAULTS, response_streaming=True))
    with pytest.raises(Failed, match=r"^the shared server the streamed request goes to: the container exited with "
                       "code 1") as failed:
        streaming.answers_in_pieces(ctx)
    assert failed.value.run is shared
    with pytest.raises(Inconclusive, match=r"did not start \(STREAM-01 fails on it\)"):
        streaming.stream_ends_in_time(ctx)


# The run: what it sends, and what it records of the answer.

class StreamingServer(StoppedServer):
    """A healthy server that answers with `answer` (a response), or raises it (an exception)."""

    def __init__(self, answer):
        super().__init__("serve", healthy=True)
        self.answer, self.sent = answer, []

    def send(self, request, **options):
        self.sent.append(request)
        if isinstance(self.answer, Exception):
            raise self.answer
        return self.answer


def hosting_with(server, **attributes):
    hosting = FakeHosting(plan=Plan(), healthy=lambda: server, **attributes)
    hosting.require_csv = MethodType(Hosting.require_csv, hosting)  # the real rule, on the declared traffic
    return hosting


def test_the_run_sends_8_csv_rows_and_records_the_answer_and_its_pieces():
    server = StreamingServer(answered([(0.01, 2), (0.2, 2)]))
    stream = runs.streamed_request(hosting_with(server))
    assert stream.ended and stream.server is server and stream.sent.error is None
    assert stream.pieces == [(0.01, 2), (0.2, 2)]
    request = stream.sent.request
    assert request is server.sent[0]
    assert request.name == "stream.payload" and request.headers["Content-Type"] == "text/csv"
    assert request.body.count(b"\n") == runs.ROWS


def test_the_run_records_a_stream_cut_at_its_deadline_with_the_pieces_that_came():
    deadline = DeadlineExceeded("no complete answer within 70 s", [(0.01, 2)])
    stream = runs.streamed_request(hosting_with(StreamingServer(deadline)))
    assert not stream.ended and stream.sent.timed_out
    assert (stream.sent.error, stream.pieces) == ("no complete answer within 70 s", [(0.01, 2)])


def test_the_run_ends_on_any_other_failure_to_exchange_and_the_plan_keeps_it():
    hosting = hosting_with(StreamingServer(requests.ConnectionError("reset")))
    with pytest.raises(requests.ConnectionError):
        runs.streamed_request(hosting)
    with pytest.raises(requests.ConnectionError):  # remembered, not sent again
        runs.streamed_request(hosting)


def test_the_run_needs_csv_both_ways():
    hosting = hosting_with(StreamingServer(answered([])), traffic=Traffic(takes_csv=False, accept="application/json"))
    with pytest.raises(CouldNotRun, match="text/csv"):
        runs.streamed_request(hosting)
