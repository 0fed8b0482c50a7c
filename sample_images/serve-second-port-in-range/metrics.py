"""A metrics listener beside the model server, on a port of its own."""

import os
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import algorithm

DEFAULT_PORT = 9000


class Metrics(BaseHTTPRequestHandler):
    def do_GET(self):
        body = b"requests_total 0\n"
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


def port():
    # In an inference pipeline SageMaker names the ports a container may take besides its serving port, "LOW-HIGH".
    safe = os.environ.get("SAGEMAKER_SAFE_PORT_RANGE")
    return int(safe.split("-")[0]) if safe else DEFAULT_PORT


def start(on_port):
    server = ThreadingHTTPServer((algorithm.BIND_ADDRESS, on_port), Metrics)
    threading.Thread(target=server.serve_forever, daemon=True).start()
