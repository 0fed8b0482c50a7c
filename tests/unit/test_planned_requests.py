"""The requests the SERVE checks (and IMG-04) used to send when they were judged, now planned runs of serving.py that
return records. Two halves: each check judged on hand-made records alone (its server refuses every request: a check
that sent one would fail the test), pass, fail and inconclusive; and each run on a stand-in server, sending what the
check sent before, in the same order and under the same names, and stopping where the check stopped."""

from __future__ import annotations

import dataclasses
import itertools
from typing import Any

import pytest
import requests

from byoc_conformance import serving
from byoc_conformance.checks import hosting as checks
from byoc_conformance.checks import image
from byoc_conformance.declaration import DEFAULTS, Declaration
from byoc_conformance.engine import Process
from byoc_conformance.exchange import Answer
from byoc_conformance.hosting import invocation
from byoc_conformance.outcome import CouldNotRun
from byoc_conformance.payloads import Payload
from byoc_conformance.probing import Sent
from byoc_conformance.verdicts import Failed, Inconclusive, NotApplicable, Request

from .test_serving_checks import (
    JSON_ONLY,
    JSON_SAMPLE,
    Recorded,
    answer,
    context,
    declared,
    passes,
    record,
    verdict,
)


def unsent(request: Request) -> Answer:
    raise AssertionError(f"the check sent {request.name} itself")


def judged_on_records(**server: Any) -> Recorded:
    """The shared server as its run left it, which takes no request: the check has only the records."""
    return Recorded(unsent, **server)


def sent(request: Request, status: int = 200, body: bytes = b"1\n", content_type: str = "text/csv",
         seconds: float = 0.005) -> Sent:
    return Sent(request, response=answer(status, body, content_type, seconds=seconds))


def unanswered(request: Request, error: str = "Connection refused") -> Sent:
    return Sent(request, error=error)


DECLARED = dataclasses.replace(DEFAULTS, inference={"SupportedContentTypes": ["text/csv", "application/json"],
                                                    "SupportedResponseMIMETypes": ["text/csv", "application/json"]},
                               invocation_samples={"application/json": JSON_SAMPLE.body})


def on_records(declaration: Declaration = DEFAULTS, **options: Any):
    return context(judged_on_records(), declaration=declaration, **options)


# --- SERVE-08: unknown headers ------------------------------------------------------------------------------------

PLAIN = invocation(b"1,2,3,4\n", "serve-08-plain.payload")
DECORATED = invocation(b"1,2,3,4\n", "serve-08-headers.payload", extra_headers=serving.EXTRA_HEADERS)


def headers(plain: list[Sent], with_extra: Sent | None = None):
    ctx = on_records()
    record(ctx, serving.extra_headers, serving.WithExtraHeaders(serving.EXTRA_HEADERS, DECORATED, plain, with_extra))
    return ctx


def test_serve_08_passes_the_same_answer_with_and_without_the_headers():
    ctx = headers([sent(PLAIN)] * 2, sent(DECORATED))
    assert passes(checks.unknown_headers_ignored, ctx) == \
        "same answer (HTTP 200) with 4 extra headers as without them, twice"


def test_serve_08_compares_statuses_only_when_the_plain_request_is_answered_differently_twice():
    ctx = headers([sent(PLAIN, body=b"1,a\n"), sent(PLAIN, body=b"1,b\n")], sent(DECORATED, body=b"1,c\n"))
    assert passes(checks.unknown_headers_ignored, ctx) == (
        "same status (HTTP 200) with 4 extra headers; bodies not compared: the same plain request sent twice was "
        "answered differently")


def test_serve_08_fails_another_answer_with_the_headers():
    failed = verdict(Failed, checks.unknown_headers_ignored,
                     headers([sent(PLAIN)] * 2, sent(DECORATED, 400, b"bad attributes")),
                     "with extra headers: HTTP 400 b'bad attributes'; without, twice: HTTP 200 b'1\\n'")
    assert failed.request is DECORATED
    assert failed.expected == "the same answer: SageMaker may add headers, and forwards custom attributes"


