"""Batch transform as SageMaker runs it (BATCH-01..08): the same image with `serve` and the batch
environment, GET /execution-parameters, an input file split by line into payloads, sent with the resolved
concurrency, and the answers assembled in input order into the `.out` file. Under MaxPayloadInMB 0 (no limit),
payloads are sent as SageMaker sends them then: with chunked transfer encoding, no Content-Length."""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import requests

from . import exchange
from .exchange import cut_note
from .hosting import Server, ServerGone, invocation
from .verdicts import Request

MIB = 1024 * 1024  # batch "MB" is read as MiB, as SageMaker's local mode does
DEFAULTS = {"MaxConcurrentTransforms": 1, "BatchStrategy": "MULTI_RECORD", "MaxPayloadInMB": 6}
ENVIRONMENT = {"MaxConcurrentTransforms": "SAGEMAKER_MAX_CONCURRENT_TRANSFORMS",
               "BatchStrategy": "SAGEMAKER_BATCH_STRATEGY", "MaxPayloadInMB": "SAGEMAKER_MAX_PAYLOAD_IN_MB"}


@dataclass(frozen=True)
class Job:
    """What a CreateTransformJob request sets; a parameter left None comes from the container or the defaults."""

    settings: dict[str, Any] = field(default_factory=dict)  # MaxConcurrentTransforms, BatchStrategy, MaxPayloadInMB
    input_filter: str = "$"
    join_source: bool = False  # JoinSource=Input: each output record follows its whole input record
    output_filter: str = "$"

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


def split(records: list[bytes], strategy: str, max_payload_mb: int) -> list[list[bytes]]:
    """Line-split records grouped into payloads: one record each under SINGLE_RECORD, as many whole records
    as fit in MaxPayloadInMB under MULTI_RECORD (0: no limit, the whole input streamed as one payload)."""
    if strategy == "SINGLE_RECORD":
        return [[record] for record in records]
    if max_payload_mb == 0:
        return [records] if records else []
    limit, payloads, size = max_payload_mb * MIB, [[]], 0
    for number, record in enumerate(records, 1):
        if len(record) > limit:
            raise ValueError(f"record {number} is {len(record)} bytes, over MaxPayloadInMB={max_payload_mb}")
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


def send(server: Server, request: Request) -> requests.Response:
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
    if response.truncated:  # type: ignore[attr-defined]
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


def transform(server: Server, job: Job, data: bytes, container: dict[str, Any] | None) -> Transform:
    parameters = resolve(job, container)
    originals = [r for r in data.splitlines(keepends=True) if r.strip()]
    records = [filter_record(r, job.input_filter) for r in originals]
    payloads = split(records, parameters["BatchStrategy"], parameters["MaxPayloadInMB"])
    result = Transform(parameters, len(payloads), len(records))

    streamed = CHUNKED if parameters["MaxPayloadInMB"] == 0 else None  # no size limit: sent chunked

    def send_one(numbered: tuple[int, list[bytes]]) -> bytes:
        number, payload = numbered
        try:
            response = send(server, invocation(b"".join(payload), f"batch-payload-{number}", extra_headers=streamed))
        except requests.RequestException as error:
            result.failures.append(f"payload {number}: no answer ({error})")
            return b""
        if not response.ok or response.truncated:  # type: ignore[attr-defined]
            result.failures.append(f"payload {number}: HTTP {response.status_code} {response.content[:200]!r}"
                                   + cut_note(response))
            return b""
        return response.content

    started = time.monotonic()
    with ThreadPoolExecutor(max(1, int(parameters["MaxConcurrentTransforms"]))) as pool:
        answers = list(pool.map(send_one, enumerate(payloads, 1)))  # map keeps input order
    result.seconds = time.monotonic() - started
    result.output = assemble(answers)
    if job.join_source and not result.failures:
        outputs = result.output.splitlines(keepends=True)
        if len(outputs) == len(originals):  # else the count check reports it; there is nothing to join
            result.output = b"".join(join(originals, outputs, job.output_filter))
    return result
