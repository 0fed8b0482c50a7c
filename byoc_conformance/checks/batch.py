"""Batch transform requirements (catalogue A.6), judged on local transform jobs run as SageMaker runs them:
a label-first CSV file, InputFilter `$[1:]`, SplitType Line, AssembleWith Line. The jobs and the requests sent to
their servers are runs of byoc_conformance/batch.py; the checks here judge their records."""

from __future__ import annotations

import json

from ..batch import (
    MaxPayload,
    Transform,
    assemble,
    bad_record,
    concurrent_job,
    default_job,
    max_payload,
    out_file_job,
    single_record_job,
)
from ..exchange import Answer, cut_note
from ..hosting import Server
from ..probing import Sent
from ..registry import Context, check, on_hosting
from ..verdicts import Failed, Inconclusive, NotApplicable, Request
from .claims import BATCH, claimed_run

STRATEGIES = ("MULTI_RECORD", "SINGLE_RECORD")
PARAMETERS_REQUEST = Request("execution-parameters", "GET", "/execution-parameters")


def _parameter_problems(body: bytes) -> list[str]:
    try:
        answer = json.loads(body)
    except ValueError as error:
        return [f"not valid JSON ({error}): {body[:200]!r}"]
    if not isinstance(answer, dict):
        return [f"not a JSON object: {body[:200]!r}"]
    problems = [f"{name} is missing" for name in ("MaxConcurrentTransforms", "BatchStrategy", "MaxPayloadInMB")
                if name not in answer]
    problems += [f"{name} is {answer[name]!r}, not a whole number" for name in ("MaxConcurrentTransforms",
                 "MaxPayloadInMB") if name in answer and (type(answer[name]) is not int)]
    if "BatchStrategy" in answer and answer["BatchStrategy"] not in STRATEGIES:
        problems.append(f"BatchStrategy is {answer['BatchStrategy']!r}, not MULTI_RECORD or SINGLE_RECORD")
    return problems


def _require_answer(status: int | str) -> None:
    if status == 404:
        raise NotApplicable("GET /execution-parameters answered 404: the job's settings and the defaults apply")


@check("BATCH-03", "execution-parameters-valid", level="MUST", runs=(on_hosting(default_job),))
def execution_parameters_valid(ctx: Context) -> str:
    job = claimed_run(BATCH, "BATCH-03", lambda: default_job(ctx.hosting))
    server, status, body = job.server, job.status, job.body
    _require_answer(status)
    expected = ('200 with {"MaxConcurrentTransforms": <int>, "BatchStrategy": "MULTI_RECORD" or "SINGLE_RECORD", '
                '"MaxPayloadInMB": <int>}, or 404 when the container has no preference')
    if isinstance(status, str):
        raise Failed(f"GET /execution-parameters: {status}", expected=expected, run=server, request=PARAMETERS_REQUEST)
    if status != 200:
        raise Failed(f"GET /execution-parameters answered HTTP {status}", expected=expected, run=server,
                     request=PARAMETERS_REQUEST)
    problems = _parameter_problems(body)
    if problems:
        raise Failed("; ".join(problems), expected=expected, run=server, request=PARAMETERS_REQUEST)
    return f"/execution-parameters answers {body.decode().strip()}"


@check("BATCH-04", "execution-parameters-in-range", runs=(on_hosting(default_job),))
def execution_parameters_in_range(ctx: Context) -> str:
    job = claimed_run(BATCH, "BATCH-04", lambda: default_job(ctx.hosting))
    server, status, body = job.server, job.status, job.body
    _require_answer(status)
    if status != 200 or _parameter_problems(body):
        raise Inconclusive("the /execution-parameters answer is not usable (see BATCH-03)")
    answer = json.loads(body)
    concurrent, payload = answer["MaxConcurrentTransforms"], answer["MaxPayloadInMB"]
    problems = [f"MaxPayloadInMB {payload} is not within 0..100"] if not 0 <= payload <= 100 else []
    problems += [f"MaxConcurrentTransforms {concurrent} is below 1"] if concurrent < 1 else []
    if concurrent * payload > 100:
        problems.append(f"MaxConcurrentTransforms x MaxPayloadInMB = {concurrent * payload}, over 100")
    if problems:
        raise Failed("; ".join(problems), expected="MaxPayloadInMB <= 100 and MaxConcurrentTransforms x "
                     "MaxPayloadInMB <= 100 (CreateTransformJob limits)", run=server, request=PARAMETERS_REQUEST)
    return f"MaxConcurrentTransforms {concurrent} x MaxPayloadInMB {payload} = {concurrent * payload} <= 100"


