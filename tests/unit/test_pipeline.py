"""Pipelines in process: how a request goes from one container to the next, how --byoc-pipeline is read, and how
PIPE-01/02/04 judge what happened. The checks run on real images in tests/integration (the pipeline-* samples)."""

import tarfile
from pathlib import Path
from types import SimpleNamespace

import pytest
import requests

from byoc_conformance import pipeline
from byoc_conformance.checks import pipeline as checks
from byoc_conformance.engine import HarnessError
from byoc_conformance.exchange import Answer
from byoc_conformance.hosting import invocation
from byoc_conformance.options import RunOptions
from byoc_conformance.outcome import CouldNotRun
from byoc_conformance.plan import Plan
from byoc_conformance.probing import Sent
from byoc_conformance.verdicts import Failed, Inconclusive, NotApplicable

from .test_claims import StoppedServer

LABELLED = {pipeline.BIND_TO_PORT_LABEL: "true"}


def answer(status, body, content_type="text/csv", truncated=False):
    return Answer(status, body, {"Content-Type": content_type}, truncated)


class FakeServer:
    """Answers with `reply(request)` and remembers what it was sent."""

    def __init__(self, reply, healthy=True, image="me/algo"):
        self.reply, self.sent, self.image = reply, [], image
        self.healthy_after = 0.5 if healthy else None
        self.exit_code, self.start_error = None, None
        self.logs, self.label, self.port = "", "`serve` container (fake)", 9080

    def send(self, request):
        self.sent.append(request)
        return self.reply(request)

    def outcome(self):
        return "/ping answered 200" if self.healthy_after else "/ping did not answer 200 within the start-up window"


def test_each_answer_is_the_next_containers_request_with_its_content_type():
    first = FakeServer(lambda request: answer(200, b"0.5\n", "text/csv; charset=utf-8"))
    second = FakeServer(lambda request: answer(200, b"above\n"))
    passage = pipeline.pass_through([first, second], invocation(b"1,2,3\n", "p"), "valid CSV")
    assert [hop.request.body for hop in passage.hops] == [b"1,2,3\n", b"0.5\n"]
    assert second.sent[0].body == b"0.5\n"
    assert second.sent[0].headers["Content-Type"] == "text/csv; charset=utf-8"


def test_a_passage_stops_at_the_first_error_or_cut_answer():
    for failing in (answer(500, b"boom"), answer(200, b"x" * 10, truncated=True)):
        last = FakeServer(lambda request: answer(200, b""))
        passage = pipeline.pass_through([FakeServer(lambda request, f=failing: f), last], invocation(b"1\n", "p"), "v")
        assert len(passage.hops) == 1 and not last.sent


def test_no_answer_is_a_hop_with_the_reason():
    def refuse(request):
        raise requests.ConnectionError("refused")

    passage = pipeline.pass_through([FakeServer(refuse)], invocation(b"1\n", "p"), "v")
    assert passage.hops[0].response is None and passage.hops[0].error == "ConnectionError: refused"


def test_each_container_gets_its_own_port_and_safe_range():
    assert pipeline.environment_of(1) == {"SAGEMAKER_BIND_TO_PORT": "9080", "SAGEMAKER_SAFE_PORT_RANGE": "9200-9299"}
    assert pipeline.environment_of(3) == {"SAGEMAKER_BIND_TO_PORT": "9082", "SAGEMAKER_SAFE_PORT_RANGE": "9400-9499"}


class FakeEngine:
    def __init__(self, where: Path):
        self.where = where

    def image(self, reference):
        return SimpleNamespace(attrs={"Config": {"Labels": LABELLED if "good" in reference else None}})

    def scratch_file(self, name):
        return self.where / name


def test_pipeline_options_are_read_and_checked(tmp_path):
    model = tmp_path / "model"
    model.mkdir()
    (model / "weights").write_text("1")
    stages = pipeline.stages(FakeEngine(tmp_path), ["good/next", f"other/last={model}"])
    assert [(stage.image, pipeline.binds_to_port(stage.labels)) for stage in stages] == [("good/next", True),
                                                                                          ("other/last", False)]
    with tarfile.open(stages[0].model) as empty, tarfile.open(stages[1].model) as given:
        assert empty.getnames() == [] and given.getnames() == ["weights"]
    with pytest.raises(HarnessError, match="name an image"):
        pipeline.stages(FakeEngine(tmp_path), ["=model"])
    with pytest.raises(HarnessError, match="at most 15 containers"):
        pipeline.stages(FakeEngine(tmp_path), ["good/next"] * 15)
    with pytest.raises(HarnessError, match="no such directory or file"):
        pipeline.stages(FakeEngine(tmp_path), [f"good/next={tmp_path / 'missing'}"])


