"""HTTP exchanges with a container that end on time and in bounded memory.

requests' timeouts bound each socket read, not the exchange: a server that sends one byte a second holds a
client for ever, and an endless body fills its memory. Here every exchange has a total deadline over
connect, headers and body (at the deadline the socket is shut down under the client), and the body is read
up to a cap. What came back is an Answer, a plain record read whole (the response is closed): its status, headers
and body, whether the body was cut, and when each piece of it arrived."""

from __future__ import annotations

import contextlib
import errno
import json
import selectors
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import requests
import requests.adapters
from requests.structures import CaseInsensitiveDict
from urllib3.connection import HTTPConnection
from urllib3.connectionpool import HTTPConnectionPool

KIB, MIB = 1024, 1024 * 1024
BODY_CAP = 8 * MIB  # above InvokeEndpoint's 6 MB response limit, so an oversized answer is seen as such
PING_BODY_CAP = 64 * KIB  # a /ping answer has nothing to say beyond its status
CHUNK = 64 * KIB


Pieces = tuple[tuple[float, int], ...]  # the parts of a body as they arrived: (seconds after the request went, bytes)


@dataclass(frozen=True)
class Answer:
    """What came back for one request, read whole: the status, the headers (their names case-insensitive), the body
    up to the exchange's cap (`truncated`: there was more), when each piece of the body arrived, and `elapsed`, the time
    from sending the request to its headers (as requests measures it). Its reading conveniences are named as
    requests.Response's are, so that code judging an answer reads the same."""

    status_code: int
    content: bytes = b""
    headers: Mapping[str, str] = field(default_factory=CaseInsensitiveDict)
    truncated: bool = False
    pieces: Pieces = ()
    elapsed: timedelta = timedelta(0)

    def __post_init__(self) -> None:
        # Header names are case-insensitive, whatever mapping the answer was given.
        object.__setattr__(self, "headers", CaseInsensitiveDict(self.headers))
        object.__setattr__(self, "pieces", tuple(self.pieces))

    @property
    def ok(self) -> bool:
        """As requests has it: no 4xx or 5xx status."""
        return not 400 <= self.status_code < 600

    @property
    def text(self) -> str:
        """The body read as UTF-8, with any byte that is not UTF-8 replaced."""
        return self.content.decode("utf-8", "replace")

    def json(self) -> Any:
        """The body parsed as JSON (ValueError if it is not)."""
        return json.loads(self.content)


class DeadlineExceeded(requests.Timeout):
    """No complete answer (headers and body) within the exchange's deadline; `pieces` are the parts of the body
    that had arrived (see exchange)."""

    def __init__(self, message: str, pieces: Sequence[tuple[float, int]] = ()) -> None:
        super().__init__(message)
        self.pieces: Pieces = tuple(pieces)


class _Exchange:
    """The sockets one exchange uses, and whether its deadline has passed."""

    def __init__(self) -> None:
        self.sockets: list[socket.socket] = []
        self.expired = False
        self.lock = threading.Lock()

    def watch(self, sock: socket.socket | None) -> None:
        if sock is None:
            return
        with self.lock:
            self.sockets.append(sock)
            if self.expired:
                self._cut(sock)

    def expire(self) -> None:
        with self.lock:
            self.expired = True
            for sock in self.sockets:
                self._cut(sock)

    @staticmethod
    def _cut(sock: socket.socket) -> None:
        # shutdown, not close: a read blocked in another thread returns at once, and the socket stays valid
        with contextlib.suppress(OSError):
            sock.shutdown(socket.SHUT_RDWR)


