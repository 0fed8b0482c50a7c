"""HTTP exchanges with a total deadline and a body cap, against misbehaving servers on loopback."""

import contextlib
import dataclasses
import socket
import threading
import time
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import requests

from byoc_conformance import exchange

RELEASE = threading.Event()  # lets a handler that went silent end once its test is done


class Misbehaving(BaseHTTPRequestHandler):
    def log_message(self, *args):
        pass

    def do_GET(self):
        try:
            if self.path == "/trickle-headers":  # status line and headers one byte at a time
                for byte in b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok":
                    self.wfile.write(bytes([byte]))
                    self.wfile.flush()
                    time.sleep(0.2)
            elif self.path == "/trickle-body":
                self.send_response(200)
                self.send_header("Content-Length", "100")
                self.end_headers()
                for _ in range(100):
                    self.wfile.write(b"a")
                    self.wfile.flush()
                    time.sleep(0.2)
            elif self.path == "/one-piece-then-silence":  # a stream that stops after its first piece
                self.send_response(200)
                self.send_header("Transfer-Encoding", "chunked")
                self.end_headers()
                self.wfile.write(b"6\r\nrow 0\n\r\n")
                self.wfile.flush()
                RELEASE.wait(10)
            elif self.path == "/missing":
                body = b'{"error": "no such thing"}'
                self.send_response(404)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)
            elif self.path == "/endless":
                self.send_response(200)
                self.send_header("Transfer-Encoding", "chunked")
                self.end_headers()
                chunk = b"x" * 65536
                while True:
                    self.wfile.write(b"%x\r\n%s\r\n" % (len(chunk), chunk))
            else:
                self.send_response(200)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")
        except (BrokenPipeError, ConnectionResetError):
            pass


@pytest.fixture(scope="module")
def server():
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Misbehaving)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()


@pytest.mark.parametrize("path", ["/trickle-headers", "/trickle-body"])
def test_a_trickling_server_meets_the_deadline_whatever_it_trickles(server, path):
    with pytest.raises(exchange.DeadlineExceeded, match="no complete answer within 1 s"):
        exchange.exchange(exchange.session(), "GET", server + path, deadline=1)


def test_an_endless_body_is_cut_at_the_cap(server):
    response = exchange.exchange(exchange.session(), "GET", server + "/endless", deadline=5, cap=1_000_000)
    assert response.status_code == 200 and len(response.content) == 1_000_000 and response.truncated
    assert exchange.cut_note(response) == " (body cut at 1000000 bytes)"
    # The pieces are what arrived, the one that went over the cap included.
    assert sum(size for _, size in response.pieces) > 1_000_000


def test_an_answer_is_a_record_read_whole_that_reads_as_a_response_does(server):
    answer = exchange.exchange(exchange.session(), "GET", server + "/ok", deadline=5)
    assert isinstance(answer, exchange.Answer) and not isinstance(answer, requests.Response)
    assert (answer.status_code, answer.ok, answer.content, answer.text, answer.truncated) == (200, True, b"ok", "ok",
                                                                                               False)
    assert answer.headers["content-length"] == answer.headers["Content-Length"] == "2"
    assert [size for _, size in answer.pieces] == [2] and isinstance(answer.elapsed, timedelta)
    assert exchange.cut_note(answer) == ""
    with pytest.raises(dataclasses.FrozenInstanceError):
        answer.truncated = True


def test_an_error_answer_keeps_its_status_headers_and_body(server):
    answer = exchange.exchange(exchange.session(), "GET", server + "/missing", deadline=5)
    assert (answer.status_code, answer.ok) == (404, False)
    assert answer.headers.get("content-type") == "application/json"
    assert answer.json() == {"error": "no such thing"}


def test_a_stream_cut_at_the_deadline_carries_the_pieces_that_came(server):
    try:
        with pytest.raises(exchange.DeadlineExceeded) as raised:
            exchange.exchange(exchange.session(), "GET", server + "/one-piece-then-silence", deadline=0.5)
    finally:
        RELEASE.set()
    assert [size for _, size in raised.value.pieces] == [6]


def test_an_answer_made_by_hand_reads_as_one_that_came():
    answer = exchange.Answer(599, b"\xffnot json", {"X-Trace": "1"}, pieces=[(0.1, 10)])
    assert answer.headers["x-trace"] == "1" and answer.pieces == ((0.1, 10),)
    assert not answer.ok and exchange.Answer(600).ok and exchange.Answer(399).ok  # as requests' Response.ok
    assert answer.text == "\ufffdnot json"
    with pytest.raises(ValueError):
        answer.json()


def test_a_plain_answer_is_whole_and_the_session_goes_on_after_a_cut(server):
    client = exchange.session()
    with pytest.raises(exchange.DeadlineExceeded):
        exchange.exchange(client, "GET", server + "/trickle-body", deadline=0.5)
    response = exchange.exchange(client, "GET", server + "/ok", deadline=5)
    assert (response.status_code, response.content, response.truncated) == (200, b"ok", False)


def test_no_connection_is_not_a_deadline(server):
    with pytest.raises(requests.ConnectionError) as raised:
        exchange.exchange(exchange.session(), "GET", "http://127.0.0.1:9/", deadline=2)
    assert not isinstance(raised.value, exchange.DeadlineExceeded)


