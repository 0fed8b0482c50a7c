"""The BATCH checks judged on hand-made records of the batch runs (byoc_conformance/batch.py): each run's outcome is
put in the plan where the check reads it, so no container starts and nothing is sent."""

import contextlib
from datetime import timedelta
from types import SimpleNamespace

import pytest

from byoc_conformance import batch
from byoc_conformance.batch import (
    DEFAULTS,
    BadRecord,
    ConcurrentJob,
    DefaultJob,
    MaxPayload,
    OutFile,
    SingleRecordJob,
    Transform,
)
from byoc_conformance.checks import batch as checks
from byoc_conformance.exchange import Answer
from byoc_conformance.hosting import invocation
from byoc_conformance.outcome import CouldNotRun
from byoc_conformance.payloads import Payload
from byoc_conformance.plan import Plan
from byoc_conformance.probing import Sent
from byoc_conformance.verdicts import Failed, Inconclusive, NotApplicable


class Server:
    label, role, logs, port = "batch transform server (fake)", "batch", "", 8080
    invocation_timeout = 30.0
    healthy_after = 0.5

    def reproduce(self, repro_dir):
        return "docker run ..."


SERVER = Server()
GOOD = b'{"MaxConcurrentTransforms": 2, "BatchStrategy": "MULTI_RECORD", "MaxPayloadInMB": 6}'


def response(status=200, body=b"", truncated=False):
    return Answer(status, body, truncated=truncated, elapsed=timedelta(milliseconds=250))


def transform(output=b"0.5\n0.5\n", records_in=2, failures=(), parameters=None):
    return Transform(parameters or dict(DEFAULTS), 1, records_in, output, 0.5, list(failures))


def context(**records):
    """A context whose batch runs (named as in byoc_conformance/batch.py) came out as `records`; a record that is an
    exception is what the run raised."""
    plan = Plan()
    for name, record in records.items():
        def outcome(record=record):
            if isinstance(record, Exception):
                raise record
            return record
        with contextlib.suppress(Exception):  # remembered: the check reads it again
            plan.once((batch.__name__, name), outcome)
    return SimpleNamespace(hosting=SimpleNamespace(plan=plan))


def default(status=200, body=GOOD, result=None):
    return DefaultJob(SERVER, status, body, result or transform())  # type: ignore[arg-type]


# BATCH-03 execution-parameters-valid

def test_a_valid_execution_parameters_answer_passes():
    assert checks.execution_parameters_valid(context(default_job=default())) == f"/execution-parameters answers " \
        f"{GOOD.decode()}"


def test_a_404_means_no_preference_and_the_parameter_checks_do_not_apply():
    for judged in (checks.execution_parameters_valid, checks.execution_parameters_in_range):
        with pytest.raises(NotApplicable, match="answered 404: the job's settings and the defaults apply"):
            judged(context(default_job=default(404, b"")))


@pytest.mark.parametrize(("status", "body", "observed"), [
    ("no complete answer within 10 s", b"", "^GET /execution-parameters: no complete answer within 10 s$"),
    (500, b"oops", "^GET /execution-parameters answered HTTP 500$"),
    (200, b"not json", r"^not valid JSON \(.*\): b'not json'$"),
    (200, b"[1, 2]", r"^not a JSON object: b'\[1, 2\]'$"),
    (200, b"{}", "^MaxConcurrentTransforms is missing; BatchStrategy is missing; MaxPayloadInMB is missing$"),
    (200, b'{"MaxConcurrentTransforms": "4", "BatchStrategy": "LINE", "MaxPayloadInMB": 6.5}',
     "^MaxConcurrentTransforms is '4', not a whole number; MaxPayloadInMB is 6.5, not a whole number; "
     "BatchStrategy is 'LINE', not MULTI_RECORD or SINGLE_RECORD$"),
])
def test_an_unusable_execution_parameters_answer_fails(status, body, observed):
    with pytest.raises(Failed, match=observed) as failed:
        checks.execution_parameters_valid(context(default_job=default(status, body)))
    assert failed.value.run is SERVER and failed.value.request is checks.PARAMETERS_REQUEST


