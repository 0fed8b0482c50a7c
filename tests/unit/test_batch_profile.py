"""A transform as a TransformJobDefinition describes it (batch.Job's SplitType, CompressionType, ContentType, Accept
and AssembleWith; issue 26's validation profile): what batch.transform sends and what it assembles, against a fake
server that answers from a script and remembers every request it was sent."""

import gzip
from datetime import timedelta

import pytest

from byoc_conformance import recordio
from byoc_conformance.batch import CHUNKED, MIB, Job, transform
from byoc_conformance.exchange import Answer

CSV = b"1,2\r\n3,4\n\n5,6"  # a CRLF line, a blank line and a last line without its newline


def lines(request):
    return Answer(200, b"0.5\n" * len(request.body.splitlines()), elapsed=timedelta(milliseconds=5))


class Server:
    """Answers each POST /invocations as `answer` says (one "0.5" line per line of the body unless told), and keeps
    each request with the options it was sent with."""

    label, role, logs, port = "batch transform server (fake)", "batch", "", 8080
    invocation_timeout = 30.0
    unanswered = None

    def __init__(self, answer=lines):
        self.answer = answer
        self.sent = []  # (request, options)

    def send(self, request, **options):
        self.sent.append((request, options))
        return self.answer(request)

    @property
    def bodies(self):
        return [request.body for request, _ in self.sent]


def run(job, data, parameters=None, answer=lines):
    """The transform of `data` under `job` (the container answering `parameters`) and the server it went to."""
    server = Server(answer)
    return transform(server, job, data, parameters), server  # type: ignore[arg-type]


def framed(*sizes):
    """RecordIO records of the given data sizes (each of its own byte), framed."""
    return [recordio.wrap(bytes([65 + n]) * size) for n, size in enumerate(sizes)]


def test_the_default_job_sends_what_it_always_sent():
    # The CSV checks' requests: the non-blank lines read through InputFilter "$" (each ending in "\n"), text/csv
    # both ways, no other header; chunked only under MaxPayloadInMB 0.
    result, server = run(Job(), CSV)
    [(request, options)] = server.sent
    assert (request.name, request.method, request.path) == ("batch-payload-1", "POST", "/invocations")
    assert request.headers == {"Content-Type": "text/csv", "Accept": "text/csv"} and options == {}
    assert request.body == b"1,2\n3,4\n5,6\n"
    assert (result.payloads, result.records_in, result.output, result.failures) == (1, 3, b"0.5\n" * 3, [])

    result, server = run(Job({"BatchStrategy": "SINGLE_RECORD"}, "$[1:]"), CSV)
    assert server.bodies == [b"2\n", b"4\n", b"6\n"]
    assert [r.name for r, _ in server.sent] == ["batch-payload-1", "batch-payload-2", "batch-payload-3"]

    result, server = run(Job({"MaxPayloadInMB": 0}), CSV)
    [(request, options)] = server.sent
    assert request.headers == {"Content-Type": "text/csv", "Accept": "text/csv", **CHUNKED} and "data" in options


def test_split_type_line_is_the_default():
    assert Job(split_type="Line") == Job()
    assert run(Job(split_type="Line"), CSV)[1].bodies == run(Job(), CSV)[1].bodies


def test_split_type_none_sends_the_whole_object_as_one_payload_untouched():
    result, server = run(Job({"BatchStrategy": "SINGLE_RECORD"}, input_filter="$[1:]", split_type="None"), CSV)
    assert server.bodies == [CSV]  # no line split, and no CSV filter
    assert (result.payloads, result.records_in) == (1, 1)


def test_split_type_none_sends_nothing_for_an_empty_object():
    result, server = run(Job(split_type="None"), b"")
    assert server.sent == [] and (result.payloads, result.records_in, result.failures) == (0, 0, [])


