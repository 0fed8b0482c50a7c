"""Batch transform as SageMaker runs it (BATCH-01..08): the same image with `serve` and the batch
environment, GET /execution-parameters, an input file split by line into payloads, sent with the resolved
concurrency, and the answers assembled in input order into the `.out` file. Under MaxPayloadInMB 0 (no limit),
payloads are sent as SageMaker sends them then: with chunked transfer encoding, no Content-Length. A Job may also
set what a TransformJobDefinition sets (a validation profile's transform): SplitType None, Line or RecordIO,
CompressionType Gzip, the payloads' ContentType and Accept, and AssembleWith None or Line.

The runs the BATCH checks read are here too (the planned functions at the end): each returns a record of what it
sent and what came back (DefaultJob, SingleRecordJob, ConcurrentJob, MaxPayload, OutFile, BadRecord);
checks/batch.py judges them."""

from __future__ import annotations

import contextlib
import gzip
import json
import re
import time
import zlib
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import requests

from . import exchange, opt_ml, recordio
from .exchange import MIB, cut_note  # batch "MB" is read as MiB, as SageMaker's local mode does
from .hosting import Endpoint, Hosting, Server, ServerGone, invocation
from .payloads import Payload, large_csv
from .plan import planned_for
from .probing import Sent
from .serving import sized_answer
from .verdicts import Request

DEFAULTS = {"MaxConcurrentTransforms": 1, "BatchStrategy": "MULTI_RECORD", "MaxPayloadInMB": 6}
ENVIRONMENT = {"MaxConcurrentTransforms": "SAGEMAKER_MAX_CONCURRENT_TRANSFORMS",
               "BatchStrategy": "SAGEMAKER_BATCH_STRATEGY", "MaxPayloadInMB": "SAGEMAKER_MAX_PAYLOAD_IN_MB"}
SPLIT_TYPES, COMPRESSION_TYPES, ASSEMBLE_WITH = ("None", "Line", "RecordIO"), ("None", "Gzip"), ("None", "Line")


@dataclass(frozen=True)
class Job:
    """What a CreateTransformJob request sets; a parameter left None comes from the container or the defaults."""

    settings: dict[str, Any] = field(default_factory=dict)  # MaxConcurrentTransforms, BatchStrategy, MaxPayloadInMB
    input_filter: str = "$"
    join_source: bool = False  # JoinSource=Input: each output record follows its whole input record
    output_filter: str = "$"
    split_type: str = "Line"  # TransformInput.SplitType: None (the object is one record), Line or RecordIO
    compression: str = "None"  # TransformInput.CompressionType: Gzip input is decompressed before it is split
    content_type: str = "text/csv"  # TransformInput.ContentType: every payload's Content-Type
    accept: str | None = None  # TransformOutput.Accept: every payload's Accept (None: invocation's own)
    assemble_with: str = "Line"  # TransformOutput.AssembleWith: Line, or None (the answers as they came)

    def __post_init__(self) -> None:
        for name, value, known in (("SplitType", self.split_type, SPLIT_TYPES),
                                   ("CompressionType", self.compression, COMPRESSION_TYPES),
                                   ("AssembleWith", self.assemble_with, ASSEMBLE_WITH)):
            if value not in known:
                raise ValueError(f"unknown {name} {value!r} (one of {', '.join(known)})")

    def environment(self) -> dict[str, str]:
        # SAGEMAKER_BATCH is always set; the others only when the job sets them.
        return {"SAGEMAKER_BATCH": "true", **{ENVIRONMENT[k]: str(v) for k, v in self.settings.items()}}


def resolve(job: Job, container: dict[str, Any] | None) -> dict[str, Any]:
    """SageMaker's precedence, per parameter: the job's setting, then the container's answer, then the default.
    A container value that is not a usable setting is passed over (BATCH-03/04 judge it)."""
    answer = {name: value for name, value in (container or {}).items() if usable(name, value)}
    return {name: job.settings.get(name, answer.get(name, default)) for name, default in DEFAULTS.items()}


