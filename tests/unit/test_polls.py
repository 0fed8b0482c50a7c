"""The harness's polls on a clock the test moves (no sleeps): a server's start-up pings, the sweep's patience with
what is on its way out, and the reaper's watch of the harness."""

import itertools
import math
from collections import Counter
from types import SimpleNamespace

from byoc_conformance import engine as engine_module
from byoc_conformance import reaper
from byoc_conformance.hosting import NO_ANSWER_IN_TIME as NO_ANSWER
from byoc_conformance.hosting import NO_CONNECTION, Endpoint, Server
from byoc_conformance.waiting import Poll

from .fakes import Clock


class PingedServer(Server):
    """A Server without Docker: the engine gives its address from look `address_at` on (0: the first), each ping
    takes `ping_seconds` and answers the next of `answers`, and the container has exited from look `exits_at` on.
    Each look that does not end healthy ends by reloading the container (Server.exited): the looks are counted
    there."""

    def __init__(self, clock: Clock, answers, *, address_at: int = 0, exits_at: float = math.inf,
                 ping_seconds: float = 0.25) -> None:
        self.clock, self.answers, self.ping_seconds = clock, iter(answers), ping_seconds
        self.address_at, self.exits_at, self.looks = address_at, exits_at, 0
        self.endpoint, self.beside, self.address = Endpoint("serve"), None, None
        self.engine = SimpleNamespace(address=self.engine_address)
        self.container = SimpleNamespace(id="c1", status="running", attrs={"State": {"ExitCode": 3}},
                                         reload=self.reload)
        self.pings, self.last_ping = Counter(), "no answer yet"
        self.healthy_after = self.exit_code = self.start_error = None
        self.started = clock.now

    def engine_address(self, container, port):
        return ("10.0.0.2", port) if self.looks >= self.address_at else None

    def reload(self) -> None:
        if self.looks >= self.exits_at:
            self.container.status = "exited"
        self.looks += 1

    def ping(self):
        self.clock.now += self.ping_seconds
        return next(self.answers), None

    def poll(self, seconds: float = 2.0, interval: float = 0.5) -> Server:
        return self._poll_ping(Poll(seconds, interval, self.clock, self.clock.pause))


def test_a_server_healthy_at_once_is_pinged_once_and_never_paused_for():
    clock = Clock()
    server = PingedServer(clock, ["HTTP 200"]).poll()
    assert server.pings == {"HTTP 200": 1} and server.healthy_after == 0.25 and clock.now == 100.25
    assert server.outcome() == "/ping answered 200 0.25 s after start"


def test_a_server_healthy_after_some_looks_has_each_of_its_pings_noted():
    clock = Clock()
    answers = ["no answer (ConnectionError)", "HTTP 503", NO_ANSWER, "HTTP 200"]
    server = PingedServer(clock, answers, address_at=1).poll(seconds=10.0)
    # a look without an address, then four pings, each 0.25 s, 0.5 s apart
    assert server.pings == {NO_CONNECTION: 1, "HTTP 503": 1, NO_ANSWER: 1, "HTTP 200": 1}
    assert server.healthy_after == 4 * 0.5 + 4 * 0.25
    assert server.failed_pings() == {"HTTP 503": 1, NO_ANSWER: 1}  # a refused connection is no evidence


def test_a_server_that_exits_ends_the_poll_with_its_exit_code():
    clock = Clock()
    server = PingedServer(clock, [], address_at=math.inf, exits_at=2).poll(seconds=60.0)
    assert server.exit_code == 3 and server.healthy_after is None and not server.pings
    assert clock.now == 101.0  # two pauses: it was seen exited at the third look
    assert server.outcome() == "the container exited with code 3 before /ping answered 200 (last: no answer yet)"


def test_a_server_never_healthy_is_pinged_until_a_look_ends_after_the_window():
    clock = Clock()
    server = PingedServer(clock, itertools.repeat("HTTP 500")).poll(seconds=2.0, interval=0.5)
    # pings at 0, 0.75, 1.5 end inside the 2 s; the one at 1.5 ends at 1.75, so one more goes at 2.25
    assert server.pings == {"HTTP 500": 4} and server.healthy_after is None and server.exit_code is None
    assert clock.now == 102.5
    assert server.outcome() == "/ping did not answer 200 within the start-up window (last: HTTP 500)"


