"""The hosting checks' judgement against an in-process fake server: no check passes on zero observations, and
what was observed failing fails. Every check is also proven on real images (tests/integration)."""

import dataclasses
from collections import Counter
from datetime import timedelta
from types import SimpleNamespace

import pytest

from byoc_conformance.checks import hosting
from byoc_conformance.declaration import DEFAULT_CSV, DEFAULTS, media_type
from byoc_conformance.exchange import Answer
from byoc_conformance.hosting import Probing
from byoc_conformance.payloads import Payload, Traffic, grown
from byoc_conformance.plan import Plan
from byoc_conformance.registry import Context
from byoc_conformance.verdicts import Failed, Inconclusive, NotApplicable


def response(status: int, body: bytes = b"", content_type: str = "text/csv") -> Answer:
    return Answer(status, body, {"Content-Type": content_type}, elapsed=timedelta(milliseconds=5))


class FakeServer:
    label, role, logs, port = "`serve` container (fake)", "serve", "", 8080

    def __init__(self, answer, healthy=True, pings=None):
        self.answer, self.healthy_after = answer, 0.5 if healthy else None
        self.pings = Counter(pings or {"HTTP 200": 1})
        self.sent = []

    def send(self, request):
        self.sent.append(request)
        return self.answer(request)

    def send_together(self, request, count):
        return [self.send(request) for _ in range(count)]

    def failed_pings(self):
        return {k: n for k, n in self.pings.items() if k not in ("HTTP 200", "no connection")}

    def outcome(self):
        return "never healthy" if self.healthy_after is None else "healthy"

    def reproduce(self, repro_dir):
        return "docker run ..."


class FakeHosting(Probing):
    csv, examples, seed, startup_timeout = DEFAULT_CSV, 20, 1, 10.0

    def __init__(self, server, traffic=None):
        self.shared = server
        self.plan = Plan()
        self.traffic = traffic or Traffic()

    def healthy(self):
        if self.shared.healthy_after is None:
            raise Inconclusive("never healthy")
        return self.shared

    def require_csv(self):
        pass


def context(answer, **server) -> Context:
    return Context(engine=None, image="algo:1", image_config={}, training=None,  # type: ignore[arg-type]
                   hosting=FakeHosting(FakeServer(answer, **server)), declaration=DEFAULTS)  # type: ignore[arg-type]


def predictions(request):
    return response(200, b"".join(b"1\n" for line in request.body.splitlines() if line.strip()))


def one_row_fails(request):
    rows = [line for line in request.body.splitlines() if line.strip()]
    return response(500, b"cannot reshape") if len(rows) == 1 else predictions(request)


@pytest.mark.parametrize("probe", [hosting.one_record_per_row, hosting.response_content_type])
def test_a_check_of_2xx_answers_with_none_to_judge_is_inconclusive_never_passed(probe):
    with pytest.raises(Inconclusive, match="none of 20 generated CSV payloads was answered 2xx"):
        probe(context(lambda request: response(500, b"boom")))


def test_a_check_of_2xx_answers_says_how_many_it_judged():
    summary = hosting.one_record_per_row(context(one_row_fails))
    judged, sent = (int(n) for n in summary.split(" generated")[0].split(" of "))
    assert 0 < judged < sent == 20, summary


def test_the_2xx_check_itself_fails_on_those_answers():
    with pytest.raises(Failed, match="HTTP 500 for valid CSV \\(1 rows\\)"):
        hosting.valid_csv_answered(context(one_row_fails))


def test_pings_answered_wrongly_through_the_start_up_window_fail_serve_04():
    ctx = context(predictions, healthy=False, pings={"HTTP 500": 290, "no connection": 10})
    with pytest.raises(Failed, match="none of 300 pings in the start-up window answered 200 within 2 s: 290 x HTTP"):
        hosting.ping_answers_in_time(ctx)


def test_pings_that_never_connected_leave_serve_04_inconclusive():
    with pytest.raises(Inconclusive):
        hosting.ping_answers_in_time(context(predictions, healthy=False, pings={"no connection": 300}))


def strict_media_types(request):
    if request.headers["Content-Type"] != "text/csv":
        return response(415, b"unsupported")
    return predictions(request)


def test_media_types_with_parameters_and_other_cases_get_the_plain_answer():
    ctx = context(predictions)
    summary = hosting.media_type_parameters(ctx)
    sent = {(r.headers["Content-Type"], r.headers["Accept"]) for r in ctx.hosting.shared.sent}
    assert {("text/csv; charset=utf-8", "text/csv"), ("Text/CSV", "text/csv"), ("text/csv;header=absent", "text/csv"),
            ("text/csv", "text/csv;q=0.9, */*;q=0.1"), ("text/csv", "TEXT/CSV")} <= sent
    assert summary.startswith("6 spellings answered as the plain types")
    assert all(media_type(kind) == "text/csv" for kind, _ in sent)