def usable(name: str, value: Any) -> bool:
    """Whether a value can be run with: a strategy SageMaker knows, a whole number of transforms in 1..100,
    a payload size in 0..100 MB (0: the payload is streamed)."""
    if name == "BatchStrategy":
        return value in ("MULTI_RECORD", "SINGLE_RECORD")
    low = 1 if name == "MaxConcurrentTransforms" else 0
    return type(value) is int and low <= value <= 100


class InputError(ValueError):
    """An input SageMaker cannot transform: not Gzip or RecordIO as the job says, or a record over MaxPayloadInMB."""


def split(records: list[bytes], strategy: str, max_payload_mb: int) -> list[list[bytes]]:
    """Records grouped into payloads: one record each under SINGLE_RECORD, as many whole records as fit in
    MaxPayloadInMB under MULTI_RECORD (0: no limit, the whole input streamed as one payload). A record over
    MaxPayloadInMB fits in no payload, whatever the strategy: InputError."""
    limit = max_payload_mb * MIB
    for number, record in enumerate(records, 1):
        if limit and len(record) > limit:
            raise InputError(f"record {number} is {len(record)} bytes, over MaxPayloadInMB={max_payload_mb}")
    if strategy == "SINGLE_RECORD":
        return [[record] for record in records]
    if max_payload_mb == 0:
        return [records] if records else []
    payloads: list[list[bytes]] = [[]]
    size = 0
    for record in records:
        if size + len(record) > limit:
            payloads.append([])
            size = 0
        payloads[-1].append(record)
        size += len(record)
    return [payload for payload in payloads if payload]


CHUNKED = {"Transfer-Encoding": "chunked"}  # the header of a request whose body is sent in chunks
PIECE = 64 * 1024  # the size of each chunk


def chunked(request: Request) -> bool:
    """Whether the request's body is sent with chunked transfer encoding (its curl says so with the same header)."""
    return any(k.lower() == "transfer-encoding" and v.lower() == "chunked" for k, v in request.headers.items())


def _pieces(body: bytes) -> Iterator[bytes]:
    for start in range(0, len(body), PIECE):
        yield body[start:start + PIECE]


def send(server: Server, request: Request) -> exchange.Answer:
    """Server.send, except that a chunked request's body goes in chunks of PIECE bytes with no Content-Length (a
    body that requests gets as a generator), and its answer is read up to twice its size beyond the usual cap: a
    payload without a size limit may have an answer over InvokeEndpoint's limit."""
    if not chunked(request):
        return server.send(request)
    return server.send(request, data=_pieces(request.body), cap=exchange.BODY_CAP + 2 * len(request.body))


def select(fields: list[str], path: str) -> list[str]:
    """A CSV row through a DataProcessing JSONPath: `$`, `$[i]`, `$[i,j,...]` or `$[start:end]`. A slice end
    is exclusive, as in Python and JSONPath (the batch docs' examples read it as inclusive; see BATCH-08)."""
    if path == "$":
        return fields
    match = re.fullmatch(r"\$\[(.*)\]", path.replace(" ", ""))
    if not match:
        raise ValueError(f"unsupported JSONPath for CSV: {path!r}")
    inside = match.group(1)
    if ":" in inside:
        start, _, end = inside.partition(":")
        return fields[int(start) if start else None:int(end) if end else None]
    return [fields[int(index)] for index in inside.split(",")]


def filter_record(record: bytes, path: str) -> bytes:
    return (",".join(select(record.decode().rstrip("\r\n").split(","), path)) + "\n").encode()


def join(inputs: list[bytes], outputs: list[bytes], output_filter: str) -> list[bytes]:
    """JoinSource=Input for CSV: the input record's fields, then the answer's, through OutputFilter."""
    return [filter_record(i.rstrip(b"\r\n") + b"," + o.rstrip(b"\r\n"), output_filter) for i, o in zip(inputs, outputs)]