def context(servers, passages, followers=("good/next",), labels=LABELLED):
    stages = tuple(pipeline.Stage(image, LABELLED, Path("/dev/null")) for image in followers)
    hosting = SimpleNamespace(plan=Plan(), pipeline=stages, image_labels=labels, image="me/algo")
    for server, image in zip(servers, ["me/algo", *followers], strict=False):
        server.image = image
    run = pipeline.PipelineRun(servers, passages)
    hosting.plan.once((pipeline.__name__, pipeline.through_pipeline.__qualname__), lambda: run)
    return SimpleNamespace(hosting=hosting)


def passage(*sizes, status=200):
    hops = [Sent(invocation(b"1\n", "p"), response=answer(status if n == len(sizes) else 200, b"x" * size))
            for n, size in enumerate(sizes, 1)]
    return pipeline.Passage("valid CSV", hops)


def test_without_a_pipeline_the_checks_do_not_apply():
    ctx = SimpleNamespace(hosting=SimpleNamespace(pipeline=()))
    for judge in (checks.containers_on_their_ports, checks.answers_end_to_end, checks.payload_between_containers):
        with pytest.raises(NotApplicable, match="--byoc-pipeline"):
            judge(ctx)


def test_an_end_to_end_pipeline_passes_and_an_error_names_its_container():
    servers = [FakeServer(None), FakeServer(None)]
    assert "2 of 2 generated CSV payloads" in checks.answers_end_to_end(
        context(servers, [passage(10, 5), passage(12, 6), passage(4_000_000, 900_000)]))
    with pytest.raises(Failed, match=r"container 2 \(good/next\) answered container 1's answer with HTTP 415"):
        checks.answers_end_to_end(context(servers, [passage(10, 5, status=415), passage(1, 1)]))


def test_a_container_that_never_became_healthy_fails_pipe_02_and_leaves_the_rest_inconclusive():
    follower = FakeServer(None, healthy=False)
    ctx = context([FakeServer(None), follower], [])
    with pytest.raises(Failed, match=r"container 2 \(good/next\) on SAGEMAKER_BIND_TO_PORT=9081: /ping") as failed:
        checks.containers_on_their_ports(ctx)
    assert failed.value.run is follower  # its log and its `docker run` (beside the first container) are shown
    for judge in (checks.answers_end_to_end, checks.payload_between_containers):
        with pytest.raises(Inconclusive, match=r"container 2 \(good/next\) on SAGEMAKER_BIND_TO_PORT=9081 did not "
                           r"start \(PIPE-02 fails on it\)") as inconclusive:
            judge(ctx)
        assert inconclusive.value.run is follower


def test_an_unlabelled_image_fails_pipe_02_even_when_it_serves():
    with pytest.raises(Failed, match=r"container 1 \(me/algo\) not labelled"):
        checks.containers_on_their_ports(context([FakeServer(None), FakeServer(None)], [], labels={}))


def test_payloads_handed_on_are_judged_against_five_million_bytes():
    servers = [FakeServer(None) for _ in range(3)]
    assert "the largest 5000000 bytes" in checks.payload_between_containers(
        context(servers, [passage(5_000_000, 10, 1)], followers=("a", "b")))
    with pytest.raises(Failed, match=r"container 2 \(a\), sent 2 bytes .*answered 5000001 bytes"):
        checks.payload_between_containers(context(servers, [passage(10, 5_000_001, 1)], followers=("a", "b")))
    with pytest.raises(Inconclusive, match="no container answered 2xx"):
        checks.payload_between_containers(context(servers, [passage(10, status=500)], followers=("a", "b")))


def test_a_container_with_a_model_of_its_own_is_served_that_model_even_when_it_is_the_image_under_test(monkeypatch):
    from byoc_conformance import hosting as hosting_module

    monkeypatch.setattr(hosting_module, "Server", lambda engine, image, endpoint, model, **options: (image, model))
    hosting = hosting_module.Hosting(None, RunOptions("me/algo"), lambda: None)  # type: ignore[arg-type]
    for image in ("me/algo", "other/next"):
        endpoint = hosting_module.Endpoint("pipeline-2", image=image, model_archive=Path("given.tar.gz"))
        assert hosting.server(endpoint) == (image, Path("given.tar.gz"))