def test_a_batch_server_that_could_not_run_is_judged_as_claims_say():
    with pytest.raises(CouldNotRun, match="text/csv"):
        checks.execution_parameters_valid(context(default_job=CouldNotRun("this probe sends and asks for text/csv")))


# BATCH-04 execution-parameters-in-range

def test_parameters_within_create_transform_job_s_limits_pass():
    assert checks.execution_parameters_in_range(context(default_job=default())) == \
        "MaxConcurrentTransforms 2 x MaxPayloadInMB 6 = 12 <= 100"


def test_parameters_out_of_range_fail():
    body = b'{"MaxConcurrentTransforms": 0, "BatchStrategy": "MULTI_RECORD", "MaxPayloadInMB": 101}'
    with pytest.raises(Failed, match="^MaxPayloadInMB 101 is not within 0..100; MaxConcurrentTransforms 0 is below "
                                     "1$"):
        checks.execution_parameters_in_range(context(default_job=default(body=body)))
    body = b'{"MaxConcurrentTransforms": 20, "BatchStrategy": "MULTI_RECORD", "MaxPayloadInMB": 6}'
    with pytest.raises(Failed, match="^MaxConcurrentTransforms x MaxPayloadInMB = 120, over 100$"):
        checks.execution_parameters_in_range(context(default_job=default(body=body)))


@pytest.mark.parametrize(("status", "body"), [(500, b""), (200, b"{}"), ("no answer (ConnectionError)", b"")])
def test_an_unusable_answer_leaves_the_ranges_inconclusive(status, body):
    with pytest.raises(Inconclusive, match=r"not usable \(see BATCH-03\)"):
        checks.execution_parameters_in_range(context(default_job=default(status, body)))


# BATCH-04 accepts-max-payload

SIZED = Payload(b"1,2,3,4\n" * 4, 4, kind="4 rows, 32 bytes")
SIZED_REQUEST = invocation(SIZED.body, "batch-max-payload.payload")


def max_payload(limit=6, **sent):
    return context(max_payload=MaxPayload(SERVER, limit, Sent(SIZED_REQUEST, SIZED, **sent)))  # type: ignore[arg-type]


def test_a_2xx_to_a_payload_of_the_resolved_size_passes():
    assert checks.accepts_max_payload(max_payload(response=response(200, b"0.5\n" * 4))) == \
        "HTTP 200 for 4 rows, 32 bytes in 0.25 s"


def test_a_refused_payload_of_the_resolved_size_fails():
    with pytest.raises(Failed, match=r"^HTTP 413 for 4 rows, 32 bytes; body b'too large' \(body cut at 9 bytes\)$") \
            as failed:
        checks.accepts_max_payload(max_payload(response=response(413, b"too large", truncated=True)))
    assert failed.value.expected == "2xx for payloads up to the resolved MaxPayloadInMB=6 MiB"
    assert failed.value.request is SIZED_REQUEST and failed.value.run is SERVER


def test_a_long_answer_is_shown_in_part():
    with pytest.raises(Failed, match=r"; body b'x{200}\.\.\.'$"):
        checks.accepts_max_payload(max_payload(response=response(500, b"x" * 300)))


def test_no_answer_to_the_sized_payload_fails_with_the_request_that_went_unanswered():
    earlier = invocation(b"", "batch-payload-1")
    with pytest.raises(Failed, match=r"^no complete answer within 30 s \(read timed out\)$") as failed:
        checks.accepts_max_payload(max_payload(error="read timed out", timed_out=True, blamed=earlier))
    assert failed.value.request is earlier
    with pytest.raises(Failed, match="^no answer: Connection reset by peer$") as failed:
        checks.accepts_max_payload(max_payload(error="Connection reset by peer"))
    assert failed.value.request is SIZED_REQUEST


