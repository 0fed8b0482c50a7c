"""Multi-model serving for the reference model, standard library only: SageMaker's multi-model API on port 8080.

    GET    /ping                  200, empty
    POST   /models                {"model_name", "url"}: load the model in directory `url`; 409 if loaded, 404 if none
    GET    /models                {"models": [{"modelName", "modelUrl"}, ...]} by name, PAGE_SIZE at a time, with
                                  "nextPageToken" while more remain (sent back as ?next_page_token=)
    GET    /models/<name>         {"modelName", "modelUrl"}, or 404
    DELETE /models/<name>         unload it, releasing its memory before answering, or 404
    POST   /models/<name>/invoke  the reference's /invocations with that model, or 404

The broken samples replace one method of Registry or Handler."""

import base64
import binascii
import gc
import json
import os
import sys
import threading
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlsplit

import algorithm

PAGE_SIZE = 2  # small, so that a listing of a few models already takes several pages
WEIGHTS_BYTES = 32 * 1024 * 1024
MEMORY_PAGE = 4096


def load_model_from(directory):
    """The model the reference's train wrote into `directory` (as algorithm.load_model reads /opt/ml/model).
    OSError when there is no such file, ValueError when it is not a model."""
    model = json.loads((Path(directory) / "model.json").read_text(encoding="utf-8"))
    if not (isinstance(model, dict) and isinstance(model.get("weights"), list) and "bias" in model
            and model.get("features") == len(model["weights"])):
        raise ValueError(f"{directory}/model.json is not a model written by train")
    return model


