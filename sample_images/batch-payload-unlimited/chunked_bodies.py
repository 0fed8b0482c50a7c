"""Request bodies sent with Transfer-Encoding: chunked (no Content-Length), as SageMaker sends batch payloads under
MaxPayloadInMB 0: decoded, then answered as the reference answers a body of known length. Importing this module
installs its handler."""

import io

import algorithm

MAX_LINE = 1024  # a chunk-size line or a trailer field


def read_chunked(rfile):
    """The body of a chunked request: chunks of `<hex size>[;extensions]\\r\\n<data>\\r\\n` up to a chunk of size 0,
    then trailer fields up to an empty line."""
    body = bytearray()
    while True:
        line = rfile.readline(MAX_LINE)
        try:
            size = int(line.split(b";")[0].strip(), 16)
        except ValueError:
            raise ValueError(f"bad chunk-size line {line[:40]!r}") from None
        if size == 0:
            break
        chunk = rfile.read(size)
        if len(chunk) != size or rfile.read(2) != b"\r\n":
            raise ValueError("a chunk shorter than its size, or not followed by CRLF")
        body += chunk
    while rfile.readline(MAX_LINE) not in (b"\r\n", b"\n", b""):
        pass  # trailer fields: none are used
    return bytes(body)


class ChunkedBodies(algorithm.InvocationHandler):
    def do_POST(self):
        if "chunked" not in (self.headers.get("Transfer-Encoding") or "").lower():
            return super().do_POST()
        try:
            body = read_chunked(self.rfile)
        except ValueError as error:
            self.close_connection = True  # the rest of the stream cannot be read as requests
            return self.reject(f"request: malformed chunked body: {error}")
        del self.headers["Transfer-Encoding"]
        self.headers["Content-Length"] = str(len(body))
        connection, self.rfile = self.rfile, io.BytesIO(body)
        try:
            return super().do_POST()
        finally:
            self.rfile = connection


algorithm.InvocationHandler = ChunkedBodies
