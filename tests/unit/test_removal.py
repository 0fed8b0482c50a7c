"""Containers and servers a run makes for one piece of work are removed when it ends, however it ends: an error,
a timeout of the engine, Ctrl-C. On a fake Docker client; nothing is started."""

from types import SimpleNamespace

import pytest
import requests

from byoc_conformance import engine as engine_module
from byoc_conformance.engine import Engine, tar_of
from byoc_conformance.hosting import Endpoint, Hosting, Server, fill_model_volume

from .test_hosting import PROC_NET_TCP


def api_error(status: int) -> Exception:
    return engine_module.docker.errors.APIError("engine says no", response=SimpleNamespace(status_code=status))


class FakeContainer:
    """A created container; `fails` names the method that raises (and the exception), to fail a `with` block."""

    def __init__(self, client, name: str, options) -> None:
        self.client, self.name, self.options, self.id = client, name, options, name
        self.fails = client.fails

    def _maybe_fail(self, method: str) -> None:
        if method in self.fails:
            raise self.fails[method]

    def put_archive(self, path, data) -> None:
        self._maybe_fail("put_archive")

    def get_archive(self, path, chunk_size):
        self._maybe_fail("get_archive")
        return [tar_of({"program/serve": b"#!/bin/sh\n"})], {}  # top entry: the last part of the path

    def start(self) -> None:
        self._maybe_fail("start")

    def wait(self, timeout):
        self._maybe_fail("wait")

    def logs(self, **options) -> bytes:
        return PROC_NET_TCP.encode()

    def remove(self, force: bool) -> None:
        self.client.removed.append(self.name)


class FakeClient:
    def __init__(self, **fails: BaseException) -> None:
        self.fails, self.created, self.removed, self.volumes_removed = fails, [], [], []
        self.containers = SimpleNamespace(create=self.create)
        self.volumes = SimpleNamespace(create=lambda name, labels: SimpleNamespace(name=name),
                                       get=lambda name: SimpleNamespace(
                                           remove=lambda force: self.volumes_removed.append(name)))

    def create(self, image, command, name, labels, **options):
        self._maybe_refuse()
        self.created.append(name)
        return FakeContainer(self, name, options)

    def _maybe_refuse(self) -> None:
        if "create" in self.fails:
            raise self.fails["create"]


@pytest.fixture
def make_engine():
    engines = []

    def make(**fails: BaseException) -> Engine:
        engines.append(Engine(FakeClient(**fails), "run1"))  # type: ignore[arg-type]
        return engines[-1]

    yield make
    for engine in engines:
        engine.close()


@pytest.mark.parametrize("raised", [RuntimeError("a defect"), KeyboardInterrupt()])
def test_a_container_for_a_with_block_is_removed_however_the_block_ends(make_engine, raised):
    engine = make_engine()
    with pytest.raises(type(raised)), engine.container("image", ["true"], "reader") as reader:
        assert engine.client.created == [reader.name] and engine.client.removed == []
        raise raised
    assert engine.client.removed == ["byoc-run1-reader"]


def test_a_volume_whose_loader_fails_is_removed_with_its_loader(make_engine):
    engine = make_engine(put_archive=api_error(500))
    with pytest.raises(engine_module.docker.errors.APIError):
        engine.filled_volume("channel", "image", {"a.csv": b"1\n"})
    assert engine.client.removed == ["byoc-run1-channel-loader"]
    assert engine.client.volumes_removed == ["byoc-run1-channel"]


def test_a_filled_volume_is_kept_and_its_loader_removed(make_engine):
    engine = make_engine()
    assert engine.filled_volume("channel", "image", {"a.csv": b"1\n"}) == "byoc-run1-channel"
    assert engine.client.removed == ["byoc-run1-channel-loader"] and engine.client.volumes_removed == []


def test_the_shipped_files_reader_is_removed_whether_or_not_it_could_read(make_engine):
    engine = make_engine()
    assert engine.shipped_files("image", ["/opt/program"]) == {"/opt/program": ["serve"]}
    assert engine.client.removed == ["byoc-run1-shipped-files"]
    engine = make_engine(get_archive=requests.ConnectionError("engine gone"))
    assert engine.shipped_files("image", ["/opt/program"]) is None
    assert engine.client.removed == ["byoc-run1-shipped-files"]
    engine = make_engine(create=api_error(500))  # no reader: nothing to remove
    assert engine.shipped_files("image", ["/opt/program"]) is None and engine.client.removed == []


@pytest.mark.parametrize("raised", [api_error(500), KeyboardInterrupt()])
def test_the_model_loader_is_removed_when_loading_fails(make_engine, tmp_path, raised):
    engine = make_engine(put_archive=raised)
    model = tmp_path / "model.tar.gz"
    model.write_bytes(tar_of({"model.json": b"{}"}))
    with pytest.raises(type(raised)):
        fill_model_volume(engine, "image", "byoc-run1-model", model)
    assert engine.client.removed == ["byoc-run1-model-loader"]


def hosting_on(engine: Engine) -> Hosting:
    hosting = Hosting.__new__(Hosting)  # only the engine and the image are used here
    hosting.engine, hosting.image = engine, "image"
    return hosting


def test_the_socket_reader_is_removed_after_reading_and_after_an_engine_timeout(make_engine):
    server = SimpleNamespace(role="serve", container=SimpleNamespace(id="abc"))
    engine = make_engine()
    assert hosting_on(engine).listening_sockets(server) == [  # type: ignore[arg-type]
        ("0.0.0.0", 8080), ("127.0.0.1", 8000), ("::", 9090), ("::1", 8081)]
    assert engine.client.removed == ["byoc-run1-serve-sockets"]
    engine = make_engine(wait=requests.ReadTimeout("30 s"))
    assert hosting_on(engine).listening_sockets(server) is None  # type: ignore[arg-type]
    assert engine.client.removed == ["byoc-run1-serve-sockets"]


class RemovableServer(Server):
    """A Server without Docker: what its removal does is noted (its log kept, its container and volume removed)."""

    def __init__(self, engine) -> None:
        self.engine, self.endpoint = engine, Endpoint("serve-fresh")
        self.container, self.own_volume, self.final_logs = "container", "volume", None

    @property
    def logs(self) -> str:
        return "the server's log"


class RemovingEngine:
    def __init__(self) -> None:
        self.removed = []

    def remove(self, container, volumes) -> None:
        self.removed.append((container, list(volumes)))


@pytest.mark.parametrize("raised", [RuntimeError("a defect"), KeyboardInterrupt()])
def test_a_server_for_a_with_block_is_removed_with_its_volume_and_its_log_kept(raised):
    server = RemovableServer(RemovingEngine())
    with pytest.raises(type(raised)), server as entered:
        assert entered is server
        raise raised
    assert server.engine.removed == [("container", ["volume"])] and server.final_logs == "the server's log"


@pytest.mark.parametrize("raised", [RuntimeError("a defect"), KeyboardInterrupt()])
def test_a_fresh_server_is_removed_after_its_probe_however_the_probe_ends(raised):
    server = RemovableServer(RemovingEngine())
    hosting = Hosting.__new__(Hosting)
    hosting.start_fresh = lambda endpoint, window=None: server  # type: ignore[method-assign]
    with pytest.raises(type(raised)), hosting.fresh(Endpoint("serve-fresh")) as fresh:
        assert fresh is server and server.engine.removed == []
        raise raised
    assert server.engine.removed == [("container", ["volume"])]