@contextlib.contextmanager
def listening(backlog: int):
    """A socket on loopback that listens with `backlog` and never accepts; yields its port."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(backlog)
    try:
        yield listener.getsockname()[1]
    finally:
        listener.close()


def test_connections_beyond_a_full_listen_backlog_are_accepted_late_or_not_at_all():
    # The first connections complete their handshake at once; the kernel drops the others until the client sends
    # again, a second later.
    with listening(1) as port:
        times = exchange.connect_times("127.0.0.1", port, 8, deadline=1.5)
    accepted_at_once = [t for t in times if t is not None and t < 0.25]
    assert 1 <= len(accepted_at_once) <= 2 and len(accepted_at_once) < len(times)


def test_a_roomy_backlog_accepts_every_connection_at_once():
    with listening(64) as port:
        times = exchange.connect_times("127.0.0.1", port, 16, deadline=1.5)
    assert all(t is not None and t < 0.25 for t in times)


def test_a_refused_connection_is_not_accepted():
    with listening(1) as port:
        pass  # nothing listens there now
    assert exchange.connect_times("127.0.0.1", port, 2, deadline=1) == [None, None]


def test_a_burst_from_a_process_of_its_own_measures_the_same():
    with listening(64) as port:
        bursts = exchange.burst_times("127.0.0.1", port, 4, deadline=1.5, bursts=2)
    assert len(bursts) == 2 and all(len(times) == 4 and all(t is not None and t < 0.25 for t in times)
                                    for times in bursts)


class AllAtOnce(BaseHTTPRequestHandler):
    """Answers 200 only if `parties` requests are being handled together, 503 otherwise."""

    protocol_version = "HTTP/1.1"
    together: threading.Barrier

    def log_message(self, *args):
        pass

    def do_GET(self):
        try:
            self.together.wait()
            status = 200
        except threading.BrokenBarrierError:
            status = 503
        self.send_response(status)
        self.send_header("Content-Length", "0")
        self.end_headers()


def test_requests_sent_through_a_gate_are_in_flight_together():
    parties = 8
    AllAtOnce.together = threading.Barrier(parties, timeout=10)
    server = ThreadingHTTPServer(("127.0.0.1", 0), AllAtOnce)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    gate, url = exchange.Gate(parties, patience=10), f"http://127.0.0.1:{server.server_address[1]}/"
    try:
        with exchange.session(parties) as client:
            threads = [threading.Thread(target=lambda: statuses.append(
                exchange.exchange(client, "GET", url, deadline=20, gate=gate).status_code)) for _ in range(parties)]
            statuses: list[int] = []
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join(30)
    finally:
        server.shutdown()
        server.server_close()
    assert statuses == [200] * parties


def test_a_gate_opens_one_connection_at_a_time():
    gate, opening, overlaps = exchange.Gate(4, patience=10), threading.Lock(), []

    def connect():
        overlaps.append(not opening.acquire(blocking=False))
        time.sleep(0.05)
        opening.release()

    threads = [threading.Thread(target=lambda: (gate.open(connect), gate.wait())) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert overlaps == [False] * 4


def test_a_connection_that_fails_lets_the_others_go_without_waiting_for_it():
    gate = exchange.Gate(3, patience=600)

    def refused():
        raise ConnectionRefusedError

    with pytest.raises(ConnectionRefusedError):
        gate.open(refused)
    gate.wait()  # returns at once: the barrier is broken, not waited on for 600 s
    assert gate._all_open.broken


class Streaming(BaseHTTPRequestHandler):
    """Five pieces 30 ms apart with chunked encoding, or the same five held back and written at once."""

    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def do_GET(self):
        self.send_response(200)
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        chunks = [b"%x\r\n%s\r\n" % (len(piece), piece) for piece in (b"row %d\n" % n for n in range(5))]
        if self.path == "/held-back":
            time.sleep(0.12)
            self.wfile.write(b"".join(chunks) + b"0\r\n\r\n")
            return
        for n, chunk in enumerate(chunks):
            if n:
                time.sleep(0.03)
            self.wfile.write(chunk)
            self.wfile.flush()
        self.wfile.write(b"0\r\n\r\n")


@pytest.fixture
def streaming():
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Streaming)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


def test_the_pieces_of_a_streamed_answer_are_timed_as_they_come(streaming):
    with exchange.session() as client:
        streamed = exchange.exchange(client, "GET", streaming + "/streamed", deadline=10)
        held = exchange.exchange(client, "GET", streaming + "/held-back", deadline=10)
    assert streamed.content == held.content == b"".join(b"row %d\n" % n for n in range(5))
    # Each piece is timed when it came: later than the one before (4 sleeps of 30 ms apart; how much later is the
    # machine's, so only the order is asserted), while the held-back answer's came together.
    times = [at for at, _ in streamed.pieces]
    assert len(times) == 5 and times == sorted(times) and times[-1] > times[0]
    assert held.pieces[-1][0] - held.pieces[0][0] < held.pieces[0][0]  # all together, after the wait


def test_test_traffic_never_goes_through_a_proxy_of_the_environment(server, monkeypatch):
    # requests would send it to the proxy (and read os.environ on every request, from the probes' threads, while
    # pytest rewrites it): the run's containers are reached directly.
    monkeypatch.setenv("HTTP_PROXY", "http://127.0.0.1:9")
    monkeypatch.setenv("NO_PROXY", "")
    with exchange.session() as client:
        assert client.trust_env is False
        assert exchange.exchange(client, "GET", server + "/ok", deadline=10).status_code == 200