@check("BATCH-04", "accepts-max-payload", runs=(on_hosting(default_job), on_hosting(max_payload)))
def accepts_max_payload(ctx: Context) -> str:
    sent = claimed_run(BATCH, "BATCH-04", lambda: max_payload(ctx.hosting))
    if sent.streamed:
        return _streamed_payload_answered(sent)
    if sent.sent is None:
        raise Inconclusive(f"the resolved MaxPayloadInMB {sent.limit!r} is not a size to send (1..100)")
    return _sized_payload_answered(sent.sent, sent.server, f"2xx for payloads up to the resolved MaxPayloadInMB="
                                   f"{sent.limit} MiB")


def _excerpt(response: Answer) -> str:
    body = response.content
    return repr(body if len(body) <= 200 else body[:200] + b"...") + cut_note(response)


def _sized_payload_answered(sent: Sent, server: Server, expected: str) -> str:
    """A valid body of just under the limit must get a 2xx. A server that left an earlier request unanswered at the
    deadline was not asked: that request is the evidence."""
    payload, response = sent.payload, sent.response
    if response is None:
        observed = f"no complete answer within {server.invocation_timeout:g} s ({sent.error})" if sent.timed_out \
            else f"no answer: {sent.error}"
        raise Failed(observed, expected=expected, run=server, request=sent.blamed or sent.request)
    if not response.ok:
        raise Failed(f"HTTP {response.status_code} for {payload.kind}; body {_excerpt(response)}",  # type: ignore[union-attr]
                     expected=expected, run=server, request=sent.request)
    return f"HTTP {response.status_code} for {payload.kind} in {response.elapsed.total_seconds():.2f} s"  # type: ignore[union-attr]


def _streamed_payload_answered(record: MaxPayload) -> str:
    """MaxPayloadInMB 0: SageMaker sends payloads of any size with chunked transfer encoding. Valid CSV of just
    under STREAMED_PAYLOAD bytes, sent so, must be answered 2xx with one output record per row."""
    server, sent = record.server, record.sent
    assert sent is not None and sent.payload is not None  # batch.max_payload sends one under MaxPayloadInMB 0
    payload, request, response = sent.payload, sent.request, sent.response
    expected = ("MaxPayloadInMB 0 (no limit: payloads of any size sent with Transfer-Encoding: chunked): 2xx and "
                f"one output record per row for {payload.kind} sent chunked")
    if response is None and sent.timed_out:
        raise Failed(f"no complete answer within {server.invocation_timeout:g} s to {payload.kind} sent chunked "
                     f"({sent.error})", expected=expected, run=server, request=request)
    if response is None:
        raise Failed(f"no answer to {payload.kind} sent chunked: {sent.error}", expected=expected, run=server,
                     request=request)
    if not response.ok or response.truncated:
        raise Failed(f"HTTP {response.status_code} for {payload.kind} sent chunked; body {_excerpt(response)}",
                     expected=expected, run=server, request=request)
    records = len(assemble([response.content]).splitlines())
    if records != payload.rows:
        raise Failed(f"HTTP {response.status_code} with {records} output records for {payload.kind} sent chunked",
                     expected=expected, run=server, request=request)
    return (f"MaxPayloadInMB 0: HTTP {response.status_code} with {records} output records for {payload.kind} sent "
            f"chunked, in {response.elapsed.total_seconds():.2f} s")


def _require_complete(result: Transform, server: Server, what: str) -> None:
    expected = f"every payload answered 2xx and one output record per input record ({what})"
    if result.failures:
        raise Failed(f"{len(result.failures)} of {result.payloads} payloads failed; first: {result.failures[0]}",
                     expected=expected, run=server)
    if result.records_out != result.records_in:
        raise Failed(f"{result.records_out} output records for {result.records_in} input records; {result.summary()}",
                     expected=expected, run=server)


@check("BATCH-05", "multi-record-count", runs=(on_hosting(default_job),))
def multi_record_count(ctx: Context) -> str:
    job = claimed_run(BATCH, "BATCH-05", lambda: default_job(ctx.hosting))
    _require_complete(job.transform, job.server, "MultiRecord")
    return job.transform.summary()