def test_serve_08_is_inconclusive_on_an_error_answer_to_the_plain_request():
    inconclusive = verdict(Inconclusive, checks.unknown_headers_ignored, headers([sent(PLAIN, 400, b"no")] * 2),
                           "the plain request is answered HTTP 400 b'no': error answers are not compared")
    assert inconclusive.request is DECORATED


@pytest.mark.parametrize("plain, with_extra, blamed", [
    ([unanswered(PLAIN)], None, PLAIN),
    ([sent(PLAIN), unanswered(PLAIN)], None, PLAIN),
    ([sent(PLAIN)] * 2, unanswered(DECORATED), DECORATED),
])
def test_serve_08_fails_the_first_request_left_unanswered(plain, with_extra, blamed):
    failed = verdict(Failed, checks.unknown_headers_ignored, headers(plain, with_extra),
                     "no answer: Connection refused")
    assert failed.request is blamed


# --- SERVE-10: declared pairs -------------------------------------------------------------------------------------


def pair(content_type: str, accept: str, status: int = 200, body: bytes = b"1\n", answered_as: str | None = None,
         body_problem: str | None = None) -> serving.Pair:
    request = invocation(b"1,2,3,4\n", "serve-10-0.payload", content_type, {"Accept": accept})
    return serving.Pair(content_type, accept, sent(request, status, body, answered_as or accept), body_problem)


def pairs(*answered: serving.Pair, unprobed: tuple[str, ...] = ()):
    ctx = on_records(DECLARED)
    record(ctx, serving.declared_pairs, serving.DeclaredPairs(list(answered), list(unprobed)))
    return ctx


def test_serve_10_passes_every_pair_answered_as_declared():
    ctx = pairs(pair("text/csv", "text/csv"), pair("text/csv", "application/json", body=b"[1]"))
    assert passes(checks.declared_content_type_pairs, ctx) == \
        "2 declared pair(s) answered as declared: text/csv -> text/csv, text/csv -> application/json"


@pytest.mark.parametrize("last, said", [
    (pair("text/csv", "application/json", 500, b"no"), "text/csv -> application/json: HTTP 500; body b'no'"),
    (pair("text/csv", "application/json", answered_as="text/csv"),
     "text/csv -> application/json: Content-Type 'text/csv'"),
    (pair("text/csv", "application/json", body=b"{", body_problem="the body is not application/json (...)"),
     "text/csv -> application/json: the body is not application/json (...)"),
])
def test_serve_10_fails_the_pair_the_run_stopped_at(last, said):
    failed = verdict(Failed, checks.declared_content_type_pairs, pairs(pair("text/csv", "text/csv"), last), said)
    assert failed.request is last.sent.request


def test_serve_10_fails_a_pair_left_unanswered():
    request = invocation(b"1\n", "serve-10-0.payload")
    unanswered_pair = serving.Pair("text/csv", "text/csv", unanswered(request))
    assert verdict(Failed, checks.declared_content_type_pairs, pairs(unanswered_pair),
                   "no answer: Connection refused").request is request


def test_serve_10_is_inconclusive_for_a_type_without_a_sample():
    verdict(Inconclusive, checks.declared_content_type_pairs,
            pairs(pair("text/csv", "text/csv"), unprobed=("image/png",)),
            "no sample request for image/png (give one in byoc-conformance.invocations); answered as declared: "
            "text/csv -> text/csv")


def test_serve_10_pairs_do_not_apply_without_an_inference_specification_and_send_nothing():
    verdict(NotApplicable, checks.declared_content_type_pairs, on_records(), "no InferenceSpecification was declared")


# --- SERVE-07: media-type spellings -------------------------------------------------------------------------------


def spelled(statuses: list[int], *, varies: bool = False, last_status: int | None = None,
            last_unanswered: bool = False) -> serving.Spelled:
    plain = invocation(b"1\n", "serve-07-media-type.payload")
    bodies = iter([b"1,a\n", b"1,b\n"] if varies else [b"1\n", b"1\n"])
    variants = [invocation(b"1\n", f"serve-07-media-type-{n}.payload", "Text/CSV") for n in range(len(statuses))]
    spellings = [sent(request, status, b"1,c\n" if varies else b"1\n") for request, status in zip(variants, statuses)]
    if last_status is not None:
        spellings[-1] = sent(variants[-1], last_status, b"refused")
    if last_unanswered:
        spellings[-1] = unanswered(variants[-1])
    return serving.Spelled("text/csv", "text/csv", [sent(plain, body=next(bodies)), sent(plain, body=next(bodies))],
                           spellings)


