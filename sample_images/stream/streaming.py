"""Response streaming for the reference model (SageMaker's InvokeEndpointWithResponseStream), standard library only.

A successful POST /invocations is answered 200 with Transfer-Encoding: chunked (no Content-Length), in the type
the reference negotiates, one chunk per output record, each sent as soon as the model has produced it:

    text/csv          one line per chunk: b"<prediction>\\n" (the reference's lines)
    application/json  the reference's {"predictions": [...]}, byte for byte, cut before each prediction after the
                      first: '{"predictions": [p1', ', p2', ..., ', pn]}'. Together the chunks are one JSON
                      document, as the reference answers, not JSON lines.

then the last, zero-length chunk; the connection stays open for the next request. Everything else is the
reference's: its do_POST runs unchanged (reading, 404, 415, 406 and 400 with Content-Length, prediction) and hands
its answer to respond, which streams it; /ping, /execution-parameters, address, port, SIGTERM, backlog and threads
are untouched. A client that speaks HTTP/1.0 (no chunked encoding) gets the whole answer with a Content-Length.

The model produces one record every RECORD_INTERVAL (20 ms), as a generative model emits tokens, for the first
PACED_RECORDS records of an answer; the rest come at once (still a chunk each), so that a large request (the 6 MiB
one SageMaker accepts is some 200,000 records, 4,000 s at that pace) is still answered well within SageMaker's 60 s.

The broken samples replace one method of StreamingHandler."""

import json
import time

import algorithm

RECORD_INTERVAL = 0.02  # seconds between two records, as a generative model emits tokens
PACED_RECORDS = 50  # records produced at that pace (under 1 s); the rest of a large answer comes at once
LAST_CHUNK = b"0\r\n\r\n"


class Records:
    """An answer to stream: its pieces of bytes, one per output record, produced as they are iterated."""

    def __init__(self, pieces):
        self.pieces = pieces

    def __iter__(self):
        for number, piece in enumerate(self.pieces):
            if 0 < number < PACED_RECORDS:
                time.sleep(RECORD_INTERVAL)  # the model produces one record every 20 ms
            yield piece


def csv_pieces(predictions):
    return [f"{p:.6g}\n".encode() for p in predictions]


def json_pieces(predictions):
    values = [json.dumps(p) for p in predictions]
    if not values:
        return [b'{"predictions": []}']
    pieces = ['{"predictions": [' + values[0]] + [", " + value for value in values[1:]]
    pieces[-1] += "]}"
    return [piece.encode() for piece in pieces]


# The reference's answer types, in its order (negotiate and the 406 message read the keys), streamed.
WRITERS = {"text/csv": lambda predictions: Records(csv_pieces(predictions)),
           "application/json": lambda predictions: Records(json_pieces(predictions))}


def chunk(piece):
    """One piece in chunked transfer encoding: its size in hex, the bytes, CRLF."""
    return b"%X\r\n%s\r\n" % (len(piece), piece)


class StreamingHandler(algorithm.InvocationHandler):
    def respond(self, status, body=b"", content_type="text/plain"):
        if not isinstance(body, Records):
            return super().respond(status, body, content_type)  # errors, /ping: the reference's
        if self.request_version != "HTTP/1.1":
            return super().respond(status, b"".join(body), content_type)  # HTTP/1.0 has no chunked encoding
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()  # the headers leave now, before the first record
        try:
            self.stream(body)
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True  # the caller went away: stop producing, quietly

    def stream(self, records):
        """Each record's chunk as it is produced (one write each: TCP_NODELAY sends it at once), then the last."""
        for piece in records:
            self.wfile.write(chunk(piece))
        self.wfile.write(LAST_CHUNK)


def main():
    algorithm.WRITERS = WRITERS
    algorithm.InvocationHandler = StreamingHandler
    return algorithm.serve_main()