@check("BATCH-06", "multi-record-order", runs=(on_hosting(default_job), on_hosting(single_record_job)))
def multi_record_order(ctx: Context) -> str:
    job = claimed_run(BATCH, "BATCH-06", lambda: default_job(ctx.hosting))
    server, result = job.server, job.transform
    if result.failures or result.records_out != result.records_in:
        raise Inconclusive("the multi-record answers are incomplete (see BATCH-05 multi-record-count)", run=server)
    single_job = claimed_run(BATCH, "BATCH-06", lambda: single_record_job(ctx.hosting))
    single, step = single_job.transform, single_job.step
    if single.failures or single.records_out != single.records_in:
        raise Inconclusive("the single-record answers to compare with are incomplete (see BATCH-05 "
                           "single-record-count)", run=server)
    together, alone = result.output.splitlines(), single.output.splitlines()
    if not alone:
        raise Inconclusive("no record was answered on its own, so there is no order to compare with", run=server)
    for sampled, answer in enumerate(alone):
        if together[sampled * step] != answer:
            raise Failed(f"record {sampled * step + 1} answered {together[sampled * step]!r} in a multi-record "
                         f"payload but {answer!r} on its own: records reordered or mixed up",
                         expected="the answers in the order of the records", run=server)
    return f"{len(alone)} of {result.records_in} records (every {step}th) match their single-record answers"


@check("BATCH-05", "single-record-count", runs=(on_hosting(single_record_job),))
def single_record_count(ctx: Context) -> str:
    job = claimed_run(BATCH, "BATCH-05", lambda: single_record_job(ctx.hosting))
    _require_complete(job.transform, job.server, "SingleRecord")
    return job.transform.summary()


@check("BATCH-02", "concurrent-transforms",
       runs=(on_hosting(default_job), on_hosting(single_record_job), on_hosting(concurrent_job)))
def concurrent_transforms(ctx: Context) -> str:
    # Every batch server must start with the batch variables set (the other BATCH checks name BATCH-02 when one
    # does not): the default and single-record jobs' as well as this one's.
    for run in (default_job, single_record_job):
        claimed_run(BATCH, "BATCH-02", lambda run=run: run(ctx.hosting))
    job = claimed_run(BATCH, "BATCH-02", lambda: concurrent_job(ctx.hosting))
    _require_complete(job.transform, job.server, "4 concurrent transforms, SAGEMAKER_MAX_CONCURRENT_TRANSFORMS=4")
    return job.transform.summary()


@check("BATCH-06", "out-file-one-line-per-record", runs=(on_hosting(default_job), on_hosting(out_file_job)))
def out_file(ctx: Context) -> str:
    """The scikit-learn example's job: InputFilter $[1:], JoinSource Input, OutputFilter $[0,-1], so each
    .out line is the record's label and its prediction."""
    job = claimed_run(BATCH, "BATCH-06", lambda: out_file_job(ctx.hosting))
    server, result, labels = job.server, job.transform, job.labels
    lines = result.output.split(b"\n")
    expected = "AssembleWith=Line with JoinSource=Input: one line per input record, its label then its prediction"
    if result.failures or lines[-1] != b"" or len(lines) - 1 != result.records_in:
        failed = f"; {len(result.failures)} of {result.payloads} payloads failed, first: {result.failures[0]}" \
            if result.failures else ""
        raise Failed(f"the .out file has {len(lines) - 1} lines ({lines[:-1].count(b'')} empty) for "
                     f"{result.records_in} records{failed}", expected=expected, run=server)
    wrong = next((n for n, (line, label) in enumerate(zip(lines, labels), 1)
                  if line.split(b",")[0] != label or line.count(b",") != 1), None)
    if wrong:
        raise Failed(f".out line {wrong} is {lines[wrong - 1][:100]!r}", expected=expected, run=server)
    return f"{result.records_in} lines of label,prediction; {result.summary()}"


@check("BATCH-06", "bad-record-is-4xx", runs=(on_hosting(default_job), on_hosting(bad_record)))
def bad_record_is_4xx(ctx: Context) -> str:
    record = claimed_run(BATCH, "BATCH-06", lambda: bad_record(ctx.hosting))
    server, request, response = record.server, record.sent.request, record.sent.response
    expected = "a 4xx for a payload with a bad record (SageMaker fails that file), and the server stays up"
    if response is None:
        raise Failed(f"no answer: {record.sent.error}", expected=expected, run=server, request=request)
    if not 400 <= response.status_code < 500 or record.ping != "HTTP 200":
        raise Failed(f"HTTP {response.status_code} for the bad record; /ping then answered {record.ping}",
                     expected=expected, run=server, request=request)
    return f"HTTP {response.status_code} for the bad record; /ping still 200"