def spellings(*types: serving.Spelled):
    ctx = on_records(DECLARED)
    record(ctx, serving.media_type_spellings, list(types))
    return ctx


def test_serve_07_spellings_answered_as_the_plain_type_pass():
    assert passes(checks.media_type_parameters, spellings(spelled([200, 200]))) == \
        "2 spellings answered as the plain types: Text/CSV -> text/csv; Text/CSV -> text/csv"


def test_serve_07_spellings_compare_statuses_only_when_the_plain_answer_varies():
    assert passes(checks.media_type_parameters, spellings(spelled([200], varies=True))).endswith(
        "(statuses only for text/csv: the same plain request was answered differently twice)")


def test_serve_07_a_spelling_answered_otherwise_fails():
    failed = verdict(Failed, checks.media_type_parameters, spellings(spelled([200, 415], last_status=415)),
                     "HTTP 415 b'refused'")
    assert failed.request.name == "serve-07-media-type-1.payload"
    assert failed.expected.startswith("the same answer as to Content-Type: text/csv, Accept: text/csv (HTTP 200, 2 "
                                      "bytes)")


def test_serve_07_a_spelling_left_unanswered_fails():
    verdict(Failed, checks.media_type_parameters, spellings(spelled([200], last_unanswered=True)),
            "no answer: Connection refused")


def test_serve_07_spellings_are_inconclusive_on_an_error_answer_to_the_plain_request_or_without_a_sample():
    refused = serving.Spelled("text/csv", "text/csv", [sent(invocation(b"1\n", "serve-07-media-type.payload"), 500,
                                                            b"broken")])
    verdict(Inconclusive, checks.media_type_parameters, spellings(refused),
            "the plain text/csv request got HTTP 500 b'broken', so there is no answer to compare with")
    verdict(Inconclusive, checks.media_type_parameters, spellings(),
            "no sample request for any declared content type")


# --- SERVE-11: 415 and 406 ----------------------------------------------------------------------------------------

UNDECLARED = invocation(b"1\n", "serve-11-415.payload", checks.UNDECLARED_TYPE)


def status_answer(run, outcome: Sent | None):
    ctx = on_records(DECLARED)
    record(ctx, run, outcome)
    return ctx


def test_serve_11_the_status_asked_for_passes():
    assert passes(checks.undeclared_content_type, status_answer(serving.undeclared_content_type,
                                                                sent(UNDECLARED, 415))) == \
        f"HTTP 415 for Content-Type: {checks.UNDECLARED_TYPE}, Accept: text/csv"


@pytest.mark.parametrize("check, run", [(checks.undeclared_content_type, serving.undeclared_content_type),
                                        (checks.unproducible_accept, serving.unproducible_accept)])
def test_serve_11_another_status_or_none_fails_and_no_sample_is_inconclusive(check, run):
    assert verdict(Failed, check, status_answer(run, sent(UNDECLARED, 200, b"1\n")),
                   "HTTP 200; body b'1\\n'").request is UNDECLARED
    verdict(Failed, check, status_answer(run, unanswered(UNDECLARED)), "no answer: Connection refused")
    verdict(Inconclusive, check, status_answer(run, None), "no sample request for any declared content type")


# --- SERVE-15: the request with no route out ----------------------------------------------------------------------

ISOLATED = invocation(b"1\n2\n3\n", "serve-15-isolated.payload")


def isolated(outcome: Sent):
    ctx = context(judged_on_records(), declaration=dataclasses.replace(DEFAULTS, network_isolation=True))
    record(ctx, serving.isolated_answer, outcome)
    return ctx


def test_serve_15_a_request_answered_2xx_with_no_route_out_passes():
    outcome = dataclasses.replace(sent(ISOLATED), payload=Payload(b"1\n2\n3\n", 3))
    assert passes(checks.works_without_outbound_network, isolated(outcome)) == (
        "/ping answered 200 and valid CSV got HTTP 200 with no route out (an internal network; the harness its only "
        "peer)")