class Gate:
    """Requests in flight together without a burst of connections: each exchange opens its connection in turn,
    then waits until every one is open (or `patience` has passed) before it sends. Accepting connections that
    arrive at once is a rule of its own (SERVE-03); this keeps its failures out of the requests' outcomes."""

    def __init__(self, parties: int, patience: float) -> None:
        self.patience = patience
        self._turn = threading.Lock()
        self._all_open = threading.Barrier(parties, timeout=patience)

    def open(self, connect: Any) -> None:
        """Run `connect` when no other connection is being opened (or after `patience`), or fail it."""
        took_turn = self._turn.acquire(timeout=self.patience)
        try:
            connect()
        except BaseException:
            self._all_open.abort()  # the others go ahead now instead of waiting for a connection that failed
            raise
        finally:
            if took_turn:
                self._turn.release()

    def wait(self) -> None:
        with contextlib.suppress(threading.BrokenBarrierError):
            self._all_open.wait()


_current = threading.local()  # the exchange (and gate) running on this thread, if any


class _WatchedConnection(HTTPConnection):
    """A connection that hands its socket to the exchange running on its thread, new or reused."""

    def connect(self) -> None:
        gate = getattr(_current, "gate", None)
        if gate is None:
            super().connect()
        else:
            gate.open(super().connect)
        self._watched()
        if gate is not None:
            gate.wait()

    def request(self, *args: Any, **kwargs: Any) -> None:  # type: ignore[override]
        self._watched()
        super().request(*args, **kwargs)

    def _watched(self) -> None:
        exchange = getattr(_current, "exchange", None)
        if exchange is not None:
            exchange.watch(self.sock)


class _WatchedPool(HTTPConnectionPool):
    ConnectionCls = _WatchedConnection


class _Adapter(requests.adapters.HTTPAdapter):
    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = {**self.poolmanager.pool_classes_by_scheme, "http": _WatchedPool}


def session(connections: int = 32) -> requests.Session:
    """A session whose exchanges can be cut at their deadline; `connections` kept open per host."""
    client = requests.Session()
    # Test traffic goes to the run's own containers: never through a proxy from the environment, and never by reading
    # os.environ on each request from the probes' threads while pytest rewrites it (engine.client_from_env).
    client.trust_env = False
    client.mount("http://", _Adapter(pool_connections=4, pool_maxsize=connections))
    return client


def exchange(client: requests.Session, method: str, url: str, *, deadline: float, cap: int = BODY_CAP,
             gate: Gate | None = None, **options: Any) -> Answer:
    """One request and its whole answer within `deadline` seconds, the body read up to `cap` bytes; a new
    connection waits at `gate` before the request is sent. The answer's `pieces` say when each piece of the body
    arrived (seconds after the request went, and its size), as a chunked answer's pieces come; its `content` holds
    at most `cap` bytes, and `truncated` says whether there was more.

    Raises DeadlineExceeded (a requests.Timeout) at the deadline, other requests errors as requests does."""
    watch = _Exchange()
    timer = threading.Timer(deadline, watch.expire)
    timer.daemon = True
    _current.exchange, _current.gate = watch, gate
    timer.start()
    pieces: list[tuple[float, int]] = []
    try:
        started = time.monotonic()
        response = client.request(method, url, stream=True, timeout=(deadline, deadline), **options)
        body, truncated = bytearray(), False
        try:
            for chunk in response.iter_content(CHUNK):
                pieces.append((time.monotonic() - started, len(chunk)))
                body += chunk
                if len(body) > cap:
                    del body[cap:]
                    truncated = True
                    break
        finally:
            response.close()  # an unfinished body closes the connection; it is not reused
    except requests.RequestException as error:
        # Cut at the deadline after connecting: a slow answer. Before (no socket yet), the error is the
        # connection's own, a ConnectTimeout say: nothing was listening to judge.
        if watch.expired and watch.sockets:
            raise DeadlineExceeded(f"no complete answer within {deadline:g} s", pieces) from None
        raise error from None
    finally:
        timer.cancel()
        _current.exchange = _current.gate = None
    return Answer(response.status_code, bytes(body), response.headers, truncated, tuple(pieces), response.elapsed)


def cut_note(answer: Answer) -> str:
    """' (body cut at N bytes)' for an answer whose body was longer than its cap, else ''."""
    return f" (body cut at {len(answer.content)} bytes)" if answer.truncated else ""