def test_a_resolved_size_that_is_none_to_send_is_inconclusive():
    with pytest.raises(Inconclusive, match=r"^the resolved MaxPayloadInMB 'six' is not a size to send \(1..100\)$"):
        checks.accepts_max_payload(context(max_payload=MaxPayload(SERVER, "six")))  # type: ignore[arg-type]


STREAMED = Payload(b"1,2,3,4\n" * 3, 3, kind="3 rows, 24 bytes")
STREAMED_REQUEST = invocation(STREAMED.body, "batch-max-payload-chunked.payload", extra_headers=batch.CHUNKED)


def streamed(**sent):
    record = MaxPayload(SERVER, 0, Sent(STREAMED_REQUEST, STREAMED, **sent))  # type: ignore[arg-type]
    return context(max_payload=record)


def test_a_streamed_payload_answered_in_full_passes():
    assert checks.accepts_max_payload(streamed(response=response(200, b"0.5\n0.5\n0.5"))) == \
        "MaxPayloadInMB 0: HTTP 200 with 3 output records for 3 rows, 24 bytes sent chunked, in 0.25 s"


@pytest.mark.parametrize(("sent", "observed"), [
    ({"response": response(411, b"length required")},
     r"^HTTP 411 for 3 rows, 24 bytes sent chunked; body b'length required'$"),
    ({"response": response(200, b"0.5\n0.5\n0.5\n", truncated=True)},
     r"^HTTP 200 for 3 rows, 24 bytes sent chunked; body b'0.5\\n0.5\\n0.5\\n' \(body cut at 12 bytes\)$"),
    ({"response": response(200, b"0.5\n0.5\n")}, "^HTTP 200 with 2 output records for 3 rows, 24 bytes sent chunked$"),
    ({"error": "read timed out", "timed_out": True},
     r"^no complete answer within 30 s to 3 rows, 24 bytes sent chunked \(read timed out\)$"),
    ({"error": "Connection reset by peer"}, "^no answer to 3 rows, 24 bytes sent chunked: Connection reset by peer$"),
])
def test_a_streamed_payload_refused_cut_short_or_unanswered_fails(sent, observed):
    with pytest.raises(Failed, match=observed) as failed:
        checks.accepts_max_payload(streamed(**sent))
    assert failed.value.request is STREAMED_REQUEST and failed.value.run is SERVER
    assert failed.value.expected.startswith("MaxPayloadInMB 0 (no limit: payloads of any size sent with ")


# BATCH-05 multi-record-count and single-record-count, BATCH-02 concurrent-transforms

def test_complete_transforms_pass_with_their_summary():
    result = transform()
    assert checks.multi_record_count(context(default_job=default(result=result))) == result.summary()
    assert checks.single_record_count(context(single_record_job=SingleRecordJob(SERVER, result, 1))) == \
        result.summary()  # type: ignore[arg-type]
    ran = context(default_job=default(), single_record_job=SingleRecordJob(SERVER, transform(), 1),  # type: ignore
                  concurrent_job=ConcurrentJob(SERVER, result))  # type: ignore[arg-type]
    assert checks.concurrent_transforms(ran) == result.summary()


def test_a_transform_with_a_failed_payload_or_records_missing_fails():
    failing = transform(b"", failures=["payload 1: HTTP 503 b'busy'"])
    with pytest.raises(Failed, match=r"^1 of 1 payloads failed; first: payload 1: HTTP 503 b'busy'$") as failed:
        checks.multi_record_count(context(default_job=default(result=failing)))
    assert failed.value.expected == "every payload answered 2xx and one output record per input record (MultiRecord)"
    with pytest.raises(Failed, match="^1 output records for 2 input records; 2 records in 1 payloads"):
        checks.single_record_count(context(single_record_job=SingleRecordJob(SERVER, transform(b"0.5\n"), 1)))


def test_concurrent_transforms_read_every_batch_server_first():
    with pytest.raises(CouldNotRun, match="never became healthy"):
        checks.concurrent_transforms(context(default_job=default(),
                                             single_record_job=CouldNotRun("the server never became healthy")))


