"""Batch transform requirements (catalogue A.6), judged on local transform jobs run as SageMaker runs them:
a label-first CSV file, InputFilter `$[1:]`, SplitType Line, AssembleWith Line."""

from __future__ import annotations

import json

import requests

from .. import opt_ml
from ..batch import CHUNKED, MIB, Job, Transform, assemble, container_answer, execution_parameters, send, transform
from ..exchange import cut_note
from ..hosting import Endpoint, Hosting, Server, invocation
from ..payloads import large_csv
from ..plan import planned_for
from ..registry import Context, check, on_hosting
from ..verdicts import Failed, Inconclusive, NotApplicable, Request
from .claims import BATCH, claimed_run
from .hosting import accepts_body

DROP_LABEL = "$[1:]"  # the scikit-learn example's InputFilter: the label column stays out of the request
SINGLE_RECORD_SAMPLE = 200  # records sent one by one, to learn each one's answer
STRATEGIES = ("MULTI_RECORD", "SINGLE_RECORD")
PARAMETERS_REQUEST = Request("execution-parameters", "GET", "/execution-parameters")
# MaxPayloadInMB 0 sets no limit: a payload over the 6 MB default and InvokeEndpoint's limit, sent chunked.
STREAMED_PAYLOAD = 8 * MIB


@planned_for
def _input(hosting: Hosting) -> bytes:
    rows = max(SINGLE_RECORD_SAMPLE, int(hosting.batch_input_mb * MIB / 40))  # ~40 bytes a row after the filter
    return opt_ml.training_csv(hosting.csv.label_first(), rows=rows, seed=1)


def _batch_server(hosting: Hosting, role: str, job: Job) -> Server:
    hosting.require_csv()  # the batch input is a CSV file
    hosting.healthy()  # a server that fails in real time says nothing new in batch
    server = hosting.start_fresh(Endpoint(role, environment=job.environment()))
    server.require_healthy()
    return server


@planned_for
def _default_job(hosting: Hosting) -> tuple[Server, int, bytes, Transform]:
    """The job sets nothing: the container's /execution-parameters or the defaults decide."""
    job = Job(input_filter=DROP_LABEL)
    server = _batch_server(hosting, "batch", job)
    status, body = execution_parameters(server)
    return server, status, body, transform(server, job, _input(hosting), container_answer(status, body))