def assemble(answers: list[bytes]) -> bytes:
    """AssembleWith=Line: the answers in input order, each ending in a newline (one is added where an answer
    lacks it; none is doubled)."""
    return b"".join(answer if answer.endswith(b"\n") else answer + b"\n" for answer in answers if answer)


@dataclass
class Transform:
    """One transform of an input file: what was resolved and sent, and what came back."""

    parameters: dict[str, Any]
    payloads: int = 0
    records_in: int = 0
    output: bytes = b""
    seconds: float = 0.0
    failures: list[str] = field(default_factory=list)  # "payload N: HTTP 503 ..." for answers that were not 2xx

    @property
    def records_out(self) -> int:
        return len(self.output.splitlines())

    def summary(self) -> str:
        p = self.parameters
        first = b", ".join(self.output.splitlines()[:3]).decode("utf-8", "replace")
        return (f"{self.records_in} records in {self.payloads} payloads ({p['BatchStrategy']}, MaxPayloadInMB="
                f"{p['MaxPayloadInMB']}, MaxConcurrentTransforms={p['MaxConcurrentTransforms']}) -> "
                f"{self.records_out} output records in {self.seconds:.2f} s (.out begins: {first})")


PARAMETERS_DEADLINE = 10.0  # SageMaker calls it once before the invocations; 10 s is generous


def execution_parameters(server: Server) -> tuple[int | str, bytes]:
    """GET /execution-parameters: (status, body), or (why there is no answer, b"")."""
    try:
        response = server.exchange("GET", "/execution-parameters", deadline=PARAMETERS_DEADLINE,
                                   cap=exchange.PING_BODY_CAP)
    except ServerGone:
        return "no answer (the container has exited)", b""
    except requests.Timeout:
        return f"no complete answer within {PARAMETERS_DEADLINE:g} s", b""
    except requests.RequestException as error:
        return f"no answer ({type(error).__name__})", b""
    if response.truncated:
        return f"an answer over {exchange.PING_BODY_CAP} bytes (cut there)", b""
    return response.status_code, response.content


def container_answer(status: int | str, body: bytes) -> dict[str, Any] | None:
    """The container's /execution-parameters, if it answered 200 with a JSON object; else None (defaults)."""
    if status != 200:
        return None
    try:
        answer = json.loads(body)
    except ValueError:
        return None
    return answer if isinstance(answer, dict) else None


def input_records(job: Job, data: bytes) -> list[bytes]:
    """The records an input object is split into, as SageMaker splits it under the job's CompressionType and
    SplitType: the non-blank lines (each with its line end), the whole object (none if it is empty), or whole
    RecordIO records (each with its framing). InputError for input that cannot be so read."""
    if job.compression == "Gzip":
        try:
            data = gzip.decompress(data)
        except (OSError, EOFError, zlib.error) as error:  # not gzip, truncated, or corrupt
            raise InputError(f"the input is not Gzip data ({error})") from None
    if job.split_type == "None":
        return [data] if data else []
    if job.split_type == "RecordIO":
        try:
            return recordio.split(data)
        except recordio.RecordIOError as error:
            raise InputError(f"the input is not whole RecordIO records ({error})") from None
    return [r for r in data.splitlines(keepends=True) if r.strip()]