# BATCH-06 multi-record-order

def order(together=b"a\nb\nc\nd\n", alone=b"a\nc\n", step=2, multi=None, single=None):
    return context(default_job=default(result=multi or transform(together, together.count(b"\n"))),
                   single_record_job=SingleRecordJob(SERVER, single or transform(alone, alone.count(b"\n")), step))


def test_answers_in_record_order_pass():
    assert checks.multi_record_order(order()) == "2 of 4 records (every 2th) match their single-record answers"


def test_a_record_answered_otherwise_in_a_multi_record_payload_fails():
    with pytest.raises(Failed, match=r"^record 3 answered b'c' in a multi-record payload but b'x' on its own"):
        checks.multi_record_order(order(alone=b"a\nx\n"))


@pytest.mark.parametrize(("ran", "observed"), [
    ({"multi": transform(b"a\n", 2)}, r"multi-record answers are incomplete \(see BATCH-05 multi-record-count\)"),
    ({"single": transform(b"", 0, failures=["payload 1: no answer"])}, "single-record answers to compare with"),
    ({"alone": b""}, "no record was answered on its own"),
])
def test_order_is_inconclusive_without_complete_answers_to_compare(ran, observed):
    with pytest.raises(Inconclusive, match=observed):
        checks.multi_record_order(order(**ran))


# BATCH-06 out-file-one-line-per-record

def out_file(output, records_in=2, labels=(b"1", b"0"), failures=()):
    result = transform(output, records_in, failures)
    return context(out_file_job=OutFile(SERVER, result, list(labels)))  # type: ignore[arg-type]


def test_one_label_prediction_line_per_record_passes():
    assert checks.out_file(out_file(b"1,0.5\n0,0.25\n")).startswith("2 lines of label,prediction; 2 records in 1 ")


@pytest.mark.parametrize(("made", "observed"), [
    (out_file(b"1,0.5\n\n0,0.25\n"), r"^the \.out file has 3 lines \(1 empty\) for 2 records$"),
    (out_file(b"1,0.5\n0,0.25"), r"^the \.out file has 1 lines \(0 empty\) for 2 records$"),
    (out_file(b"", failures=["payload 1: HTTP 500 b''"]),
     r"^the \.out file has 0 lines \(0 empty\) for 2 records; 1 of 1 payloads failed, first: payload 1: HTTP 500"),
    (out_file(b"1,0.5\n1,0.25\n"), r"^\.out line 2 is b'1,0.25'$"),
    (out_file(b"1,0.5\n0,0.25,x\n"), r"^\.out line 2 is b'0,0.25,x'$"),
])
def test_an_out_file_without_one_label_prediction_line_per_record_fails(made, observed):
    with pytest.raises(Failed, match=observed):
        checks.out_file(made)


# BATCH-06 bad-record-is-4xx

BAD = invocation(b"1,2,3,4\nnot,a,number,here\n5,6,7,8\n", "batch-bad-record.payload")


def bad(ping="HTTP 200", **sent):
    return context(bad_record=BadRecord(SERVER, Sent(BAD, **sent), ping))  # type: ignore[arg-type]


def test_a_4xx_for_a_bad_record_and_a_server_still_up_pass():
    assert checks.bad_record_is_4xx(bad(response=response(400))) == "HTTP 400 for the bad record; /ping still 200"


@pytest.mark.parametrize(("made", "observed"), [
    (bad(response=response(500)), "^HTTP 500 for the bad record; /ping then answered HTTP 200$"),
    (bad("no answer (ConnectionError)", response=response(400)),
     r"^HTTP 400 for the bad record; /ping then answered no answer \(ConnectionError\)$"),
    (bad(None, error="Connection aborted."), "^no answer: Connection aborted.$"),
])
def test_a_bad_record_not_refused_or_a_server_that_went_down_fails(made, observed):
    with pytest.raises(Failed, match=observed) as failed:
        checks.bad_record_is_4xx(made)
    assert failed.value.request is BAD and failed.value.run is SERVER
