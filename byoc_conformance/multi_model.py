"""Multi-model endpoints: the `/models` API driven as SageMaker drives it, on a server started with
SAGEMAKER_MULTI_MODEL=true and a model store at /opt/ml/models. Two runs, each on a server of its own: a scripted
session (run_session), which records every exchange and the container's memory along the way (Session), and
sequences of load, list, describe, invoke and unload that hypothesis generates (explore_sequences), each replayed
against the state it should leave; the first sequence whose answers differ from that state is shrunk to the smallest
that still does, and recorded as a Divergence (Exploration). checks/multi_model.py judges the records."""

from __future__ import annotations

import dataclasses
import itertools
import json
import time
from dataclasses import dataclass, field
from urllib.parse import quote

import hypothesis
import requests
from hypothesis import Phase, given
from hypothesis import strategies as st

from .engine import memory_in_use
from .exchange import MIB
from .hosting import MODEL_STORE, MOUNT_POINTS, Endpoint, Hosting, Server
from .outcome import CouldNotRun, Unclaimed
from .payloads import Payload, hypothesis_settings, raised_by
from .plan import planned_for
from .probing import Sent
from .verdicts import Request

LABEL = "com.amazonaws.sagemaker.capabilities.multi-models"
MAX_PAGES = 20  # a listing of three models that takes more pages than this never ends
SETTLE = 1.0  # seconds given to the memory reading to catch up with an unload before it is taken as final
NEVER_LOADED = "never-loaded"
MODELS = MOUNT_POINTS[MODEL_STORE]
MEASURABLE = 8 * MIB  # loading three models that took less than this leaves nothing to see released
RELEASED = 0.5  # an unload must give back at least this share of what loading took
SEQUENCES = 100  # generated sequences at most (fewer with --byoc-examples below it)
STEPS = 10  # actions per sequence at most
NAMES = ("x", "y", "z")  # the model names a sequence uses (prefixed per sequence, so sequences do not meet)
# Loads three times as likely as the rest: most states worth checking have several models loaded.
ACTIONS = ("load", "invoke", "load", "unload", "load", "describe", "list")


# Each request of a session or sequence is recorded as a probing.Sent; these read it as the MME checks do.


def shown(sent: Sent) -> str:
    """"HTTP <status> '<the body's start>'", or "no answer (<why>)"."""
    if sent.status is None:
        return f"no answer ({sent.error})"
    text = sent.body[:200].decode("utf-8", "replace").strip()
    return f"HTTP {sent.status}" + (f" {text!r}" if text else "")


def succeeded(sent: Sent) -> bool:
    """A 2xx answer."""
    return sent.status is not None and 200 <= sent.status < 300


def parsed(sent: Sent) -> object:
    """The answer's body as JSON; None without an answer or when it is not JSON."""
    try:
        return json.loads(sent.body)
    except ValueError:
        return None


@dataclass
class Session:
    """What a multi-model server did with one scripted session (see run_session)."""

    server: Server
    urls: dict[str, str]  # model name -> the url it was loaded from
    outcomes: dict[str, Sent] = field(default_factory=dict)  # by step
    pages: list[Sent] = field(default_factory=list)  # GET /models, following nextPageToken
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


def send(server: Server, request: Request) -> Sent:
    """`request` sent to `server` and its answer, or the error's type and words."""
    try:
        return Sent(request, response=server.send(request))
    except requests.RequestException as error:
        return Sent(request, error=f"{type(error).__name__}: {error}")


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

        def step(name: str, sent: Request) -> Sent:
            session.outcomes[name] = outcome = send(server, sent)
            return outcome

        def invoke(name: str, model: str) -> Sent:
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


def list_all(server: Server) -> list[Sent]:
    """GET /models, then again with each nextPageToken, until a page has none, a page is not a listing, or
    MAX_PAGES were read."""
    pages: list[Sent] = []
    path = "/models"
    while len(pages) < MAX_PAGES:
        page = send(server, request(f"list-{len(pages) + 1}", "GET", path))
        pages.append(page)
        listing = parsed(page)
        token = listing.get("nextPageToken") if isinstance(listing, dict) and page.status == 200 else None
        if not token:
            break
        path = f"/models?next_page_token={quote(str(token), safe='')}"
    return pages