def test_serve_15_a_request_answered_otherwise_or_not_at_all_fails():
    outcome = dataclasses.replace(sent(ISOLATED, 503, b"no weights"), payload=Payload(b"1\n2\n3\n", 3))
    assert verdict(Failed, checks.works_without_outbound_network, isolated(outcome),
                   "healthy, but HTTP 503 for valid CSV with no route out; body b'no weights'").request is ISOLATED
    verdict(Failed, checks.works_without_outbound_network, isolated(unanswered(ISOLATED)),
            "no answer: Connection refused")


# --- SERVE-07: the declared sample, and a 6 MiB body --------------------------------------------------------------

SAMPLE = invocation(JSON_SAMPLE.body, "serve-07-valid-sample.payload", "application/json",
                    {"Accept": "application/json"})


def repeated(outcomes: list[Sent]):
    ctx = context(judged_on_records(), traffic=JSON_ONLY)
    record(ctx, serving.declared_sample_repeated, outcomes)
    return ctx


def test_serve_07_the_declared_sample_answered_2xx_each_time_passes():
    outcomes = [sent(SAMPLE, body=b"[1]", content_type="application/json")] * serving.SAMPLE_REPEATS
    assert passes(checks.valid_csv_answered, repeated(outcomes)) == \
        "the declared sample answered 2xx 5 times (the declared application/json sample, Accept: application/json)"


def test_serve_07_the_declared_sample_fails_on_the_first_answer_not_2xx_or_missing():
    outcomes = [sent(SAMPLE)] * 2 + [sent(SAMPLE, 500, b"boom")] + [unanswered(SAMPLE)] * 2
    verdict(Failed, checks.valid_csv_answered, repeated(outcomes), "HTTP 500 for the declared sample (1 rows)")
    verdict(Failed, checks.valid_csv_answered, repeated([sent(SAMPLE)] + [unanswered(SAMPLE)] * 4),
            "no answer: Connection refused")


def test_serve_07_the_declared_sample_is_inconclusive_when_its_run_could_not_send_it():
    ctx = context(judged_on_records(), traffic=JSON_ONLY)
    record(ctx, serving.declared_sample_repeated, CouldNotRun("no valid request can be sent"))
    verdict(Inconclusive, checks.valid_csv_answered, ctx, "no valid request can be sent")


LARGE = invocation(b"1\n" * 10, "serve-07-6mib.payload")


def at_limit(outcome: Sent):
    ctx = on_records()
    record(ctx, serving.body_at_invoke_limit, dataclasses.replace(outcome, payload=Payload(
        LARGE.body, 10, kind="3000000 rows, 6291450 bytes")))
    return ctx


def test_serve_07_a_body_at_the_limit_answered_2xx_passes():
    assert passes(checks.accepts_6_mib, at_limit(sent(LARGE, seconds=1.25))) == \
        "HTTP 200 for 3000000 rows, 6291450 bytes in 1.25 s"


def test_serve_07_a_body_at_the_limit_refused_or_unanswered_fails():
    assert verdict(Failed, checks.accepts_6_mib, at_limit(sent(LARGE, 413, b"too large")),
                   "HTTP 413 for 3000000 rows, 6291450 bytes; body b'too large'").request is LARGE
    verdict(Failed, checks.accepts_6_mib, at_limit(unanswered(LARGE)), "no answer: Connection refused")


def test_serve_07_a_body_at_the_limit_that_cannot_be_built_is_inconclusive():
    ctx = on_records()
    record(ctx, serving.body_at_invoke_limit, CouldNotRun("no body of 6291456 bytes can be built"))
    verdict(Inconclusive, checks.accepts_6_mib, ctx, "no body of 6291456 bytes can be built")


# --- IMG-04: PID 1 of the shared server ---------------------------------------------------------------------------


def pid1(seen: serving.Pid1, remapped: bool = False, **server: Any):
    ctx = context(judged_on_records(**server))
    ctx.engine.remapped_users = remapped
    record(ctx, serving.shared_pid1, seen)
    return ctx


