"""The pipeline's run (pipeline.through_pipeline) in process, on fake servers: what it starts, what it sends through
the containers and what it records. It reports, never judges: the verdicts are checks/pipeline.py's
(test_pipeline.py)."""

from pathlib import Path

import pytest

from byoc_conformance import pipeline
from byoc_conformance.declaration import DEFAULT_CSV
from byoc_conformance.exchange import Answer
from byoc_conformance.outcome import CouldNotRun, Unclaimed
from byoc_conformance.plan import Plan

LABELLED = {pipeline.BIND_TO_PORT_LABEL: "true"}


def echo(request):
    return Answer(200, request.body[:4], {"Content-Type": "text/csv"})


class StartingServer:
    """A pipeline container: started with a window, healthy or not, answering with `reply`."""

    def __init__(self, endpoint, beside, healthy, reply):
        self.endpoint, self.beside, self.healthy, self.reply = endpoint, beside, healthy, reply
        self.image = endpoint.image or "me/algo"
        self.healthy_after, self.window, self.removed, self.sent = None, None, False, []

    def start(self, window):
        self.window = window
        self.healthy_after = 0.5 if self.healthy else None
        return self

    def remove(self):
        self.removed = True

    def send(self, request):
        self.sent.append(request)
        return self.reply(request)


class FakeHosting:
    """What through_pipeline reads of the hosting: the pipeline, the CSV layout, the shared server's health."""

    def __init__(self, followers=("good/next",), healthy=(True, True), csv=True, serve_starts=True, reply=echo):
        self.plan = Plan()
        self.pipeline = tuple(pipeline.Stage(image, LABELLED, Path(f"/models/{image}.tar.gz")) for image in followers)
        self.csv, self.startup_timeout, self.examples, self.seed = DEFAULT_CSV, 7.0, 5, 0
        self.speaks_csv, self.serve_starts, self.reply = csv, serve_starts, reply
        self.health = list(healthy)
        self.servers = []

    def require_csv(self):
        if not self.speaks_csv:
            raise CouldNotRun("this probe sends and asks for text/csv records")

    def healthy(self):
        if not self.serve_starts:
            raise CouldNotRun("the server never became healthy: it exited")

    def server(self, endpoint, beside=None):
        made = StartingServer(endpoint, beside, self.health[len(self.servers)], self.reply)
        self.servers.append(made)
        return made


def test_without_a_pipeline_the_run_is_unclaimed_and_starts_nothing():
    hosting = FakeHosting(followers=())
    with pytest.raises(Unclaimed, match="no pipeline was named: --byoc-pipeline IMAGE"):
        pipeline.through_pipeline(hosting)
    assert hosting.servers == []


@pytest.mark.parametrize("given", [{"csv": False}, {"serve_starts": False}])
def test_a_hosting_that_cannot_run_it_starts_no_pipeline(given):
    hosting = FakeHosting(**given)
    with pytest.raises(CouldNotRun):
        pipeline.through_pipeline(hosting)
    assert hosting.servers == []


def test_the_containers_share_the_first_ones_namespace_each_on_its_port_and_are_removed():
    hosting = FakeHosting(followers=("good/next", "other/last"), healthy=(True, True, True))
    run = pipeline.through_pipeline(hosting)
    first, *followers = hosting.servers
    assert run.servers == hosting.servers
    assert [server.endpoint.port for server in run.servers] == [9080, 9081, 9082]
    assert first.endpoint.published == (9081, 9082) and first.beside is None
    assert all(server.beside is first for server in followers)
    assert [server.endpoint.model_archive for server in followers] == [Path("/models/good/next.tar.gz"),
                                                                        Path("/models/other/last.tar.gz")]
    assert followers[1].endpoint.environment == pipeline.environment_of(3)
    assert all(server.window == 7.0 and server.removed for server in run.servers)
    assert [run.name(n) for n in (1, 2, 3)] == ["container 1 (me/algo)", "container 2 (good/next)",
                                                 "container 3 (other/last)"]


def test_the_generated_payloads_then_the_large_one_go_through_every_container():
    hosting = FakeHosting()
    run = pipeline.through_pipeline(hosting)
    *generated, large = run.passages
    assert 1 <= len(generated) <= min(hosting.examples, pipeline.PASSAGES)
    assert all(len(passage.hops) == 2 and pipeline.passed_on(passage.hops[-1]) for passage in run.passages)
    assert large.kind.endswith("bytes") and len(large.hops[0].request.body) > 4_000_000
    assert large.hops[0].request.name == f"pipeline-1-{len(generated)}.payload"
    assert hosting.servers[1].sent[-1].body == large.hops[0].request.body[:4]  # the first one's answer, handed on
    assert pipeline.through_pipeline(hosting) is run  # run once per plan


def test_a_container_that_is_not_healthy_is_recorded_and_nothing_is_sent():
    hosting = FakeHosting(healthy=(True, False))
    run = pipeline.through_pipeline(hosting)
    assert run.passages == [] and [server.healthy_after for server in run.servers] == [0.5, None]
    assert all(server.sent == [] and server.removed for server in hosting.servers)