def leak(session: Session) -> str | None:
    """What the session's memory readings show of models that stay in memory once unloaded (less than RELEASED of
    what loading took, when that was at least MEASURABLE, came back), or None."""
    before, loaded, unloaded = (session.memory.get(k) for k in ("before", "loaded", "unloaded"))
    if before is None or loaded is None or unloaded is None or loaded - before < MEASURABLE:
        return None
    if loaded - unloaded >= RELEASED * (loaded - before):
        return None
    return (f"{(loaded - unloaded) / MIB:.1f} of the {(loaded - before) / MIB:.1f} MiB three models took came back "
            "when they were unloaded")


@dataclass
class Divergence:
    """A generated sequence whose last step did not leave or answer what the state before it calls for: the
    requirement that step belongs to, what came back after the steps before it, and what the state called for."""

    requirement: str
    observed: str
    expected: str
    steps: list[Request]  # the requests of the sequence, up to the one that diverged


@dataclass
class Exploration:
    """What the generated sequences did on their server."""

    server: Server
    sequences: int  # sequences sent, shrinking included
    steps: int  # requests sent
    routing: bool  # invocations were compared with each model's own answer
    divergence: Divergence | None  # the smallest sequence that went wrong, if any


class _Diverged(Exception):
    """Ends a sequence at its divergence, so that hypothesis shrinks it."""

    def __init__(self, divergence: Divergence) -> None:
        super().__init__(divergence.observed)
        self.divergence = divergence


def _answer_alone(server: Server, model: str, payload: Payload, accept: str) -> bytes | None:
    """What model `model` answers when it is the only one loaded; None if it could not be had."""
    name = f"alone-{model}"
    loaded = send(server, load_request("alone", name, model_url(model)))
    answer = send(server, invoke_request("alone", name, payload, accept))
    send(server, request("alone", "DELETE", f"/models/{name}"))
    return answer.body if succeeded(loaded) and succeeded(answer) else None