def test_a_server_that_refuses_a_charset_parameter_fails():
    with pytest.raises(Failed, match="HTTP 415"):
        hosting.media_type_parameters(context(strict_media_types))


def _accepting(bursts, proxied=False) -> Context:
    ctx = context(predictions)
    ctx.engine = SimpleNamespace(host_address="127.0.0.1", remote=False)  # type: ignore[assignment]
    server = ctx.hosting.shared
    server.address, queued, server.proxied = ("172.18.0.2", 8080), list(bursts), lambda: proxied
    server.connection_times = lambda count, deadline, bursts: [queued.pop(0) for _ in range(bursts)]
    return ctx


def test_connections_accepted_at_once_pass_serve_03_with_what_was_measured():
    summary = hosting.accepts_connections_in_time(_accepting([[0.001] * 16] * 3))
    assert summary == ("3 bursts of 16 connections opened at once (within 10 ms); the slowest accepted in 1 ms, 1 ms, "
                       "1 ms")


def test_one_late_connection_in_one_burst_fails_serve_03():  # a backlog may keep up with the other bursts
    with pytest.raises(Failed, match=r"\(1 of 48 in all\); the slowest of each burst: 1020 ms, 2 ms, 1 ms"):
        hosting.accepts_connections_in_time(_accepting([[1.02] + [0.001] * 15, [0.002] * 16, [0.001] * 16]))


def test_connections_late_in_every_burst_fail_serve_03_with_a_burst_reproduction():
    late = [0.001, 0.002] + [1.02] * 13 + [None]
    with pytest.raises(Failed) as failed:
        hosting.accepts_connections_in_time(_accepting([late, [0.001] * 16, late]))
    observed = failed.value.observed
    assert "(28 of 48 in all); the slowest of each burst: none within 3 s, 1 ms, none within 3 s" in observed
    assert "byoc_conformance.exchange $(docker inspect" in failed.value.reproduce


@pytest.mark.parametrize("proxied", [True, None])
def test_a_proxy_that_accepts_for_the_server_leaves_serve_03_inconclusive(proxied):  # docker-proxy, say
    with pytest.raises(Inconclusive, match="proxy"):
        hosting.accepts_connections_in_time(_accepting([], proxied=proxied))


def _isolated(answer, logs="", healthy=True, isolated=True) -> Context:
    ctx = context(answer, healthy=healthy)
    ctx.engine = SimpleNamespace(isolated=isolated)  # type: ignore[assignment]
    ctx.declaration = dataclasses.replace(DEFAULTS, network_isolation=True)
    server = ctx.hosting.shared
    server.logs, server.start_error = logs, None
    return ctx


NO_NAME = "cannot fetch http://models.example/m.json: <urlopen error [Errno -3] Temporary failure in name resolution>"


def test_a_server_that_serves_with_no_route_out_passes_serve_15():
    summary = hosting.works_without_outbound_network(_isolated(predictions))
    assert summary.startswith("/ping answered 200 and valid CSV got HTTP 200 with no route out")


def test_a_server_that_fails_reaching_for_the_network_fails_serve_15_quoting_its_log():
    with pytest.raises(Failed, match="it reached for the network: cannot fetch .* name resolution"):
        hosting.works_without_outbound_network(_isolated(predictions, logs=f"starting\n{NO_NAME}\n", healthy=False))


def test_a_server_broken_otherwise_leaves_serve_15_inconclusive():  # SERVE-05 says it never became healthy
    with pytest.raises(Inconclusive, match="no sign in its logs"):
        hosting.works_without_outbound_network(_isolated(predictions, logs="no weights\n", healthy=False))


def test_a_server_with_a_route_out_is_not_judged_for_serve_15():
    with pytest.raises(Inconclusive, match="route out"):
        hosting.works_without_outbound_network(_isolated(predictions, isolated=False))


def test_serve_15_applies_only_to_an_image_said_to_be_served_under_isolation():
    ctx = _isolated(predictions)
    ctx.declaration = DEFAULTS
    with pytest.raises(NotApplicable, match="network_isolation"):
        hosting.works_without_outbound_network(ctx)


def test_unknown_headers_are_judged_against_a_control_of_the_plain_request_sent_twice():
    assert "as without them, twice" in hosting.unknown_headers_ignored(context(predictions))
    numbers = iter(range(100))

    def with_request_id(request):  # every answer differs: only the status can be compared
        return response(200, b"1,%d\n" % next(numbers))

    assert "bodies not compared" in hosting.unknown_headers_ignored(context(with_request_id))

    def refuses_custom_attributes(request):
        return response(400 if "X-Amzn-SageMaker-Custom-Attributes" in request.headers else 200, b"1\n")

    with pytest.raises(Failed, match="with extra headers: HTTP 400"):
        hosting.unknown_headers_ignored(context(refuses_custom_attributes))