def test_split_type_recordio_packs_whole_records_under_multi_record():
    records = framed(MIB // 2 - 8, MIB // 2 - 8, 10, MIB // 2)  # with framing: 1/2 MiB, 1/2 MiB, 20 bytes, over 1/2
    data = b"".join(records)
    result, server = run(Job({"MaxPayloadInMB": 1}, split_type="RecordIO"), data)
    assert [recordio.split(body) for body in server.bodies] == [records[:2], records[2:]]
    assert (result.payloads, result.records_in, result.failures) == (2, 4, [])


def test_split_type_recordio_sends_one_record_each_under_single_record():
    records = framed(3, 0, 5)
    result, server = run(Job({"BatchStrategy": "SINGLE_RECORD"}, split_type="RecordIO"), b"".join(records))
    assert server.bodies == records and result.records_in == 3


def test_a_multi_part_recordio_record_stays_whole():
    parts = [recordio.wrap(b"ab"), recordio.wrap(b"cd")]
    # continuation flags in the header's top 3 bits: 1 starts a record, 3 ends it
    first = parts[0][:4] + (2 | 1 << 29).to_bytes(4, "little") + parts[0][8:]
    last = parts[1][:4] + (2 | 3 << 29).to_bytes(4, "little") + parts[1][8:]
    result, server = run(Job({"BatchStrategy": "SINGLE_RECORD"}, split_type="RecordIO"), first + last)
    assert server.bodies == [first + last] and result.records_in == 1


@pytest.mark.parametrize("garbage", [  # no magic number; stray bytes after a record; a record cut short
    b"1,2\n3,4\n", recordio.wrap(b"whole") + b"\x0a\x23", recordio.wrap(b"x" * 9)[:12]])
def test_input_that_is_not_whole_recordio_records_fails_the_transform_unsent(garbage):
    result, server = run(Job(split_type="RecordIO"), garbage)
    assert server.sent == [] and (result.payloads, result.records_in, result.output) == (0, 0, b"")
    [failure] = result.failures
    assert failure.startswith("the input is not whole RecordIO records (")
    assert failure.endswith("): SageMaker fails the transform")


def test_gzip_input_is_decompressed_before_it_is_split():
    result, server = run(Job(compression="Gzip"), gzip.compress(CSV))
    assert server.bodies == [b"1,2\n3,4\n5,6\n"] and result.records_in == 3
    result, server = run(Job(split_type="None", compression="Gzip"), gzip.compress(CSV))
    assert server.bodies == [CSV]


@pytest.mark.parametrize("bad", [CSV, gzip.compress(CSV)[:-6], gzip.compress(CSV)[:12] + b"\xff" * 20])
def test_input_that_is_not_gzip_fails_the_transform_unsent(bad):
    # not gzip at all; cut short; a gzip header before bytes that do not inflate
    result, server = run(Job(compression="Gzip"), bad)
    assert server.sent == [] and result.payloads == 0
    [failure] = result.failures
    assert failure.startswith("the input is not Gzip data (") and failure.endswith(": SageMaker fails the transform")


def test_content_type_and_accept_are_on_every_payload():
    job = Job({"BatchStrategy": "SINGLE_RECORD"}, split_type="RecordIO", content_type="application/x-recordio-protobuf",
              accept="application/jsonlines")
    _, server = run(job, b"".join(framed(1, 2)))
    assert [r.headers for r, _ in server.sent] == [
        {"Content-Type": "application/x-recordio-protobuf", "Accept": "application/jsonlines"}] * 2


def test_accept_goes_with_chunked_transfer_under_no_size_limit():
    _, server = run(Job({"MaxPayloadInMB": 0}, accept="application/json"), CSV)
    [(request, _)] = server.sent
    assert request.headers == {"Content-Type": "text/csv", "Accept": "application/json", **CHUNKED}


def answers_by_payload(*bodies):
    """Answers each payload N with bodies[N - 1]."""
    return lambda request: Answer(200, bodies[int(request.name.rsplit("-", 1)[1]) - 1])


def test_assemble_with_none_joins_the_answers_as_they_came():
    job = Job({"BatchStrategy": "SINGLE_RECORD", "MaxConcurrentTransforms": 3}, split_type="None", assemble_with="None")
    result, _ = run(job, b"one object", answer=answers_by_payload(b"[0.5]"))
    assert result.output == b"[0.5]"
    records = framed(1, 1, 1)
    answer = answers_by_payload(b"a", b"", b"b\n")
    result, _ = run(Job({"BatchStrategy": "SINGLE_RECORD", "MaxConcurrentTransforms": 3}, split_type="RecordIO",
                        assemble_with="None"), b"".join(records), answer=answer)
    assert result.output == b"ab\n"  # in input order, nothing added
    result, _ = run(Job({"BatchStrategy": "SINGLE_RECORD", "MaxConcurrentTransforms": 3}, split_type="RecordIO"),
                    b"".join(records), answer=answer)
    assert result.output == b"a\nb\n"  # AssembleWith Line: a newline where an answer lacks one


@pytest.mark.parametrize("job, data", [
    (Job({"MaxPayloadInMB": 1}), b"1,2\n" + b"9" * MIB + b"\n"),
    (Job({"MaxPayloadInMB": 1, "BatchStrategy": "SINGLE_RECORD"}), b"1,2\n" + b"9" * MIB + b"\n"),
    (Job({"MaxPayloadInMB": 1}, split_type="None"), b"9" * (MIB + 1)),
])
def test_a_record_over_max_payload_fails_the_transform_and_nothing_is_sent(job, data):
    result, server = run(job, data)
    assert server.sent == [] and (result.payloads, result.output) == (0, b"")
    number = 1 if job.split_type == "None" else 2
    assert result.failures == [
        f"record {number} is {MIB + 1} bytes, over MaxPayloadInMB=1: SageMaker fails the transform"]


def test_a_record_of_any_size_goes_under_max_payload_0():
    result, server = run(Job({"MaxPayloadInMB": 0}, split_type="None"), b"9" * (MIB + 1))
    assert server.bodies == [b"9" * (MIB + 1)] and result.failures == []


@pytest.mark.parametrize("field, value", [
    ("split_type", "TFRecord"), ("compression", "GZIP"), ("assemble_with", "Json")])
def test_a_value_the_api_does_not_know_is_refused(field, value):
    with pytest.raises(ValueError, match=f"unknown .* {value!r}"):
        Job(**{field: value})