class LoadedModel:
    def __init__(self, name, url, model):
        self.name, self.url, self.model = name, url, model
        # The linear regression is a few bytes; this buffer stands for a real model's weights, so that loading a
        # model costs memory and unloading it has memory to give back. Every page is written, so it is resident
        # (not merely reserved) memory.
        self.weights = bytearray(WEIGHTS_BYTES)
        self.weights[::MEMORY_PAGE] = b"\x01" * (WEIGHTS_BYTES // MEMORY_PAGE)

    def description(self):
        return {"modelName": self.name, "modelUrl": self.url}


class AlreadyLoaded(Exception):
    pass


def page_token(last_name):
    """An opaque token for the page after the one ending with `last_name`."""
    return base64.urlsafe_b64encode(last_name.encode("utf-8")).decode("ascii").rstrip("=")


def name_from_token(token):
    """The last name of the previous page; ValueError for a token this server did not write."""
    try:
        return base64.b64decode(token + "=" * (-len(token) % 4), altchars=b"-_", validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        raise ValueError(f"not a page token: {token[:100]!r}") from None


class Registry:
    """The loaded models by name. Requests run on threads of their own, so the table is only touched under a lock."""

    def __init__(self):
        self.lock = threading.Lock()
        self.models = {}  # name -> LoadedModel, in the order they were loaded

    def load(self, name, url):
        """The newly loaded model. AlreadyLoaded if `name` is loaded; OSError or ValueError if `url` holds none."""
        with self.lock:
            if name in self.models:
                raise AlreadyLoaded(name)
        loaded = LoadedModel(name, url, load_model_from(url))  # outside the lock: other requests go on meanwhile
        with self.lock:
            if name in self.models:  # loaded by a request that ran at the same time
                raise AlreadyLoaded(name)
            self.models[name] = loaded
        return loaded

    def get(self, name):
        with self.lock:
            return self.models.get(name)

    def latest(self):
        with self.lock:
            return next(reversed(self.models.values()), None)

    def page(self, token=None):
        """(up to PAGE_SIZE models by name, the token for the next page or None). ValueError for a bad token."""
        after = name_from_token(token) if token is not None else None
        with self.lock:
            names = sorted(name for name in self.models if after is None or name > after)
            models = [self.models[name] for name in names[:PAGE_SIZE]]
        return models, (page_token(names[PAGE_SIZE - 1]) if len(names) > PAGE_SIZE else None)

    def unload(self, name):
        """False if `name` is not loaded; otherwise forgets it and releases its memory before returning True."""
        with self.lock:
            loaded = self.models.pop(name, None)
        if loaded is None:
            return False
        self.release(loaded)
        return True

    def release(self, loaded):
        # SageMaker unloads a model to make room for another: the memory must be free by the time it is told the
        # model is gone. A request still predicting with it holds only loaded.model, so drop the weights now.
        loaded.weights = None
        gc.collect()


class Handler(algorithm.InvocationHandler):
    registry = None  # set by serve_main

    def route(self):
        """The path's segments, unquoted ('/models/a/invoke' -> ['models', 'a', 'invoke']), and the query."""
        url = urlsplit(self.path)
        return [unquote(part) for part in url.path.split("/")[1:]], parse_qs(url.query)

    def read_body(self):
        return self.rfile.read(int(self.headers.get("Content-Length") or 0))

    def respond_json(self, status, value):
        self.respond(status, json.dumps(value).encode(), "application/json")

    def not_found(self, what="not found"):
        self.respond(404, f"{what}\n".encode())

    def do_GET(self):
        parts, query = self.route()
        if parts == ["ping"]:
            self.respond(200)
        elif parts == ["models"]:
            self.list_models(query.get("next_page_token", [None])[0])
        elif len(parts) == 2 and parts[0] == "models":
            self.describe(parts[1])
        else:
            self.not_found()

    def do_POST(self):
        parts, _ = self.route()
        if len(parts) == 3 and parts[0] == "models" and parts[2] == "invoke":
            return self.invoke_route(parts[1])
        body = self.read_body()
        if parts == ["models"]:
            self.load(body)
        else:
            self.not_found()

    def do_DELETE(self):
        parts, _ = self.route()
        self.read_body()
        if len(parts) == 2 and parts[0] == "models":
            self.unload(parts[1])
        else:
            self.not_found()

    def load(self, body):
        try:
            request = json.loads(body)
            name, url = request["model_name"], request["url"]
            if not (isinstance(name, str) and name and isinstance(url, str) and url):
                raise TypeError("model_name and url must be non-empty strings")
        except (ValueError, TypeError, KeyError) as error:
            return self.respond(400, f'expected {{"model_name": "<name>", "url": "<directory>"}}: {error}\n'.encode())
        try:
            loaded = self.registry.load(name, url)
        except AlreadyLoaded:
            return self.respond(409, f"model {name!r} is already loaded\n".encode())
        except (OSError, ValueError) as error:
            return self.not_found(f"no model to load in {url!r}: {error}")
        self.respond_json(200, {"status": "loaded", **loaded.description()})

    def list_models(self, token):
        try:
            models, next_token = self.registry.page(token)
        except ValueError as error:
            return self.respond(400, f"{error}\n".encode())
        listing = {"models": [loaded.description() for loaded in models]}
        if next_token is not None:
            listing["nextPageToken"] = next_token
        self.respond_json(200, listing)

    def describe(self, name):
        loaded = self.registry.get(name)
        if loaded is None:
            return self.not_found(f"model {name!r} is not loaded")
        self.respond_json(200, loaded.description())

    def unload(self, name):
        if not self.registry.unload(name):
            return self.not_found(f"model {name!r} is not loaded")
        self.respond_json(200, {"status": "unloaded", "modelName": name})

    def invoke_route(self, name):
        target = self.headers.get("X-Amzn-SageMaker-Target-Model")
        if target is not None:
            # The caller's TargetModel, for logs only: the model to use is the one in the path.
            self.log_message("target model %s", target)
        loaded = self.registry.get(name)
        if loaded is None:
            self.read_body()
            return self.not_found(f"model {name!r} is not loaded")
        self.invoke(loaded)

    def invoke(self, loaded):
        # The reference's /invocations with this model: it reads the body, parses it, negotiates the answer type and
        # answers 400, 415 or 406 exactly as in single-model serving. Its do_POST routes on the path, so the path is
        # renamed for it (the log line shows the request line, which keeps the real path).
        self.model = loaded.model
        self.path = "/invocations"
        algorithm.InvocationHandler.do_POST(self)


class Server(algorithm.Server):
    request_queue_size = 128  # as the reference: SageMaker sends requests at once


def serve_main():
    Handler.registry = Registry()
    port = algorithm.serving_port()
    server = Server((algorithm.BIND_ADDRESS, port), Handler)
    algorithm.install_shutdown_handler(server)
    print(f"serving multiple models on {algorithm.BIND_ADDRESS}:{port}", file=sys.stderr)
    server.serve_forever()
    return 0


def main():
    # SageMaker sets SAGEMAKER_MULTI_MODEL=true on a multi-model endpoint; anywhere else this is the reference.
    if os.environ.get("SAGEMAKER_MULTI_MODEL", "").lower() == "true":
        return serve_main()
    return algorithm.serve_main()