def test_img_04_passes_pid1_as_root_and_fails_another_user():
    assert passes(image.serves_as_root, pid1(serving.Pid1(True, Process("root", "serve")))) == \
        "the server's PID 1 (serve) runs as root (UID 0); the image sets no USER (root)"
    failed = verdict(Failed, image.serves_as_root, pid1(serving.Pid1(True, Process("nobody", "serve"))),
                     "the server's PID 1 (serve) runs as nobody, not root")
    assert failed.reproduce == "docker top byoc-repro-serve -o pid,user,args"


def test_img_04_is_inconclusive_without_a_running_server_a_pid1_or_with_remapped_users():
    verdict(Inconclusive, image.serves_as_root, pid1(serving.Pid1(False), exit_code=1),
            "no running server to look at: ")
    verdict(Inconclusive, image.serves_as_root, pid1(serving.Pid1(True, None)), "the engine's `ps` did not show")
    verdict(Inconclusive, image.serves_as_root, pid1(serving.Pid1(True, Process("root", "serve")), remapped=True),
            "the engine remaps user IDs")


# --- the runs: the requests the checks sent, in order, stopping where the checks stopped ---------------------------


def names(ctx) -> list[str]:
    return [request.name for request in ctx.hosting.shared.sent]


def test_extra_headers_sends_the_plain_request_twice_then_with_the_headers():
    ctx = context()
    outcome = serving.extra_headers(ctx.hosting)
    assert names(ctx) == ["serve-08-plain.payload", "serve-08-plain.payload", "serve-08-headers.payload"]
    assert ctx.hosting.shared.sent[-1].headers == {"Content-Type": "text/csv", "Accept": "text/csv",
                                                   **serving.EXTRA_HEADERS}
    assert serving.extra_headers(ctx.hosting) is outcome and len(names(ctx)) == 3  # once per plan


@pytest.mark.parametrize("statuses, sent_names", [
    ([None], ["serve-08-plain.payload"]),
    ([200, None], ["serve-08-plain.payload"] * 2),
    ([400, 200], ["serve-08-plain.payload"] * 2),  # an error answer to the plain request: nothing to compare
])
def test_extra_headers_stops_where_the_check_stops(statuses, sent_names):
    answers = iter(statuses)

    def respond(request: Request) -> Answer:
        status = next(answers)
        if status is None:
            raise requests.ConnectionError("Connection refused")
        return answer(status)

    ctx = context(Recorded(respond))
    serving.extra_headers(ctx.hosting)
    assert names(ctx) == sent_names


def test_declared_pairs_number_the_pairs_and_stop_at_the_first_answered_otherwise():
    ctx = declared(["text/csv", "image/png", "application/json"], ["text/csv", "application/json"],
                   {"application/json": JSON_SAMPLE.body},
                   lambda request: answer(200, b"1\n", "text/csv"))  # CSV whatever is asked for
    outcome = serving.declared_pairs(ctx.hosting, ctx.declaration)
    assert names(ctx) == ["serve-10-0.payload", "serve-10-1.payload"]
    assert [(one.content_type, one.accept) for one in outcome.pairs] == [("text/csv", "text/csv"),
                                                                          ("text/csv", "application/json")]
    assert outcome.unprobed == []  # not reached: the check fails first


def test_declared_pairs_record_a_body_not_of_its_type_and_the_types_without_a_sample():
    ctx = declared(["text/csv", "image/png"], ["application/json"], respond=lambda request: answer(
        200, b"{", "application/json"))
    outcome = serving.declared_pairs(ctx.hosting, ctx.declaration)
    assert outcome.pairs[0].body_problem.startswith("the body is not application/json (")
    ctx = declared(["text/csv", "image/png"], ["text/csv"])
    assert serving.declared_pairs(ctx.hosting, ctx.declaration).unprobed == ["image/png"]