def transform(server: Server, job: Job, data: bytes, container: dict[str, Any] | None) -> Transform:
    parameters = resolve(job, container)
    result = Transform(parameters)
    # The DataProcessing filters and the join read CSV lines: they apply only to a job split by line.
    by_line = job.split_type == "Line"
    try:
        originals = input_records(job, data)
        records = [filter_record(r, job.input_filter) for r in originals] if by_line else originals
        payloads = split(records, parameters["BatchStrategy"], parameters["MaxPayloadInMB"])
    except InputError as error:  # the job fails: none of its payloads is sent
        result.failures.append(f"{error}: SageMaker fails the transform")
        return result
    result.payloads, result.records_in = len(payloads), len(records)

    headers = {**(CHUNKED if parameters["MaxPayloadInMB"] == 0 else {}),  # no size limit: sent chunked
               **({"Accept": job.accept} if job.accept is not None else {})}

    def send_one(numbered: tuple[int, list[bytes]]) -> bytes:
        number, payload = numbered
        request = invocation(b"".join(payload), f"batch-payload-{number}", job.content_type, headers)
        try:
            response = send(server, request)
        except requests.RequestException as error:
            result.failures.append(f"payload {number}: no answer ({error})")
            return b""
        if not response.ok or response.truncated:
            result.failures.append(f"payload {number}: HTTP {response.status_code} {response.content[:200]!r}"
                                   + cut_note(response))
            return b""
        return response.content

    started = time.monotonic()
    with ThreadPoolExecutor(max(1, int(parameters["MaxConcurrentTransforms"]))) as pool:
        answers = list(pool.map(send_one, enumerate(payloads, 1)))  # map keeps input order
    result.seconds = time.monotonic() - started
    result.output = assemble(answers) if job.assemble_with == "Line" else b"".join(answers)
    if job.join_source and by_line and not result.failures:
        outputs = result.output.splitlines(keepends=True)
        if len(outputs) == len(originals):  # else the count check reports it; there is nothing to join
            result.output = b"".join(join(originals, outputs, job.output_filter))
    return result


# The runs the BATCH checks read. Each batch server is a server of its own: the shared `serve`'s image and model,
# started with the job's batch variables; a run that cannot have one stops as Server.require_healthy and
# Hosting.require_csv stop it (outcome.CouldNotRun), and checks/claims.py judges that.

DROP_LABEL = "$[1:]"  # the scikit-learn example's InputFilter: the label column stays out of the request
SINGLE_RECORD_SAMPLE = 200  # records sent one by one, to learn each one's answer
# MaxPayloadInMB 0 sets no limit: a payload over the 6 MB default and InvokeEndpoint's limit, sent chunked.
STREAMED_PAYLOAD = 8 * MIB


@planned_for
def batch_input(hosting: Hosting) -> bytes:
    """The input file: label-first CSV rows, about hosting.batch_input_mb MiB once the label is dropped."""
    rows = max(SINGLE_RECORD_SAMPLE, int(hosting.batch_input_mb * MIB / 40))  # ~40 bytes a row after the filter
    return opt_ml.training_csv(hosting.csv.label_first(), rows=rows, seed=1)


def _batch_server(hosting: Hosting, role: str, job: Job) -> Server:
    hosting.require_csv()  # the batch input is a CSV file
    hosting.healthy()  # a server that fails in real time says nothing new in batch
    server = hosting.start_fresh(Endpoint(role, environment=job.environment()))
    server.require_healthy()
    return server


@dataclass
class DefaultJob:
    """The job that sets nothing: the container's GET /execution-parameters (its status, or why there was none,
    and its body) or the defaults decide, and the transform of the input file so resolved."""

    server: Server
    status: int | str
    body: bytes
    transform: Transform

    @property
    def container(self) -> dict[str, Any] | None:
        return container_answer(self.status, self.body)


@planned_for
def default_job(hosting: Hosting) -> DefaultJob:
    job = Job(input_filter=DROP_LABEL)
    server = _batch_server(hosting, "batch", job)
    status, body = execution_parameters(server)
    container = container_answer(status, body)
    return DefaultJob(server, status, body, transform(server, job, batch_input(hosting), container))


@dataclass
class SingleRecordJob:
    """SINGLE_RECORD over every `step`-th record of the input: each record's own answer."""

    server: Server
    transform: Transform
    step: int