def test_a_serve_that_does_not_start_fails_pipe_02_on_the_shared_server_before_any_pipeline_starts():
    shared = StoppedServer("serve", exit_code=1)
    ctx = context([], [])
    ctx.hosting.plan = Plan()

    def through_pipeline():
        shared.require_healthy()  # what through_pipeline's hosting.healthy() reports

    with pytest.raises(CouldNotRun, match="never became healthy"):  # the run's outcome, kept by the plan
        ctx.hosting.plan.once((pipeline.__name__, pipeline.through_pipeline.__qualname__), through_pipeline)
    with pytest.raises(Failed, match=r"^`serve` itself \(the shared server, started before the pipeline's "
                       r"containers\): the container exited with code 1") as failed:
        checks.containers_on_their_ports(ctx)
    assert failed.value.run is shared
    for judge in (checks.answers_end_to_end, checks.payload_between_containers):
        with pytest.raises(Inconclusive, match=r"did not start \(PIPE-02 fails on it\)"):
            judge(ctx)


def test_labelled_containers_that_all_answer_ping_pass_pipe_02_with_their_ports():
    servers = [FakeServer(None), FakeServer(None), FakeServer(None)]
    assert checks.containers_on_their_ports(context(servers, [], followers=("a", "b"))) == (
        "3 containers in one network namespace answered /ping 200 on their ports (9080 after 0.5 s, 9081 after "
        "0.5 s, 9082 after 0.5 s)")


def test_a_follower_without_the_label_is_named():
    ctx = context([FakeServer(None), FakeServer(None)], [])
    ctx.hosting.pipeline = (pipeline.Stage("good/next", {}, Path("/dev/null")),)
    with pytest.raises(Failed, match=r"^container 2 \(good/next\) not labelled com\.amazonaws") as failed:
        checks.containers_on_their_ports(ctx)
    assert "CreateEndpoint fails" in failed.value.expected


def test_a_passage_that_stopped_without_an_answer_or_cut_fails_pipe_01_on_that_container():
    servers = [FakeServer(None), FakeServer(None)]
    refused = pipeline.Passage("valid CSV", [Sent(invocation(b"1\n", "p"), error="ConnectionError: no")])
    with pytest.raises(Failed, match=r"^valid CSV: container 1 \(me/algo\) gave no answer to the caller's request: "
                       r"ConnectionError: no$") as failed:
        checks.answers_end_to_end(context(servers, [refused, passage(1, 1)]))
    assert failed.value.run is servers[0] and failed.value.request is refused.hops[0].request
    cut = pipeline.Passage("valid CSV", [passage(3).hops[0], Sent(invocation(b"x", "p"),
                                                                  response=answer(200, b"y" * 9, truncated=True))])
    with pytest.raises(Failed, match=r"container 2 \(good/next\) answered container 1's answer with more than 9 "
                       r"bytes") as failed:
        checks.answers_end_to_end(context(servers, [cut, passage(1, 1)]))
    assert failed.value.run is servers[1]


def test_without_generated_passages_pipe_01_is_inconclusive():
    for passages in ([], [passage(4_000_000, 10)]):  # nothing sent, or only PIPE-04's large one
        with pytest.raises(Inconclusive, match="no payload was sent through the pipeline"):
            checks.answers_end_to_end(context([FakeServer(None), FakeServer(None)], passages))


def test_an_answer_cut_at_the_harness_s_cap_is_over_the_limit_however_long_it_was():
    servers = [FakeServer(None), FakeServer(None)]
    cut = pipeline.Passage("8 rows, 4194304 bytes", [Sent(invocation(b"1" * 30, "p"),
                                                          response=answer(200, b"x" * 20, truncated=True))])
    with pytest.raises(Failed, match=r"^container 1 \(me/algo\), sent 30 bytes \(for a first request of 8 rows, "
                       r"4194304 bytes\), answered more than 20 bytes to hand on to container 2$") as failed:
        checks.payload_between_containers(context(servers, [passage(10, 5), cut]))
    assert failed.value.run is servers[0] and "at most 5,000,000 bytes" in failed.value.expected