def explore(hosting: Hosting, server: Server) -> Exploration:
    """Sequences of load, list, describe, invoke and unload that hypothesis generates (with the run's seed, at most
    SEQUENCES of them), each sent to `server` under names of its own and followed against the models it should have
    loaded; the first whose answer differs from that state is shrunk to the smallest sequence that still does."""
    _, _, stored = hosting.model_store
    payload, accept = hosting.valid_payload(), hosting.traffic.accept
    answers = {model: _answer_alone(server, model, payload, accept) for model in stored}
    routing = None not in answers.values() and len(set(answers.values())) > 1
    numbers, totals = itertools.count(), {"sequences": 0, "steps": 0}

    def replay(actions: list[tuple[str, str, str]]) -> None:
        prefix = f"s{next(numbers)}-"
        loaded: dict[str, str] = {}  # name -> the stored model it was loaded from, as the server should have it
        sent: list[Request] = []
        totals["sequences"] += 1

        def step(outcome: Sent) -> Sent:
            sent.append(outcome.request)
            totals["steps"] += 1
            return outcome

        def diverged(requirement: str, outcome: Sent, expected: str) -> _Diverged:
            steps = " -> ".join(f"{r.method} {r.path}" + (f" {r.body.decode('utf-8', 'replace')}" if
                                                            r.method == "POST" and r.path == "/models" else "")
                                for r in sent)
            return _Diverged(Divergence(requirement, f"after {steps}: {shown(outcome)}", expected, list(sent)))

        def compare_listing() -> None:
            pages = list_all(server)
            for page in pages[:2]:  # the evidence: a listing's first two pages show how it pages
                step(page)
            totals["steps"] += max(0, len(pages) - 2)
            listings = [parsed(page) for page in pages]
            names = sorted(str(m.get("modelName")) for listing in listings if isinstance(listing, dict)
                           for m in listing.get("models") or [] if isinstance(m, dict)
                           and str(m.get("modelName", "")).startswith(prefix))
            if names != sorted(loaded) or len(pages) == MAX_PAGES:
                raise diverged("MME-03", pages[-1], f"the pages list {sorted(loaded) or 'none'} of this "
                               f"sequence's models once each, and end (they list {names or 'none'})")

        def compare_invocation(name: str) -> None:
            outcome = step(send(server, invoke_request("sequence", name, payload, accept)))
            if name not in loaded:
                if outcome.status != 404:
                    raise diverged("MME-06", outcome, "404: it is not loaded")
            elif not succeeded(outcome) or (routing and outcome.body != answers[loaded[name]]):
                raise diverged("MME-06", outcome, f"2xx with model {loaded[name]}'s own answer, "
                               f"{answers[loaded[name]]!r}")

        try:
            for action, short, model in actions:
                name = prefix + short
                if action == "load":
                    outcome = step(send(server, load_request("sequence", name, model_url(model))))
                    if name in loaded and outcome.status != 409:
                        raise diverged("MME-02", outcome, f"409: {name} is already loaded")
                    if name not in loaded:
                        if not succeeded(outcome):
                            raise diverged("MME-02", outcome, f"2xx: {name} is not loaded yet")
                        loaded[name] = model
                elif action == "unload":
                    outcome = step(send(server, request("sequence", "DELETE", f"/models/{name}")))
                    if (name in loaded) != succeeded(outcome) or (name not in loaded and outcome.status != 404):
                        raise diverged("MME-05", outcome, "2xx: it is loaded" if name in loaded else
                                       "404: it is not loaded")
                    loaded.pop(name, None)
                elif action == "describe":
                    outcome = step(send(server, request("sequence", "GET", f"/models/{name}")))
                    described = parsed(outcome)
                    right = (outcome.status == 200 and isinstance(described, dict)
                             and described.get("modelName") == name) if name in loaded else outcome.status == 404
                    if not right:
                        raise diverged("MME-04", outcome, f'200 {{"modelName": "{name}", ...}}: it is loaded'
                                       if name in loaded else "404: it is not loaded")
                elif action == "invoke":
                    compare_invocation(name)
                else:
                    compare_listing()
            compare_listing()  # and the state the sequence leaves: the listing, and each model's own answer
            for name in sorted(loaded):
                compare_invocation(name)
        finally:
            for name in loaded:  # the next sequence starts from a server without this one's models
                send(server, request("sequence", "DELETE", f"/models/{name}"))

    strategy = st.lists(st.tuples(st.sampled_from(ACTIONS), st.sampled_from(NAMES), st.sampled_from(sorted(stored))),
                        min_size=1, max_size=STEPS)

    @hypothesis_settings(min(hosting.examples, SEQUENCES), Phase.generate, Phase.shrink)
    @hypothesis.seed(hosting.seed)
    @given(strategy)
    def sequences(actions: list[tuple[str, str, str]]) -> None:
        replay(actions)

    diverged, flaky = raised_by(sequences, _Diverged)
    found = diverged.divergence if diverged else None
    if found and flaky:
        found = dataclasses.replace(found, observed=found.observed + " (this did not happen again when hypothesis "
                                    "replayed the sequence)")
    return Exploration(server, totals["sequences"], totals["steps"], routing, found)


@planned_for
def explore_sequences(hosting: Hosting) -> Exploration:
    """Generated sequences (see explore) on a multi-model server of their own, after the scripted session: not run
    when that session saw unloading keep the models' memory, as hundreds of loads would then exhaust the container's
    memory and every request after would fail."""
    if not claims_multi_model(hosting):
        raise Unclaimed("the image does not carry the multi-models label")
    kept = leak(run_session(hosting))
    if kept:
        raise CouldNotRun(f"unloading does not give memory back ({kept}), so hundreds of loads would exhaust it")
    with hosting.fresh(endpoint("serve-multi-model-sequences")) as server:
        server.require_healthy()
        return explore(hosting, server)