@planned_for
def single_record_job(hosting: Hosting) -> SingleRecordJob:
    records = batch_input(hosting).splitlines(keepends=True)
    step = max(1, len(records) // SINGLE_RECORD_SAMPLE)
    job = Job({"BatchStrategy": "SINGLE_RECORD", "MaxConcurrentTransforms": 1}, DROP_LABEL)
    server = _batch_server(hosting, "batch-single-record", job)
    return SingleRecordJob(server, transform(server, job, b"".join(records[::step]), None), step)


@dataclass
class ConcurrentJob:
    """Four transforms at once, in payloads of at most 1 MB."""

    server: Server
    transform: Transform


@planned_for
def concurrent_job(hosting: Hosting) -> ConcurrentJob:
    job = Job({"MaxConcurrentTransforms": 4, "MaxPayloadInMB": 1}, DROP_LABEL)
    server = _batch_server(hosting, "batch-concurrent", job)
    status, body = execution_parameters(server)
    return ConcurrentJob(server, transform(server, job, batch_input(hosting), container_answer(status, body)))


def _after(run: Any, hosting: Hosting) -> None:
    """Waits for `run` on the default job's server, whatever came of it: the requests of the runs that follow it
    there go after its own, in the same order every time."""
    with contextlib.suppress(Exception):
        run(hosting)


def streamed(server: Server, request: Request, payload: Payload | None = None) -> Sent:
    """`request` sent as `send` sends it (in chunks when it says so), and what came of it: its answer, or the error
    that stood for one (a timeout's own words: no earlier request is blamed)."""
    try:
        return Sent(request, payload, send(server, request))
    except requests.Timeout as error:
        return Sent(request, payload, error=str(error), timed_out=True)
    except requests.RequestException as error:
        return Sent(request, payload, error=str(error))


@dataclass
class MaxPayload:
    """A valid body of just under the default job's resolved MaxPayloadInMB sent to its server. Under MaxPayloadInMB
    0 (no limit), CSV of just under STREAMED_PAYLOAD bytes sent chunked (`streamed`); `sent` is None when the
    resolved value is not a size to send."""

    server: Server
    limit: Any  # the resolved MaxPayloadInMB
    sent: Sent | None = None

    @property
    def streamed(self) -> bool:
        return self.limit == 0


@planned_for
def max_payload(hosting: Hosting) -> MaxPayload:
    job = default_job(hosting)
    limit = job.transform.parameters["MaxPayloadInMB"]
    if limit == 0:
        hosting.require_csv()
        payload = large_csv(hosting.csv.feature_ranges, STREAMED_PAYLOAD)
        request = invocation(payload.body, "batch-max-payload-chunked.payload", payload.content_type, CHUNKED)
        return MaxPayload(job.server, limit, streamed(job.server, request, payload))
    if type(limit) is not int or not 1 <= limit <= 100:
        return MaxPayload(job.server, limit)
    return MaxPayload(job.server, limit, sized_answer(hosting, job.server, limit * MIB, "batch-max-payload.payload"))


@dataclass
class OutFile:
    """The scikit-learn example's job on the default job's server: InputFilter $[1:], JoinSource Input,
    OutputFilter $[0,-1]; and the label of each input record, which each .out line should begin with."""

    server: Server
    transform: Transform
    labels: list[bytes]


@planned_for
def out_file_job(hosting: Hosting) -> OutFile:
    default = default_job(hosting)
    _after(max_payload, hosting)
    job = Job(input_filter=DROP_LABEL, join_source=True, output_filter="$[0,-1]")
    data = batch_input(hosting)
    labels = [record.split(b",", 1)[0] for record in data.splitlines()]
    return OutFile(default.server, transform(default.server, job, data, default.container), labels)


@dataclass
class BadRecord:
    """A payload with a record that is not numbers sent to the default job's server, and then GET /ping ("HTTP
    200", or why not; None when the payload got no answer, and nothing more was sent)."""

    server: Server
    sent: Sent
    ping: str | None = None


@planned_for
def bad_record(hosting: Hosting) -> BadRecord:
    default = default_job(hosting)
    _after(out_file_job, hosting)
    request = invocation(b"1,2,3,4\nnot,a,number,here\n5,6,7,8\n", "batch-bad-record.payload")
    record = BadRecord(default.server, streamed(default.server, request))
    if record.sent.answered:
        record.ping, _ = default.server.ping()
    return record
