"""STREAM-01/02's judgement of a streamed answer, in process: when its pieces came, how it was encoded, whether
it ended, and a server that never started. The checks run on real images in tests/integration (the stream* samples)."""

import dataclasses
from types import SimpleNamespace

import pytest
import requests

from byoc_conformance.checks import streaming
from byoc_conformance.declaration import DEFAULTS
from byoc_conformance.exchange import DeadlineExceeded
from byoc_conformance.plan import Plan
from byoc_conformance.verdicts import Failed, Inconclusive, NotApplicable, Request

from .test_claims import StoppedServer


def answered(pieces, chunked=True):
    response = requests.Response()
    response.status_code, response._content = 200, b"1\n" * len(pieces)
    response.headers["Transfer-Encoding" if chunked else "Content-Length"] = "chunked" if chunked else "16"
    response.pieces = pieces
    return response


def context(answer, claimed=True):
    hosting = SimpleNamespace(plan=Plan(), shared=SimpleNamespace(port=8080, invocation_timeout=70.0, logs="",
                                                                   label="`serve` container (fake)"))
    request = Request("stream.payload", "POST", "/invocations", b"1,2,3,4\n", {"Content-Type": "text/csv"})
    hosting.plan.once((streaming.__name__, streaming._streamed.__qualname__), lambda: (request, answer))
    declaration = dataclasses.replace(DEFAULTS, response_streaming=claimed)
    return SimpleNamespace(hosting=hosting, declaration=declaration, engine=SimpleNamespace(host_address="127.0.0.1"))


def test_pieces_that_leave_as_they_are_produced_pass():
    verdict = streaming.answers_in_pieces(context(answered([(0.002, 2), (0.022, 2), (0.142, 2)])))
    assert "3 pieces over 140 ms" in verdict


def test_an_answer_held_back_until_it_is_whole_fails_chunked_or_not():
    held = [(0.140, 2), (0.141, 2), (0.141, 2)]
    with pytest.raises(Failed, match="held back"):
        streaming.answers_in_pieces(context(answered(held)))
    with pytest.raises(Failed, match="no chunked transfer encoding"):
        streaming.answers_in_pieces(context(answered(held, chunked=False)))


def test_an_answer_too_fast_to_tell_is_inconclusive():
    with pytest.raises(Inconclusive, match="too soon to tell"):
        streaming.answers_in_pieces(context(answered([(0.003, 2), (0.004, 2)])))


def test_a_stream_that_never_ends_fails_stream_02_only():
    cut = DeadlineExceeded("no complete answer within 70 s")
    cut.pieces = [(0.01, 2), (0.5, 1), (1.0, 1)]
    with pytest.raises(Failed, match="no end of the stream"):
        streaming.stream_ends_in_time(context(cut))
    with pytest.raises(Inconclusive, match="STREAM-02 judges that"):
        streaming.answers_in_pieces(context(cut))


def test_an_error_answer_is_no_stream_whose_end_could_be_timed():
    error = answered([(0.01, 40)], chunked=False)
    error.status_code = 500
    with pytest.raises(Inconclusive, match="no stream to time"):
        streaming.stream_ends_in_time(context(error))
    assert "3 pieces ended" in streaming.stream_ends_in_time(context(answered([(0.002, 2), (0.1, 2), (0.2, 2)])))


def test_without_the_claim_neither_applies():
    for judge in (streaming.answers_in_pieces, streaming.stream_ends_in_time):
        with pytest.raises(NotApplicable):
            judge(context(answered([(0.01, 2)]), claimed=False))


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
