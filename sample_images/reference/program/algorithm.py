"""Reference algorithm for byoc-conformance: linear regression on label-first CSV, standard library only.

`train` fits the model by gradient descent and writes /opt/ml/model/model.json; `serve` answers /ping and
/invocations on port 8080. The broken sample images import this module and replace one piece of it."""

import json
import os
import signal
import sys
import threading
import traceback
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

OPT_ML = Path("/opt/ml")
TRAINING_CHANNEL = OPT_ML / "input" / "data" / "training"
HYPERPARAMETERS = OPT_ML / "input" / "config" / "hyperparameters.json"
MODEL_DIR = OPT_ML / "model"
FAILURE_FILE = OPT_ML / "output" / "failure"
FAILURE_EXIT_CODE = 1


class BadInput(Exception):
    """Input the algorithm cannot use; its message is what the user needs to fix it."""


def parse_csv(text, columns=None, where="input"):
    """Rows of floats from CSV text; every row must have `columns` fields (or as many as the first row)."""
    rows = []
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        try:
            row = [float(field) for field in line.split(",")]
        except ValueError:
            raise BadInput(f"{where}, line {number}: a field is not a number: {line[:100]!r}") from None
        columns = columns or len(row)
        if len(row) != columns:
            raise BadInput(f"{where}, line {number}: {len(row)} columns where {columns} were expected")
        rows.append(row)
    return rows


# --- training -------------------------------------------------------------------------------------------

stop_requested = threading.Event()


def install_stop_handler():
    # SageMaker stops a job with SIGTERM and kills it 120 s later: stop early and keep what was learned.
    signal.signal(signal.SIGTERM, lambda signum, frame: stop_requested.set())


def read_training_rows():
    files = sorted(path for path in TRAINING_CHANNEL.rglob("*") if path.is_file())
    if not files:
        raise BadInput(f"no training data: the 'training' channel ({TRAINING_CHANNEL}) has no files")
    rows = []
    for path in files:
        rows += parse_csv(path.read_text(encoding="utf-8"), columns=len(rows[0]) if rows else None, where=path.name)
    if not rows:
        raise BadInput(f"no training data: the files in {TRAINING_CHANNEL} hold no rows")
    return rows


def fit(rows, epochs, learning_rate, epoch_pause):
    features = len(rows[0]) - 1
    weights, bias = [0.0] * features, 0.0
    for epoch in range(1, epochs + 1):
        if stop_requested.is_set():
            print(f"SIGTERM received: stopping after {epoch - 1} epochs and saving the model so far")
            break
        gradient, bias_gradient, squared_error = [0.0] * features, 0.0, 0.0
        for label, *x in rows:
            error = sum(w * v for w, v in zip(weights, x)) + bias - label
            squared_error += error * error
            bias_gradient += error
            for i, v in enumerate(x):
                gradient[i] += error * v
        weights = [w - learning_rate * g / len(rows) for w, g in zip(weights, gradient)]
        bias -= learning_rate * bias_gradient / len(rows)
        print(f"epoch={epoch} train_mse={squared_error / len(rows):.6f};")
        # The data set is tiny; the pause makes a run last a few seconds, as real training does, so that
        # a stop signal can arrive while training is under way.
        stop_requested.wait(epoch_pause)
    return {"features": features, "weights": weights, "bias": bias}


def save_model(model, model_dir):
    (model_dir / "model.json").write_text(json.dumps(model), encoding="utf-8")


def write_failure(message):
    # The first 1024 characters become the job's FailureReason: the cause goes first, details after.
    FAILURE_FILE.write_text(message, encoding="utf-8")


def train_main():
    install_stop_handler()
    try:
        hyperparameters = json.loads(HYPERPARAMETERS.read_text(encoding="utf-8"))
        model = fit(
            read_training_rows(),
            epochs=int(hyperparameters.get("epochs", "30")),
            learning_rate=float(hyperparameters.get("learning_rate", "0.01")),
            epoch_pause=float(hyperparameters.get("epoch_pause", "0.1")),
        )
        save_model(model, MODEL_DIR)
        print("training complete: model saved to", MODEL_DIR / "model.json")
        return 0
    except Exception as error:
        print(f"training failed: {error}", file=sys.stderr)
        write_failure(f"{error}\n\n{traceback.format_exc()}")
        return FAILURE_EXIT_CODE


# --- hosting --------------------------------------------------------------------------------------------

def load_model():
    return json.loads((MODEL_DIR / "model.json").read_text(encoding="utf-8"))


def predict(model, rows):
    return [sum(w * v for w, v in zip(model["weights"], row)) + model["bias"] for row in rows]


def execution_parameters():
    # Batch transform: what this container prefers when the job does not say (at most 100 MB in flight).
    return json.dumps({"MaxConcurrentTransforms": 2, "BatchStrategy": "MULTI_RECORD", "MaxPayloadInMB": 6}).encode()


class InvocationHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as SageMaker's front end uses it
    # Headers and body go out in two writes: without TCP_NODELAY the body waits ~40 ms for a delayed ACK.
    disable_nagle_algorithm = True
    model = None

    def do_GET(self):
        if self.path == "/ping":
            self.respond(200 if self.model else 404)
        elif self.path == "/execution-parameters":
            self.respond(200, execution_parameters(), "application/json")
        else:
            self.respond(404, b"not found\n")

    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        if self.path != "/invocations":
            return self.respond(404, b"not found\n")
        content_type = (self.headers.get("Content-Type") or "").split(";")[0].strip().lower()
        if content_type != "text/csv":
            return self.respond(415, f"unsupported Content-Type {content_type!r}: send text/csv\n".encode())
        accept = (self.headers.get("Accept") or "*/*").lower()
        if not any(kind in accept for kind in ("text/csv", "text/*", "*/*")):
            return self.respond(406, f"cannot answer in {accept!r}: text/csv only\n".encode())
        try:
            rows = parse_csv(body.decode("utf-8"), columns=self.model["features"], where="request")
            if not rows:
                raise BadInput("request: no rows")
        except (UnicodeDecodeError, BadInput) as error:
            return self.reject(error)
        predictions = predict(self.model, rows)
        self.respond(200, "".join(f"{p:.6g}\n" for p in predictions).encode(), "text/csv")

    def reject(self, error):
        self.respond(400, f"{error}\n".encode())

    def respond(self, status, body=b"", content_type="text/plain"):
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format, *args):
        print(f"{self.address_string()} {format % args}", file=sys.stderr)


BIND_ADDRESS = "0.0.0.0"  # every interface: SageMaker reaches the container over its network


def serving_port():
    # 8080, unless SageMaker names another port (serial inference pipelines, multi-container endpoints).
    return int(os.environ.get("SAGEMAKER_BIND_TO_PORT", "8080"))


def install_shutdown_handler(server):
    # SageMaker sends SIGTERM and kills the container 30 s later: stop accepting and exit.
    signal.signal(signal.SIGTERM, lambda signum, frame: threading.Thread(target=server.shutdown).start())


def serve_main():
    try:
        InvocationHandler.model = load_model()
    except (OSError, ValueError) as error:
        print(f"no usable model in {MODEL_DIR}: {error}; /ping answers 404", file=sys.stderr)
    port = serving_port()
    server = ThreadingHTTPServer((BIND_ADDRESS, port), InvocationHandler)
    install_shutdown_handler(server)
    print(f"serving on {BIND_ADDRESS}:{port}", file=sys.stderr)
    server.serve_forever()
    return 0

