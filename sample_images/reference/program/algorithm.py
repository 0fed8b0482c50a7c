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
DATA = OPT_ML / "input" / "data"
TRAINING_CHANNEL = DATA / "training"
VALIDATION_CHANNEL = DATA / "validation"  # optional: when present, validation_mse is reported per epoch
HYPERPARAMETERS = OPT_ML / "input" / "config" / "hyperparameters.json"
INPUT_DATA_CONFIG = OPT_ML / "input" / "config" / "inputdataconfig.json"
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


# The hyperparameters this algorithm declares (byoc-spec.json): name -> (parse, check, default). SageMaker
# passes every value as a string; a value outside its range stops the job and names the hyperparameter.
def _number(kind, low, high):
    def parse(text):
        value = kind(text)
        if not low <= value <= high:
            raise ValueError(f"must be from {low} to {high}")
        return value
    return parse


def _choice(*values):
    def parse(text):
        if text not in values:
            raise ValueError(f"must be one of {', '.join(values)}")
        return text
    return parse


HYPERPARAMETER_TABLE = {
    "epochs": (_number(int, 1, 50), "30"),
    "learning_rate": (_number(float, 0.0001, 0.05), "0.01"),
    "regularization": (_choice("none", "l2"), "none"),
}


def read_hyperparameters():
    given = json.loads(HYPERPARAMETERS.read_text(encoding="utf-8"))
    values = {}
    for name, (parse, default) in HYPERPARAMETER_TABLE.items():
        text = given.get(name, default)
        try:
            values[name] = parse(text)
        except ValueError as error:
            reason = str(error) if str(error).startswith("must") else "is not a number of the declared type"
            raise BadInput(f"hyperparameter {name}={text!r} {reason}") from None
    # Not declared: a test seam that slows training down, so that a stop signal can arrive mid-run.
    values["epoch_pause"] = float(given.get("epoch_pause", "0.1"))
    return values  # other keys (_tuning_objective_metric, sagemaker_*) are not ours and are ignored


def require_channel(name):
    # Channel names come from inputdataconfig.json; a job without the required channel cannot train.
    channels = json.loads(INPUT_DATA_CONFIG.read_text(encoding="utf-8"))
    if name not in channels:
        raise BadInput(f"the required channel {name!r} is missing: the job has {sorted(channels) or 'no channels'}")


def read_rows(channel, columns=None):
    files = sorted(path for path in channel.rglob("*") if path.is_file())
    if not files:
        raise BadInput(f"no data: the {channel.name!r} channel ({channel}) has no files")
    rows = []
    for path in files:
        rows += parse_csv(path.read_text(encoding="utf-8"), columns=columns or (len(rows[0]) if rows else None),
                          where=f"{channel.name}/{path.name}")
    if not rows:
        raise BadInput(f"no data: the files in {channel} hold no rows")
    return rows


def read_training_rows():
    require_channel("training")
    return read_rows(TRAINING_CHANNEL)


def mean_squared_error(weights, bias, rows):
    errors = [sum(w * v for w, v in zip(weights, x)) + bias - label for label, *x in rows]
    return sum(error * error for error in errors) / len(rows)


def report_epoch(epoch, metrics):
    # One line per epoch on stdout, tab-separated as XGBoost prints it: the declared MetricDefinitions' regexes read
    # the values from it, as SageMaker stores the line (a tab as #011).
    print(f"epoch={epoch}\t" + "\t".join(f"{name}={value:.6f};" for name, value in metrics.items()))


def gradient(weights, bias, rows):
    """The squared error's gradient summed over `rows`: (per weight, for the bias, the summed squared error)."""
    total, bias_total, squared_error = [0.0] * len(weights), 0.0, 0.0
    for label, *x in rows:
        error = sum(w * v for w, v in zip(weights, x)) + bias - label
        squared_error += error * error
        bias_total += error
        for i, v in enumerate(x):
            total[i] += error * v
    return total, bias_total, squared_error


def step(weights, bias, total, bias_total, count, learning_rate, regularization):
    """One gradient descent step from a gradient summed over `count` rows."""
    decay = 0.01 if regularization == "l2" else 0.0
    weights = [w - learning_rate * (g / count + decay * w) for w, g in zip(weights, total)]
    return weights, bias - learning_rate * bias_total / count


