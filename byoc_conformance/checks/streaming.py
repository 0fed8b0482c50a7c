"""Response streaming (STREAM-01, STREAM-02), for an image said to stream its answers: a CSV request of several
rows, whose answer must come with chunked transfer encoding, in pieces as they are produced, and end in time. It goes
to the shared server (streaming.streamed_request, which records when each piece came): if that never answers /ping
200, STREAM-01 fails on it and STREAM-02 is inconclusive (claims.py)."""

from __future__ import annotations

from ..registry import Context, check, on_hosting
from ..streaming import ROWS, Stream, streamed_request
from ..verdicts import Failed, Inconclusive, NotApplicable
from .claims import STREAMING, claimed_run

SPREAD = 0.05  # seconds: pieces that all come within this of the end were held back, not streamed
# Shown before the request's curl (verdicts.reproduction), which it applies to.
REPRODUCE = "# in the curl below, -N shows each piece as it comes; -w '%{time_starttransfer} %{time_total}' says when"


def _claimed(ctx: Context) -> None:
    if not ctx.declaration.response_streaming:
        raise NotApplicable("the image is not said to stream its answers: neither the declaration's "
                            "$.byoc-conformance.response_streaming nor --byoc-response-streaming")


def _times(pieces: list[tuple[float, int]]) -> str:
    return ", ".join(f"{size} B at {seconds * 1000:.0f} ms" for seconds, size in pieces[:10]) + (
        f", ... ({len(pieces)} pieces)" if len(pieces) > 10 else "")


def _stream(ctx: Context, requirement: str) -> Stream:
    """The streamed request and its answer; a server that did not start fails STREAM-01 (claims.py)."""
    _claimed(ctx)
    return claimed_run(STREAMING, requirement, lambda: streamed_request(ctx.hosting))


@check("STREAM-01", "answers-in-pieces", level="MUST", runs=(on_hosting(streamed_request),))
def answers_in_pieces(ctx: Context) -> str:
    stream = _stream(ctx, "STREAM-01")
    server, request, answer, pieces = stream.server, stream.sent.request, stream.sent.response, stream.pieces
    expected = (f"a 2xx answer with Transfer-Encoding: chunked whose pieces leave as they are produced: the first "
                f"more than {SPREAD * 1000:.0f} ms before the end")
    if answer is None:
        raise Inconclusive(f"the stream did not end ({stream.sent.error}; {_times(pieces) or 'no piece'}): STREAM-02 "
                           "judges that", run=server, request=request)
    if not answer.ok:
        raise Failed(f"HTTP {answer.status_code}: {answer.content[:200]!r}", expected=expected, run=server,
                     request=request, reproduce=REPRODUCE)
    encoding = answer.headers.get("Transfer-Encoding", "")
    if "chunked" not in encoding.lower():
        raise Failed(f"no chunked transfer encoding (Content-Length: {answer.headers.get('Content-Length')}); "
                     f"pieces: {_times(pieces)}", expected=expected, run=server, request=request,
                     reproduce=REPRODUCE)
    if not pieces:
        raise Inconclusive("a chunked answer with an empty body: nothing streamed to judge", run=server,
                           request=request)
    first, end = pieces[0][0], pieces[-1][0]
    if end - first >= SPREAD:
        return (f"chunked, {len(pieces)} pieces over {(end - first) * 1000:.0f} ms (first at {first * 1000:.0f} ms, "
                f"end at {end * 1000:.0f} ms) for {ROWS} rows")
    if end < SPREAD:
        raise Inconclusive(f"chunked, and the whole answer came within {end * 1000:.0f} ms: too soon to tell "
                           f"pieces that stream from an answer held back ({_times(pieces)})", run=server,
                           request=request)
    raise Failed(f"chunked, but every piece came in the last {(end - first) * 1000:.0f} ms of "
                 f"{end * 1000:.0f} ms: the answer was held back until it was whole ({_times(pieces)})",
                 expected=expected, run=server, request=request, reproduce=REPRODUCE)


@check("STREAM-02", "stream-ends-in-time", runs=(on_hosting(streamed_request),))
def stream_ends_in_time(ctx: Context) -> str:
    stream = _stream(ctx, "STREAM-02")
    server, request, answer, pieces = stream.server, stream.sent.request, stream.sent.response, stream.pieces
    if answer is None:
        raise Failed(f"{stream.sent.error}: {_times(pieces) or 'no piece'} arrived, and no end of the stream",
                     expected=f"the stream ended within {server.invocation_timeout:g} s (--byoc-invocation-timeout)",
                     run=server, request=request, reproduce=REPRODUCE)
    if not answer.ok or not pieces:  # an error, or an empty body: no stream whose end could be timed
        raise Inconclusive(f"HTTP {answer.status_code} with {len(answer.content)} bytes: no stream to time "
                           "(STREAM-01 judges the answer)", run=server, request=request)
    return (f"the stream of {len(pieces)} pieces ended {pieces[-1][0]:.2f} s after the request "
            f"(limit {server.invocation_timeout:g} s)")