def test_media_type_spellings_send_the_plain_request_twice_then_each_spelling_numbered_across_types():
    ctx = declared(["text/csv"], ["text/csv"])
    outcome = serving.media_type_spellings(ctx.hosting, ctx.declaration)
    assert names(ctx) == ["serve-07-media-type.payload"] * 2 + [f"serve-07-media-type-{n}.payload" for n in range(6)]
    assert [(r.headers["Content-Type"], r.headers["Accept"]) for r in ctx.hosting.shared.sent[2:]] == [
        ("text/csv; charset=utf-8", "text/csv"), ("Text/CSV", "text/csv"), ("text/csv;header=absent", "text/csv"),
        ("text/csv", "text/csv; charset=utf-8"), ("text/csv", "TEXT/CSV"), ("text/csv", "text/csv;q=0.9, */*;q=0.1")]
    assert len(outcome) == 1 and len(outcome[0].spellings) == 6


def test_media_type_spellings_stop_at_the_first_spelling_answered_otherwise_or_an_error_to_the_plain_request():
    numbers = itertools.count()
    ctx = declared(["text/csv"], ["text/csv"], respond=lambda request: answer(
        415 if request.headers["Content-Type"] == "Text/CSV" else 200, b"1,%d\n" % next(numbers)))
    outcome = serving.media_type_spellings(ctx.hosting, ctx.declaration)
    assert outcome[0].varies and names(ctx)[-1] == "serve-07-media-type-1.payload"  # statuses compared; 415 stops
    ctx = declared(["text/csv"], ["text/csv"], respond=lambda request: answer(500))
    serving.media_type_spellings(ctx.hosting, ctx.declaration)
    assert names(ctx) == ["serve-07-media-type.payload"]


def test_the_415_and_406_requests_take_the_first_declared_type_with_a_sample_and_none_without():
    ctx = declared(["image/png", "application/json"], ["application/json"], {"application/json": JSON_SAMPLE.body})
    outcome = serving.undeclared_content_type(ctx.hosting, ctx.declaration)
    assert outcome.request == Request("serve-11-415.payload", "POST", "/invocations", JSON_SAMPLE.body,
                                      {"Content-Type": checks.UNDECLARED_TYPE, "Accept": "application/json"})
    assert serving.unproducible_accept(ctx.hosting, ctx.declaration).request.headers == {
        "Content-Type": "application/json", "Accept": checks.UNDECLARED_TYPE}
    ctx = declared(["image/png"], ["text/csv"], **{"healthy_after": None})
    assert serving.undeclared_content_type(ctx.hosting, ctx.declaration) is None  # and the health is not asked
    assert ctx.hosting.shared.sent == []


def test_the_declared_sample_goes_five_times_and_the_isolated_request_once():
    ctx = context(traffic=JSON_ONLY)
    assert len(serving.declared_sample_repeated(ctx.hosting)) == serving.SAMPLE_REPEATS
    serving.isolated_answer(ctx.hosting)
    assert names(ctx) == ["serve-07-valid-sample.payload"] * 5 + ["serve-15-isolated.payload"]


def test_a_body_at_the_limit_is_just_under_six_mib():
    ctx = context()
    outcome = serving.body_at_invoke_limit(ctx.hosting)
    assert names(ctx) == ["serve-07-6mib.payload"] and len(outcome.request.body) <= serving.INVOKE_ENDPOINT_LIMIT


def test_the_shared_servers_sockets_and_pid1_are_not_read_once_it_has_exited():
    class Exited(Recorded):
        def pid1(self) -> Process:
            raise AssertionError("read after it exited")

    ctx = context(Exited(exit_code=137))
    assert serving.shared_pid1(ctx.hosting) == serving.Pid1(False)
    assert serving.shared_sockets(ctx.hosting) == serving.Sockets(False)


def test_each_valid_csv_exploration_runs_once_per_plan_and_name():
    ctx = context()
    looked_at = []

    def criterion(one: Sent) -> str | None:
        looked_at.append(one)
        return None

    first = serving.valid_csv_exploration(ctx.hosting, "serve-07-valid-csv.payload", criterion)
    assert serving.valid_csv_exploration(ctx.hosting, "serve-07-valid-csv.payload", criterion) is first
    assert len(looked_at) == len(first.sent) == ctx.hosting.examples
    serving.valid_csv_exploration(ctx.hosting, "serve-07-records.payload", criterion)
    assert len(looked_at) == 2 * ctx.hosting.examples