def test_the_window_counts_from_the_start_of_the_container_not_from_the_first_look():
    clock = Clock()
    server = PingedServer(clock, itertools.repeat("no answer (ConnectionError)"))
    clock.now += 2.0  # starting the container took 2 s
    server.poll(seconds=2.0, interval=0.5)
    assert server.pings == {NO_CONNECTION: 1}  # its one look ended 2.25 s after the start, past the window


class Labelled:
    """The run's objects on a fake engine: each kind's list, with removals that the test scripts (None: it goes; a
    status: the engine refuses with it)."""

    def __init__(self, containers=(), volumes=(), networks=()) -> None:
        self.listings, self.removed = 0, []
        self.objects = {"containers": list(containers), "volumes": list(volumes), "networks": list(networks)}
        self.containers = SimpleNamespace(list=lambda **options: self.listed("containers", options))
        self.volumes = SimpleNamespace(list=lambda **options: self.listed("volumes", options))
        self.networks = SimpleNamespace(list=lambda **options: self.listed("networks", options))

    def listed(self, kind, options):
        self.listings += kind == "containers"
        return [SimpleNamespace(remove=lambda obj=obj, kind=kind, **_: self.remove(kind, obj))
                for obj in self.objects[kind]]

    def remove(self, kind, obj) -> None:
        name, refusals = obj
        status = next(refusals, None)
        if status is not None:
            raise engine_module.docker.errors.APIError("no", response=SimpleNamespace(status_code=status))
        self.objects[kind].remove(obj)
        self.removed.append(name)


def removal(name, refusals=()):
    return name, iter(refusals)


def test_a_sweep_gives_what_is_in_use_a_moment_and_looks_again():
    clock = Clock()
    engine = Labelled(containers=[removal("serve")], networks=[removal("net", [403, 403])])
    looks = Poll(5.0, 0.25, clock, clock.pause)
    assert engine_module.remove_labelled(engine, {"label": "x"}, looks=looks) == 2  # type: ignore[arg-type]
    assert engine.removed == ["serve", "net"] and clock.now == 100.5 and engine.listings == 4


def test_a_sweep_that_removed_all_it_listed_looks_again_at_once():
    clock = Clock()
    engine = Labelled(containers=[removal("serve"), removal("train")], volumes=[removal("model")])
    looks = Poll(5.0, 0.25, clock, clock.pause)
    assert engine_module.remove_labelled(engine, {"label": "x"}, looks=looks) == 3  # type: ignore[arg-type]
    assert engine.listings == 2 and clock.now == 100.0  # the second listing, to see nothing came meanwhile


def test_a_sweep_gives_up_on_what_stays_in_use_once_its_patience_is_over():
    clock = Clock()
    engine = Labelled(networks=[removal("net", itertools.repeat(403))])
    looks = Poll(1.0, 0.25, clock, clock.pause)
    assert engine_module.remove_labelled(engine, {"label": "x"}, looks=looks) == 0  # type: ignore[arg-type]
    assert engine.listings == 6 and clock.now == 101.25  # the look at 1.0 s ends inside the patience: one more


def test_the_reaper_waits_for_the_harness_to_die_then_removes_what_its_run_left(monkeypatch, tmp_path):
    clock = Clock()
    states = iter([True, True, False])
    engine = Labelled(containers=[removal("serve")], volumes=[removal("model")])
    selectors = []
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    monkeypatch.setattr(reaper, "WATCH", Poll(math.inf, reaper.POLL, clock, clock.pause))
    monkeypatch.setattr(reaper, "alive", lambda pid: pid == 4242 and next(states))
    monkeypatch.setattr(reaper, "client_from_env", lambda: engine)
    real_remove = reaper.remove_labelled
    monkeypatch.setattr(reaper, "remove_labelled",
                        lambda client, selector: selectors.append(selector) or real_remove(client, selector))
    assert reaper.main(["4242", "run9", str(scratch)]) == 0
    assert clock.now == 101.0  # two looks found it alive, each followed by a pause
    assert selectors == [{"label": "byoc-conformance.run=run9"}] and engine.removed == ["serve", "model"]
    assert not scratch.exists()
