"""Where servers are reached, from the engine the harness talks to: local socket, tcp://, ssh://, an override."""

from types import SimpleNamespace

import pytest

from byoc_conformance import engine as engine_module
from byoc_conformance.engine import Engine, engine_host
from byoc_conformance.waiting import Poll


@pytest.mark.parametrize(("docker_host", "host"), [
    (None, None), ("", None), ("unix:///var/run/docker.sock", None), ("npipe:////./pipe/docker_engine", None),
    ("tcp://docker:2375", "docker"), ("tcp://10.0.0.7:2376", "10.0.0.7"), ("ssh://ci@gpu-host", "gpu-host"),
    ("ssh://ci@gpu-host:2222", "gpu-host"), ("tcp://[fd00::7]:2376", "fd00::7"), ("docker:2375", "docker"),
])
def test_the_engine_host_comes_from_docker_host(docker_host, host):
    assert engine_host(docker_host) == host


class FakeClient:
    def __init__(self, base_url: str, system: str = "Debian GNU/Linux 12") -> None:
        self.api = SimpleNamespace(base_url=base_url)
        self.system = system

    def ping(self):
        return True

    def info(self):
        return {"OperatingSystem": self.system, "Architecture": "x86_64", "OSType": "linux", "NCPU": 8}


def connect(monkeypatch, docker_host, base_url, override=None, option=None, network="auto"):
    monkeypatch.setattr(engine_module.docker, "from_env", lambda timeout: FakeClient(base_url))
    if docker_host is None:
        monkeypatch.delenv("DOCKER_HOST", raising=False)
    else:
        monkeypatch.setenv("DOCKER_HOST", docker_host)
    if override is None:
        monkeypatch.delenv(engine_module.HOST_OVERRIDE, raising=False)
    else:
        monkeypatch.setenv(engine_module.HOST_OVERRIDE, override)
    engine = Engine.connect("run1", network=network, host_address=option)
    engine.close()
    return engine


def published(engine: Engine, host_port: str = "49153") -> SimpleNamespace:
    container = SimpleNamespace(attrs={"NetworkSettings": {"Ports": {"8080/tcp": [{"HostPort": host_port}]}}},
                                reload=lambda: None)
    return engine.address(container, 8080)  # type: ignore[arg-type]


def test_a_local_engine_serves_on_its_internal_network(monkeypatch):
    engine = connect(monkeypatch, None, "http+docker://localhost")
    assert engine.isolated and not engine.remote and engine.host_address == "127.0.0.1" and engine.cpus == 8


def test_a_tcp_engine_publishes_on_all_its_interfaces_and_is_reached_at_its_host(monkeypatch):
    engine = connect(monkeypatch, "tcp://docker:2375", "http://docker:2375")
    assert not engine.isolated and engine.remote
    engine._network = "net"  # as if created
    assert engine.serving_network(8080)["ports"] == {"8080/tcp": ("0.0.0.0", None), "1/tcp": ("0.0.0.0", None)}
    assert published(engine) == ("docker", 49153)
    assert engine.publish_option(8080) == "-p 8080:8080"
    assert engine.describe_network() == "a bridge, port published on all the engine's interfaces, reached at docker"


def test_an_ssh_engine_is_reached_at_its_host(monkeypatch):
    engine = connect(monkeypatch, "ssh://ci@gpu-host", "http+docker://ssh")
    engine._network = "net"
    assert published(engine, "32768") == ("gpu-host", 32768)


def test_the_override_wins_over_the_engine_host_and_the_option_over_both(monkeypatch):
    assert connect(monkeypatch, "tcp://docker:2375", "http://docker:2375", override="10.1.2.3").host_address == \
        "10.1.2.3"
    assert connect(monkeypatch, "tcp://docker:2375", "http://docker:2375", override="10.1.2.3",
                   option="proxy.local").host_address == "proxy.local"


def test_a_local_engine_publishes_on_loopback_only(monkeypatch):
    engine = connect(monkeypatch, None, "http+docker://localhost", network="published")
    engine._network = "net"
    assert engine.serving_network(8080)["ports"] == {"8080/tcp": ("127.0.0.1", None), "1/tcp": ("127.0.0.1", None)}
    assert published(engine) == ("127.0.0.1", 49153)
    assert engine.publish_option(8080) == "-p 127.0.0.1:8080:8080"