def starting_point(features):
    """The first epoch and the weights it starts from (a sample that resumes from checkpoints replaces this)."""
    return 1, [0.0] * features, 0.0


def epoch_done(epoch, weights, bias):
    """Called after each epoch (a sample that writes checkpoints replaces this)."""


def fit(rows, epochs, learning_rate, epoch_pause, regularization="none", validation_rows=None):
    features = len(rows[0]) - 1
    first, weights, bias = starting_point(features)
    for epoch in range(first, epochs + 1):
        if stop_requested.is_set():
            print(f"SIGTERM received: stopping after {epoch - 1} epochs and saving the model so far")
            break
        total, bias_total, squared_error = gradient(weights, bias, rows)
        weights, bias = step(weights, bias, total, bias_total, len(rows), learning_rate, regularization)
        metrics = {"train_mse": squared_error / len(rows)}
        if validation_rows:
            metrics["validation_mse"] = mean_squared_error(weights, bias, validation_rows)
        report_epoch(epoch, metrics)
        epoch_done(epoch, weights, bias)
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
        hyperparameters = read_hyperparameters()
        rows = read_training_rows()
        validation_rows = read_rows(VALIDATION_CHANNEL, len(rows[0])) if VALIDATION_CHANNEL.is_dir() else None
        model = fit(rows, validation_rows=validation_rows, **hyperparameters)
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


def read_json(text, features):
    # {"instances": [[x1, ..., xn], ...]}, the shape SageMaker's built-in algorithms take.
    try:
        instances = json.loads(text)["instances"]
        rows = [[float(v) for v in row] for row in instances]
    except (ValueError, TypeError, KeyError) as error:
        raise BadInput(f"request: expected {{\"instances\": [[numbers], ...]}}: {error}") from None
    if any(len(row) != features for row in rows):
        raise BadInput(f"request: every instance needs {features} numbers")
    return rows


READERS = {"text/csv": lambda text, features: parse_csv(text, columns=features, where="request"),
           "application/json": read_json}
WRITERS = {"text/csv": lambda predictions: "".join(f"{p:.6g}\n" for p in predictions).encode(),
           "application/json": lambda predictions: json.dumps({"predictions": predictions}).encode()}


def negotiate(accept):
    """The answer type for an Accept header: the first listed type this server writes (CSV for wildcards)."""
    for kind in (part.split(";")[0].strip().lower() for part in accept.split(",")):
        if kind in WRITERS:
            return kind
        if kind in ("*/*", "text/*"):
            return "text/csv"
        if kind == "application/*":
            return "application/json"
    return None


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
        if content_type not in READERS:
            kinds = " or ".join(READERS)
            return self.respond(415, f"unsupported Content-Type {content_type!r}: send {kinds}\n".encode())
        answer_type = negotiate(self.headers.get("Accept") or "*/*")
        if answer_type is None:
            kinds = " or ".join(WRITERS)
            return self.respond(406, f"cannot answer in {self.headers['Accept']!r}: {kinds} only\n".encode())
        try:
            rows = READERS[content_type](body.decode("utf-8"), self.model["features"])
            if not rows:
                raise BadInput("request: no rows")
        except (UnicodeDecodeError, BadInput) as error:
            return self.reject(error)
        predictions = predict(self.model, rows)
        self.respond(200, WRITERS[answer_type](predictions), answer_type)

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


class Server(ThreadingHTTPServer):
    # SageMaker sends requests at once; with socketserver's default backlog of 5, connections beyond it are reset
    # while the machine is busy.
    request_queue_size = 128


def serve_main():
    try:
        InvocationHandler.model = load_model()
    except (OSError, ValueError) as error:
        print(f"no usable model in {MODEL_DIR}: {error}; /ping answers 404", file=sys.stderr)
    port = serving_port()
    server = Server((BIND_ADDRESS, port), InvocationHandler)
    install_shutdown_handler(server)
    print(f"serving on {BIND_ADDRESS}:{port}", file=sys.stderr)
    server.serve_forever()
    return 0