def connect_times(host: str, port: int, count: int, deadline: float) -> list[float | None]:
    """See connect_burst: how long each connection took to be accepted."""
    return connect_burst(host, port, count, deadline)[0]


def connect_burst(host: str, port: int, count: int, deadline: float) -> tuple[list[float | None], float]:
    """Opens `count` TCP connections to host:port at once (from this thread: see burst_times for a burst that
    the harness's other threads cannot spread out) and returns how long each took to be accepted (its
    handshake complete), or None for one refused or not accepted within `deadline` seconds. They are closed
    unused. The kernel completes a handshake while the server's listen backlog has room; once it is full it
    drops new connections, which come back only when the client sends again, a second or more later. Also returns
    the seconds from the first connection's start to the last one's: how much at once the burst really went."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    times: list[float | None] = [None] * count
    started: dict[int, float] = {}
    spread = 0.0
    with selectors.DefaultSelector() as selector:
        try:
            for number in range(count):
                sock = socket.socket(family, socket.SOCK_STREAM)
                sock.setblocking(False)
                started[number] = time.monotonic()
                if sock.connect_ex((host, port)) not in (0, errno.EINPROGRESS):
                    sock.close()
                    continue
                selector.register(sock, selectors.EVENT_WRITE, number)
            spread = time.monotonic() - started[0]
            ends = time.monotonic() + deadline
            while selector.get_map() and (left := ends - time.monotonic()) > 0:
                for key, _ in selector.select(left):
                    now, sock = time.monotonic(), key.fileobj
                    selector.unregister(sock)
                    if sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR) == 0:  # type: ignore[union-attr]
                        times[key.data] = now - started[key.data]
                    sock.close()  # type: ignore[union-attr]
        finally:
            for key in list(selector.get_map().values()):
                key.fileobj.close()  # type: ignore[union-attr]
    return times, spread


ACCEPT_WITHIN = 0.25  # seconds for each connection of a burst to be accepted (SERVE-03)
TIGHT = 0.01  # seconds: a burst whose connections took longer to go out was spread by the sender's scheduling
TRIES = 3  # bursts tried for each one wanted


def tight_bursts(host: str, port: int, count: int, deadline: float, bursts: int) -> list[list[float | None]]:
    """connect_times of bursts that went out at once (within TIGHT), until `bursts` of them, or TRIES times as many
    tried. A loaded machine may preempt the sender mid-burst, spreading it enough for a small listen backlog to keep
    up: such a burst is not counted, unless a connection of it was late all the same (observed failing)."""
    judged: list[list[float | None]] = []
    for _ in range(bursts * TRIES):
        times, spread = connect_burst(host, port, count, deadline)
        late = any(t is None or t > ACCEPT_WITHIN for t in times)
        if spread <= TIGHT or late:
            judged.append(times)
        if len(judged) == bursts:
            break
    return judged


def burst_times(host: str, port: int, count: int, deadline: float, bursts: int = 1) -> list[list[float | None]]:
    """tight_bursts, in one process of its own. In the harness, each connect() releases the GIL, and a run's thread
    that takes it may hold it for milliseconds: a burst would be spread out enough for a small listen backlog to keep
    up with it."""
    done = subprocess.run([sys.executable, "-m", "byoc_conformance.exchange", host, str(port), str(count),
                           str(deadline), str(bursts)], capture_output=True, text=True,
                          timeout=bursts * deadline + 30, check=True)
    return json.loads(done.stdout)  # type: ignore[no-any-return]


if __name__ == "__main__":  # python -m byoc_conformance.exchange HOST PORT COUNT DEADLINE BURSTS (SERVE-03)
    host_, port_, count_, deadline_, bursts_ = sys.argv[1:6]
    print(json.dumps(tight_bursts(host_, int(port_), int(count_), float(deadline_), int(bursts_))))