def test_docker_desktop_is_reached_on_published_ports(monkeypatch):
    monkeypatch.setattr(engine_module.docker, "from_env",
                        lambda timeout: FakeClient("http+docker://localhost", "Docker Desktop"))
    monkeypatch.delenv("DOCKER_HOST", raising=False)
    monkeypatch.delenv(engine_module.HOST_OVERRIDE, raising=False)
    engine = Engine.connect("run1")
    engine.close()
    assert not engine.isolated and not engine.remote and engine.host_address == "127.0.0.1"


def test_with_tls_the_engines_ca_is_trusted_not_the_ca_bundle_of_the_environment(monkeypatch):
    seen = {}

    def from_env(timeout):
        seen.update({name: engine_module.os.environ.get(name) for name in ("REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE")})
        return FakeClient("https://docker:2376")

    monkeypatch.setattr(engine_module.docker, "from_env", from_env)
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", "/etc/ssl/certs/ca-certificates.crt")
    monkeypatch.setenv("DOCKER_TLS_VERIFY", "1")
    client = engine_module.client_from_env()
    assert seen == {"REQUESTS_CA_BUNDLE": None, "CURL_CA_BUNDLE": None}  # hidden while docker-py connects
    assert client.api.trust_env is False  # and for every later call
    assert engine_module.os.environ["REQUESTS_CA_BUNDLE"] == "/etc/ssl/certs/ca-certificates.crt"  # given back


def _api_error(status: int) -> Exception:
    return engine_module.docker.errors.APIError("engine says no", response=SimpleNamespace(status_code=status))


class RacingEngine:
    """A network whose last container another thread is removing: the first attempt finds endpoints attached
    (403), the container's own removal is already in progress (409), and the next listing finds both gone."""

    def __init__(self) -> None:
        self.rounds, self.removed = 0, []
        container = SimpleNamespace(remove=lambda **_: self.refuse(409))
        network = SimpleNamespace(
            remove=lambda **_: self.refuse(403) if self.rounds == 1 else self.removed.append("net"))
        self.containers = SimpleNamespace(list=lambda **options: self.listed([container], options))
        self.volumes = SimpleNamespace(list=lambda **_: [])
        self.networks = SimpleNamespace(list=lambda **_: [network] if "net" not in self.removed else [])

    def listed(self, containers, options):
        assert options["ignore_removed"]  # a container removed between listing and inspection is no error
        self.rounds += 1
        return containers if self.rounds == 1 else []

    @staticmethod
    def refuse(status: int):
        raise _api_error(status)


def test_a_sweep_beside_removals_in_progress_waits_for_them_instead_of_failing():
    engine = RacingEngine()
    paused: list[float] = []  # the sweep's pauses, not slept: the test does not wait in real time
    looks = Poll(5, engine_module.REMOVAL_RETRY, pause=paused.append)
    assert engine_module.remove_labelled(engine, {"label": "x"}, looks=looks) == 1  # type: ignore[arg-type]
    assert paused
    assert engine.removed == ["net"]


def test_a_sweep_does_not_hide_what_the_engine_refuses_for_other_reasons():
    refused = SimpleNamespace(remove=lambda **_: RacingEngine.refuse(500))
    nothing = SimpleNamespace(list=lambda **_: [])
    client = SimpleNamespace(containers=SimpleNamespace(list=lambda **_: [refused]), volumes=nothing, networks=nothing)
    with pytest.raises(engine_module.docker.errors.APIError):
        engine_module.remove_labelled(client, {"label": "x"}, patience=1)  # type: ignore[arg-type]


def test_without_tls_no_later_engine_call_reads_the_environment_either(monkeypatch):
    monkeypatch.setattr(engine_module.docker, "from_env", lambda timeout: FakeClient("http+docker://localhost"))
    monkeypatch.delenv("DOCKER_TLS_VERIFY", raising=False)
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", "/etc/ssl/certs/ca-certificates.crt")
    assert engine_module.client_from_env().api.trust_env is False
    assert engine_module.os.environ["REQUESTS_CA_BUNDLE"] == "/etc/ssl/certs/ca-certificates.crt"  # not touched
