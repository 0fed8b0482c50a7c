"""Serving: gunicorn (`serve`) with a WSGI app around sagemaker-inference's Transformer.

Replaces the toolkit's own model_server.py, which starts Multi Model Server (Java). The user's module is
SAGEMAKER_PROGRAM in SAGEMAKER_SUBMIT_DIRECTORY (default /opt/ml/model/code, where the SDK's
model.tar.gz puts the source), with its model_fn / input_fn / predict_fn / output_fn, as in AWS's image.
"""
import json
import logging
import os
import sys

from sagemaker_inference import content_types, environment as inference_environment

from byoc_sklearn_framework import handler
from byoc_sklearn_framework.cli import workers

logging.basicConfig(stream=sys.stdout, level=logging.INFO,
                    format="%(asctime)s %(levelname)s %(process)d %(name)s: %(message)s")
logger = logging.getLogger("byoc_sklearn_framework.serving")

MODEL_DIR = inference_environment.model_dir  # /opt/ml/model
SUBMIT_DIR = os.environ.get("SAGEMAKER_SUBMIT_DIRECTORY", os.path.join(MODEL_DIR, "code"))
MAX_PAYLOAD_MB = 6
MAX_BODY = MAX_PAYLOAD_MB * 1024 * 1024


EXECUTION_PARAMETERS = {"MaxConcurrentTransforms": workers(), "BatchStrategy": "MULTI_RECORD",
                        "MaxPayloadInMB": MAX_PAYLOAD_MB}


class _RequestProcessor:
    """What the Transformer reads of a request (MMS's RequestProcessor)."""

    def __init__(self, headers):
        self._headers = headers

    def get_request_properties(self):
        return self._headers


class Context:
    """The MMS-style context the Transformer expects: the model dir, the request's headers, and setters
    for the response's status and content type."""

    def __init__(self, headers=None):
        self.system_properties = {"model_dir": MODEL_DIR}
        self.request_processor = [_RequestProcessor(headers or {})]
        self.status, self.phrase, self.content_type = 200, "OK", None

    def set_response_status(self, code=200, phrase=""):
        self.status, self.phrase = int(code), phrase

    def set_response_content_type(self, idx, value):  # pylint: disable=unused-argument
        self.content_type = value


def load():
    """Import the user's module and load the model, once per worker, before it serves."""
    if os.path.isdir(SUBMIT_DIR) and SUBMIT_DIR not in sys.path:
        sys.path.insert(0, SUBMIT_DIR)
    transformer = handler.SKLearnTransformer(default_inference_handler=handler.SKLearnInferenceHandler())
    transformer.validate_and_initialize(model_dir=MODEL_DIR, context=Context())
    logger.info("model loaded from %s (user module %s in %s)", MODEL_DIR,
                os.environ.get("SAGEMAKER_PROGRAM", "inference.py"), SUBMIT_DIR)
    return transformer


TRANSFORMER = load()


def _reply(start_response, status, body=b"", content_type="text/plain"):
    if isinstance(body, str):
        body = body.encode("utf-8")
    reasons = {200: "OK", 400: "Bad Request", 404: "Not Found", 405: "Method Not Allowed",
               406: "Not Acceptable", 413: "Payload Too Large", 415: "Unsupported Media Type",
               500: "Internal Server Error"}
    headers = [("Content-Length", str(len(body)))]
    if body or status != 200:
        headers.append(("Content-Type", content_type))
    start_response("%d %s" % (status, reasons.get(status, "Status")), headers)
    return [body]


def _read_body(environ):
    """The request body, or None when it is over the limit."""
    stream = environ["wsgi.input"]
    length = environ.get("CONTENT_LENGTH")
    if length:
        length = int(length)
        if length > MAX_BODY:
            return None
        return stream.read(length)
    body = stream.read(MAX_BODY + 1)  # chunked: read no more than the limit
    return None if len(body) > MAX_BODY else body


def invocations(environ, start_response):
    body = _read_body(environ)
    if body is None:
        return _reply(start_response, 413, "the body is over %d MiB\n" % MAX_PAYLOAD_MB)
    content_type = handler.media_type(environ.get("CONTENT_TYPE"))
    accept = environ.get("HTTP_ACCEPT", "").strip()
    if not accept or handler.media_type(accept) == content_types.ANY and "," not in accept:
        # No preference: answer in the request's type when the defaults can write it.
        accept = content_type if content_type in handler.OUTPUT_TYPES else ""
    if content_type in content_types.UTF8_TYPES:
        try:
            body.decode("utf-8")
        except UnicodeDecodeError:
            return _reply(start_response, 400, "the body is not UTF-8\n")
    context = Context({"Content-Type": content_type, "Accept": accept.lower() or None})
    result = TRANSFORMER.transform([{"body": body}], context)
    answer = result[0] if result else b""
    if context.status >= 400:
        # The toolkit's error answer is "message\ntraceback": the client gets the message, the log both.
        logger.warning("/invocations %s: %s", context.status, str(answer).strip())
        return _reply(start_response, context.status, str(answer).split("\nTraceback", 1)[0].strip() + "\n")
    return _reply(start_response, context.status, answer, context.content_type or "application/octet-stream")


def app(environ, start_response):
    path, method = environ.get("PATH_INFO", ""), environ.get("REQUEST_METHOD", "GET")
    routes = {"/ping": ("GET",), "/invocations": ("POST",), "/execution-parameters": ("GET",)}
    if path not in routes:
        return _reply(start_response, 404, "no such path\n")
    if method not in routes[path]:
        return _reply(start_response, 405, "method not allowed\n")
    if path == "/ping":
        return _reply(start_response, 200)
    if path == "/execution-parameters":
        return _reply(start_response, 200, json.dumps(EXECUTION_PARAMETERS), "application/json")
    try:
        return invocations(environ, start_response)
    except Exception:  # pylint: disable=broad-except
        logger.exception("/invocations failed")
        return _reply(start_response, 500, "internal error\n")