@planned_for
def _single_record_job(hosting: Hosting) -> tuple[Server, Transform, int]:
    """SINGLE_RECORD over every k-th record of the input: each record's own answer. Returns k as well."""
    records = _input(hosting).splitlines(keepends=True)
    step = max(1, len(records) // SINGLE_RECORD_SAMPLE)
    job = Job({"BatchStrategy": "SINGLE_RECORD", "MaxConcurrentTransforms": 1}, DROP_LABEL)
    server = _batch_server(hosting, "batch-single-record", job)
    return server, transform(server, job, b"".join(records[::step]), None), step


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


@check("BATCH-03", "execution-parameters-valid", level="MUST", runs=(on_hosting(_default_job),))
def execution_parameters_valid(ctx: Context) -> str:
    server, status, body, _ = claimed_run(BATCH, "BATCH-03", lambda: _default_job(ctx.hosting))
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


@check("BATCH-04", "execution-parameters-in-range", runs=(on_hosting(_default_job),))
def execution_parameters_in_range(ctx: Context) -> str:
    server, status, body, _ = claimed_run(BATCH, "BATCH-04", lambda: _default_job(ctx.hosting))
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


@check("BATCH-04", "accepts-max-payload", runs=(on_hosting(_default_job),))
def accepts_max_payload(ctx: Context) -> str:
    server, _, _, result = claimed_run(BATCH, "BATCH-04", lambda: _default_job(ctx.hosting))
    limit = result.parameters["MaxPayloadInMB"]
    if limit == 0:
        return _accepts_streamed_payload(ctx.hosting, server)
    if type(limit) is not int or not 1 <= limit <= 100:
        raise Inconclusive(f"the resolved MaxPayloadInMB {limit!r} is not a size to send (1..100)")
    return accepts_body(ctx.hosting, server, limit * MIB, "batch-max-payload.payload",
                        f"2xx for payloads up to the resolved MaxPayloadInMB={limit} MiB")


def _accepts_streamed_payload(hosting: Hosting, server: Server) -> str:
    """MaxPayloadInMB 0: SageMaker sends payloads of any size with chunked transfer encoding. Valid CSV of just
    under STREAMED_PAYLOAD bytes, sent so, must be answered 2xx with one output record per row."""
    hosting.require_csv()
    payload = large_csv(hosting.csv.feature_ranges, STREAMED_PAYLOAD)
    request = invocation(payload.body, "batch-max-payload-chunked.payload", payload.content_type, CHUNKED)
    expected = ("MaxPayloadInMB 0 (no limit: payloads of any size sent with Transfer-Encoding: chunked): 2xx and "
                f"one output record per row for {payload.kind} sent chunked")
    try:
        response = send(server, request)
    except requests.Timeout as error:
        raise Failed(f"no complete answer within {server.invocation_timeout:g} s to {payload.kind} sent chunked "
                     f"({error})", expected=expected, run=server, request=request) from None
    except requests.RequestException as error:
        raise Failed(f"no answer to {payload.kind} sent chunked: {error}", expected=expected, run=server,
                     request=request) from None
    body = response.content
    if not response.ok or response.truncated:  # type: ignore[attr-defined]
        excerpt = repr(body if len(body) <= 200 else body[:200] + b"...") + cut_note(response)
        raise Failed(f"HTTP {response.status_code} for {payload.kind} sent chunked; body {excerpt}", expected=expected,
                     run=server, request=request)
    records = len(assemble([body]).splitlines())
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


@check("BATCH-05", "multi-record-count", runs=(on_hosting(_default_job),))
def multi_record_count(ctx: Context) -> str:
    server, _, _, result = claimed_run(BATCH, "BATCH-05", lambda: _default_job(ctx.hosting))
    _require_complete(result, server, "MultiRecord")
    return result.summary()


@check("BATCH-06", "multi-record-order", runs=(on_hosting(_default_job), on_hosting(_single_record_job)))
def multi_record_order(ctx: Context) -> str:
    server, _, _, result = claimed_run(BATCH, "BATCH-06", lambda: _default_job(ctx.hosting))
    if result.failures or result.records_out != result.records_in:
        raise Inconclusive("the multi-record answers are incomplete (see BATCH-05 multi-record-count)", run=server)
    _, single, step = claimed_run(BATCH, "BATCH-06", lambda: _single_record_job(ctx.hosting))
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


@check("BATCH-05", "single-record-count", runs=(on_hosting(_single_record_job),))
def single_record_count(ctx: Context) -> str:
    server, single, _ = claimed_run(BATCH, "BATCH-05", lambda: _single_record_job(ctx.hosting))
    _require_complete(single, server, "SingleRecord")
    return single.summary()


@planned_for
def _concurrent_job(hosting: Hosting) -> tuple[Server, Transform]:
    """Four transforms at once, in payloads of at most 1 MB."""
    job = Job({"MaxConcurrentTransforms": 4, "MaxPayloadInMB": 1}, DROP_LABEL)
    server = _batch_server(hosting, "batch-concurrent", job)
    status, body = execution_parameters(server)
    return server, transform(server, job, _input(hosting), container_answer(status, body))


@check("BATCH-02", "concurrent-transforms",
       runs=(on_hosting(_default_job), on_hosting(_single_record_job), on_hosting(_concurrent_job)))
def concurrent_transforms(ctx: Context) -> str:
    # Every batch server must start with the batch variables set (the other BATCH checks name BATCH-02 when one
    # does not): the default and single-record jobs' as well as this one's.
    for job in (_default_job, _single_record_job):
        claimed_run(BATCH, "BATCH-02", lambda job=job: job(ctx.hosting))
    server, result = claimed_run(BATCH, "BATCH-02", lambda: _concurrent_job(ctx.hosting))
    _require_complete(result, server, "4 concurrent transforms, SAGEMAKER_MAX_CONCURRENT_TRANSFORMS=4")
    return result.summary()


@check("BATCH-06", "out-file-one-line-per-record", runs=(on_hosting(_default_job),))
def out_file(ctx: Context) -> str:
    """The scikit-learn example's job: InputFilter $[1:], JoinSource Input, OutputFilter $[0,-1], so each
    .out line is the record's label and its prediction."""
    server, status, body, _ = claimed_run(BATCH, "BATCH-06", lambda: _default_job(ctx.hosting))
    job = Job(input_filter=DROP_LABEL, join_source=True, output_filter="$[0,-1]")
    result = transform(server, job, _input(ctx.hosting), container_answer(status, body))
    lines = result.output.split(b"\n")
    labels = [record.split(b",", 1)[0] for record in _input(ctx.hosting).splitlines()]
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


@check("BATCH-06", "bad-record-is-4xx", runs=(on_hosting(_default_job),))
def bad_record(ctx: Context) -> str:
    server, _, _, _ = claimed_run(BATCH, "BATCH-06", lambda: _default_job(ctx.hosting))
    request = invocation(b"1,2,3,4\nnot,a,number,here\n5,6,7,8\n", "batch-bad-record.payload")
    expected = "a 4xx for a payload with a bad record (SageMaker fails that file), and the server stays up"
    try:
        response = server.send(request)
    except requests.RequestException as error:
        raise Failed(f"no answer: {error}", expected=expected, run=server, request=request) from None
    ping, _ = server.ping()
    if not 400 <= response.status_code < 500 or ping != "HTTP 200":
        raise Failed(f"HTTP {response.status_code} for the bad record; /ping then answered {ping}",
                     expected=expected, run=server, request=request)
    return f"HTTP {response.status_code} for the bad record; /ping still 200"