def test_unknown_headers_are_not_judged_on_error_answers_whose_text_varies():
    texts = iter(["columns a, b", "columns b, a", "columns a, b"])
    with pytest.raises(Inconclusive, match="error answers are not compared"):
        hosting.unknown_headers_ignored(context(lambda request: response(400, next(texts).encode())))


JSON_SAMPLE = Payload(b'{"instances": [[1.0, 2.0, 3.0, 4.0]]}', 1, "application/json", "the declared sample")
JSON_ONLY = Traffic(takes_csv=False, accept="application/json", sample=JSON_SAMPLE)


def json_context(answer) -> Context:
    return Context(engine=None, image="algo:1", image_config={}, training=None,  # type: ignore[arg-type]
                   hosting=FakeHosting(FakeServer(answer), JSON_ONLY), declaration=DEFAULTS)  # type: ignore[arg-type]


def json_answers(request):
    if request.headers["Content-Type"] != "application/json" or request.headers["Accept"] != "application/json":
        return response(415, b"json only")
    return response(200, b'{"predictions": [1]}', "application/json")


@pytest.mark.parametrize("probe", [hosting.valid_csv_answered, hosting.concurrent_requests,
                                   hosting.unknown_headers_ignored, hosting.accepts_6_mib])
def test_an_image_that_takes_no_csv_is_judged_on_its_declared_sample(probe):
    ctx = json_context(json_answers)
    probe(ctx)  # passes: every probe sent JSON and asked for JSON
    assert ctx.hosting.shared.sent and all(r.headers["Content-Type"] == "application/json"
                                           for r in ctx.hosting.shared.sent)
    with pytest.raises(Failed):  # the sample refused; with headers only, for SERVE-08 (error answers not compared)
        probe(json_context(lambda request: response(400, b"no") if probe is not hosting.unknown_headers_ignored or
                           "X-Unknown-Header" in request.headers else json_answers(request)))


def test_a_json_sample_grows_to_a_size_by_repeating_its_records_and_stays_json():
    import json
    big = grown(JSON_SAMPLE, 6 * 1024 * 1024)
    assert 6_000_000 < len(big.body) < 6 * 1024 * 1024 and len(json.loads(big.body)["instances"]) == big.rows
    assert grown(Payload(b"\x89PNG", 1, "image/png"), 1000) is None


def test_csv_probes_ask_for_the_declared_response_type_of_an_image_that_takes_csv_and_answers_json():
    ctx = context(lambda request: response(200 if request.headers["Accept"] == "application/json" else 406, b"{}",
                                           "application/json"))
    ctx.hosting.traffic = Traffic(takes_csv=True, accept="application/json")
    assert "20 of 20 generated CSV payloads" in hosting.response_content_type(ctx)
    with pytest.raises(NotApplicable, match="answers application/json"):
        hosting.one_record_per_row(ctx)


def test_media_type_spellings_are_compared_on_status_alone_when_the_same_request_is_answered_differently():
    numbers = iter(range(1000))
    verdict = hosting.media_type_parameters(context(lambda request: response(200, b"1,%d\n" % next(numbers))))
    assert "statuses only for text/csv" in verdict
    with pytest.raises(Failed, match="HTTP 415"):
        hosting.media_type_parameters(context(lambda request: response(
            415 if "charset" in request.headers["Content-Type"] else 200, b"1,%d\n" % next(numbers))))


def test_bursts_that_a_loaded_machine_spread_out_are_not_counted_as_passing():
    server = _accepting([])
    server.hosting.shared.connection_times = lambda count, deadline, bursts: [[0.001] * 16]  # 1 tight of 3
    with pytest.raises(Inconclusive, match="only 1 of 3 bursts of 16 connections went out within 10 ms"):
        hosting.accepts_connections_in_time(server)
    server = _accepting([])  # a new run: the plan remembers the first one's bursts
    server.hosting.shared.connection_times = lambda count, deadline, bursts: []
    with pytest.raises(Inconclusive, match="no burst of 16 connections went out within 10 ms"):
        hosting.accepts_connections_in_time(server)


def test_only_bursts_that_went_out_at_once_or_were_late_anyway_are_kept(monkeypatch):
    from byoc_conformance import exchange
    measured = iter([([0.001] * 4, 0.05), ([0.001] * 4, 0.001), ([1.2] * 4, 0.05), ([0.001] * 4, 0.002)])
    monkeypatch.setattr(exchange, "connect_burst", lambda *args: next(measured))
    # spread and in time: dropped; tight: kept; spread but late: kept (observed failing)
    assert exchange.tight_bursts("127.0.0.1", 1, 4, 1.0, bursts=3) == [[0.001] * 4, [1.2] * 4, [0.001] * 4]
