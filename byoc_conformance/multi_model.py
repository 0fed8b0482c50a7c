"""Multi-model endpoints: the `/models` API driven as SageMaker drives it, on a server started with
SAGEMAKER_MULTI_MODEL=true and a model store at /opt/ml/models. The runner records every exchange and the
container's memory along the way; checks/multi_model.py judges them."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from urllib.parse import quote

import requests

from .engine import memory_in_use
from .hosting import MODEL_STORE, MOUNT_POINTS, Endpoint, Hosting, Server
from .outcome import Unclaimed
from .payloads import Payload
from .plan import planned_for
from .verdicts import Request

LABEL = "com.amazonaws.sagemaker.capabilities.multi-models"
MAX_PAGES = 20  # a listing of three models that takes more pages than this never ends
SETTLE = 1.0  # seconds given to the memory reading to catch up with an unload before it is taken as final
NEVER_LOADED = "never-loaded"
MODELS = MOUNT_POINTS[MODEL_STORE]


@dataclass
class Outcome:
    """One request of the session and what came back: a status and body, or why there was no answer."""

    request: Request
    status: int | None = None
    body: bytes = b""
    error: str | None = None

    @property
    def shown(self) -> str:
        if self.status is None:
            return f"no answer ({self.error})"
        text = self.body[:200].decode("utf-8", "replace").strip()
        return f"HTTP {self.status}" + (f" {text!r}" if text else "")

    def json(self) -> object:
        try:
            return json.loads(self.body)
        except ValueError:
            return None


@dataclass
class Session:
    """What a multi-model server did with one scripted session (see run_session)."""

    server: Server
    urls: dict[str, str]  # model name -> the url it was loaded from
    outcomes: dict[str, Outcome] = field(default_factory=dict)  # by step
    pages: list[Outcome] = field(default_factory=list)  # GET /models, following nextPageToken
    memory: dict[str, int | None] = field(default_factory=dict)  # bytes: "before", "loaded", "unloaded"
    distinct_models: bool = False  # the store holds two models trained on different data


def claims_multi_model(hosting: Hosting) -> bool:
    return hosting.image_labels.get(LABEL) == "true"


def endpoint(role: str) -> Endpoint:
    """A server as a multi-model endpoint starts it."""
    return Endpoint(role, environment={"SAGEMAKER_MULTI_MODEL": "true"}, model=MODEL_STORE)


def model_url(stored: str) -> str:
    """Where a model of the store is, as SageMaker names it in a load request."""
    return f"{MODELS}/{stored}/model"


def request(step: str, method: str, path: str, body: bytes = b"", headers: dict[str, str] | None = None) -> Request:
    return Request(f"mme-{step}.payload", method, path, body, headers or {})


def load_request(step: str, name: str, url: str) -> Request:
    return request(step, "POST", "/models", json.dumps({"model_name": name, "url": url}).encode(),
                   {"Content-Type": "application/json"})


def invoke_request(step: str, model: str, payload: Payload, accept: str = "text/csv") -> Request:
    """POST /models/<model>/invoke as SageMaker sends it: the caller's TargetModel and custom attributes forwarded."""
    headers = {"Content-Type": payload.content_type, "Accept": accept,
               "X-Amzn-SageMaker-Target-Model": f"{model}.tar.gz", "X-Amzn-SageMaker-Custom-Attributes": "trace=1"}
    return request(step, "POST", f"/models/{quote(model, safe='')}/invoke", payload.body, headers)


def send(server: Server, sent: Request) -> Outcome:
    try:
        response = server.send(sent)
    except requests.RequestException as error:
        return Outcome(sent, error=f"{type(error).__name__}: {error}")
    return Outcome(sent, response.status_code, response.content)


@planned_for
def run_session(hosting: Hosting) -> Session:
    """Loads models by name as SageMaker does, lists, describes, invokes and unloads them, reading the container's
    memory before loading, with the models loaded, and once they are unloaded."""
    if not claims_multi_model(hosting):
        raise Unclaimed(f"the image does not carry the label {LABEL}=true")
    payload = hosting.valid_payload()  # CSV, or the declared sample
    with hosting.fresh(endpoint("serve-multi-model")) as server:
        server.require_healthy()
        _, _, stored = hosting.model_store
        url = {name: model_url(name) for name in stored}
        # beta is the other model when there is one; alpha and gamma are the same model under two names.
        session = Session(server, {"beta": url.get("b", url["a"]), "alpha": url["a"], "gamma": url["a"]},
                          distinct_models="b" in url)

        def step(name: str, sent: Request) -> Outcome:
            session.outcomes[name] = outcome = send(server, sent)
            return outcome

        def invoke(name: str, model: str) -> Outcome:
            return step(name, invoke_request(name, model, payload, hosting.traffic.accept))

        session.memory["before"] = memory_in_use(server.container)
        step("load", load_request("load", "beta", session.urls["beta"]))
        invoke("invoke-alone", "beta")  # the only model loaded: its own answer, whatever the routing
        step("load-alpha", load_request("load-alpha", "alpha", session.urls["alpha"]))
        step("load-again", load_request("load-again", "alpha", session.urls["alpha"]))
        step("load-gamma", load_request("load-gamma", "gamma", session.urls["gamma"]))
        session.pages = list_all(server)
        step("describe", request("describe", "GET", "/models/alpha"))
        step("describe-unloaded", request("describe-unloaded", "GET", f"/models/{NEVER_LOADED}"))
        for model in ("alpha", "beta", "gamma"):
            invoke(f"invoke-{model}", model)
        invoke("invoke-unloaded", NEVER_LOADED)
        session.memory["loaded"] = memory_in_use(server.container)
        for model in ("alpha", "beta", "gamma"):
            step(f"unload-{model}", request(f"unload-{model}", "DELETE", f"/models/{model}"))
        session.memory["unloaded"] = _after_release(server, session.memory["loaded"])
        step("unload-again", request("unload-again", "DELETE", "/models/alpha"))
        step("describe-after-unload", request("describe-after-unload", "GET", "/models/alpha"))
        invoke("invoke-after-unload", "alpha")
        return session


def _after_release(server: Server, loaded: int | None) -> int | None:
    """The memory in use once unloading returned: read at once, and again after SETTLE seconds if it had not
    dropped by a quarter of what the models took (the engine's reading can lag the release)."""
    reading = memory_in_use(server.container)
    if reading is not None and loaded is not None and reading > 0.75 * loaded:
        time.sleep(SETTLE)
        later = memory_in_use(server.container)
        reading = min(reading, later) if later is not None else reading
    return reading


def list_all(server: Server) -> list[Outcome]:
    """GET /models, then again with each nextPageToken, until a page has none, a page is not a listing, or
    MAX_PAGES were read."""
    pages: list[Outcome] = []
    path = "/models"
    while len(pages) < MAX_PAGES:
        page = send(server, request(f"list-{len(pages) + 1}", "GET", path))
        pages.append(page)
        listing = page.json()
        token = listing.get("nextPageToken") if isinstance(listing, dict) and page.status == 200 else None
        if not token:
            break
        path = f"/models?next_page_token={quote(str(token), safe='')}"
    return pages
