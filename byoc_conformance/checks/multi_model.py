"""Multi-model endpoints (MME-02..06), on an image that carries the multi-models label (not applicable to any
other): judged from one scripted session of the /models API (multi_model.run_session), and from sequences of
load, list, describe, invoke and unload that hypothesis generates and checks against the state they should leave,
on a server of their own (the smallest sequence that goes wrong is the evidence). A multi-model server that does not
start fails MME-02, and MME-03..06 are inconclusive with that cause (claims.py)."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import dataclass

import hypothesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from ..hosting import Hosting, Server
from ..multi_model import (
    MAX_PAGES,
    NEVER_LOADED,
    Outcome,
    Session,
    claims_multi_model,
    endpoint,
    invoke_request,
    list_all,
    load_request,
    model_url,
    request,
    run_session,
    send,
)
from ..outcome import NotRun
from ..payloads import Payload
from ..plan import planned_for
from ..registry import Context, check, on_hosting
from ..verdicts import Failed, Inconclusive, NotApplicable, Request
from .claims import MULTI_MODEL, claimed_run

MIB = 1024 * 1024
MEASURABLE = 8 * MIB  # loading three models that took less than this leaves nothing to see released
RELEASED = 0.5  # an unload must give back at least this share of what loading took
SEQUENCES = 100  # generated sequences at most (fewer with --byoc-examples below it)
STEPS = 10  # actions per sequence at most
NAMES = ("x", "y", "z")  # the model names a sequence uses (prefixed per sequence, so sequences do not meet)
# Loads three times as likely as the rest: most states worth checking have several models loaded.
ACTIONS = ("load", "invoke", "load", "unload", "load", "describe", "list")


class Divergence(Failed):
    """A generated sequence whose last step did not leave or answer what the state before it calls for."""

    def __init__(self, requirement: str, observed: str, expected: str, steps: list[Request]) -> None:
        super().__init__(observed, expected=expected)
        self.requirement, self.steps = requirement, steps


@dataclass
class Exploration:
    server: Server
    sequences: int  # sequences sent, shrinking included
    steps: int  # requests sent
    routing: bool  # invocations were compared with each model's own answer
    divergence: Divergence | None  # the smallest sequence that went wrong, if any


def _answer_alone(server: Server, model: str, payload: Payload, accept: str) -> bytes | None:
    """What model `model` answers when it is the only one loaded; None if it could not be had."""
    name = f"alone-{model}"
    loaded = send(server, load_request("alone", name, model_url(model)))
    answer = send(server, invoke_request("alone", name, payload, accept))
    send(server, request("alone", "DELETE", f"/models/{name}"))
    return answer.body if _ok(loaded) and _ok(answer) else None


def _explore(hosting: Hosting, server: Server) -> Exploration:
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

        def step(outcome: Outcome) -> Outcome:
            sent.append(outcome.request)
            totals["steps"] += 1
            return outcome

        def diverged(requirement: str, outcome: Outcome, expected: str) -> Divergence:
            shown = " -> ".join(f"{r.method} {r.path}" + (f" {r.body.decode('utf-8', 'replace')}" if
                                                            r.method == "POST" and r.path == "/models" else "")
                                for r in sent)
            return Divergence(requirement, f"after {shown}: {outcome.shown}", expected, list(sent))

        def check_listing() -> None:
            pages = list_all(server)
            for page in pages[:2]:  # the evidence: a listing's first two pages show how it pages
                step(page)
            totals["steps"] += max(0, len(pages) - 2)
            listings = [page.json() for page in pages]
            names = sorted(str(m.get("modelName")) for listing in listings if isinstance(listing, dict)
                           for m in listing.get("models") or [] if isinstance(m, dict)
                           and str(m.get("modelName", "")).startswith(prefix))
            if names != sorted(loaded) or len(pages) == MAX_PAGES:
                raise diverged("MME-03", pages[-1], f"the pages list {sorted(loaded) or 'none'} of this "
                               f"sequence's models once each, and end (they list {names or 'none'})")

        def check_invocation(name: str) -> None:
            outcome = step(send(server, invoke_request("sequence", name, payload, accept)))
            if name not in loaded:
                if outcome.status != 404:
                    raise diverged("MME-06", outcome, "404: it is not loaded")
            elif not _ok(outcome) or (routing and outcome.body != answers[loaded[name]]):
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
                        if not _ok(outcome):
                            raise diverged("MME-02", outcome, f"2xx: {name} is not loaded yet")
                        loaded[name] = model
                elif action == "unload":
                    outcome = step(send(server, request("sequence", "DELETE", f"/models/{name}")))
                    if (name in loaded) != _ok(outcome) or (name not in loaded and outcome.status != 404):
                        raise diverged("MME-05", outcome, "2xx: it is loaded" if name in loaded else
                                       "404: it is not loaded")
                    loaded.pop(name, None)
                elif action == "describe":
                    outcome = step(send(server, request("sequence", "GET", f"/models/{name}")))
                    described = outcome.json()
                    right = (outcome.status == 200 and isinstance(described, dict)
                             and described.get("modelName") == name) if name in loaded else outcome.status == 404
                    if not right:
                        raise diverged("MME-04", outcome, f'200 {{"modelName": "{name}", ...}}: it is loaded'
                                       if name in loaded else "404: it is not loaded")
                elif action == "invoke":
                    check_invocation(name)
                else:
                    check_listing()
            check_listing()  # and the state the sequence leaves: the listing, and each model's own answer
            for name in sorted(loaded):
                check_invocation(name)
        finally:
            for name in loaded:  # the next sequence starts from a server without this one's models
                send(server, request("sequence", "DELETE", f"/models/{name}"))

    strategy = st.lists(st.tuples(st.sampled_from(ACTIONS), st.sampled_from(NAMES), st.sampled_from(sorted(stored))),
                        min_size=1, max_size=STEPS)

    @settings(max_examples=min(hosting.examples, SEQUENCES), deadline=None, database=None, report_multiple_bugs=False,
              suppress_health_check=list(HealthCheck), phases=(Phase.generate, Phase.shrink))
    @hypothesis.seed(hosting.seed)
    @given(strategy)
    def explore(actions: list[tuple[str, str, str]]) -> None:
        replay(actions)

    found: Divergence | None = None
    try:
        explore()
    except Divergence as divergence:
        found = divergence
    except hypothesis.errors.Flaky as flaky:
        found = next((e for e in getattr(flaky, "exceptions", ()) if isinstance(e, Divergence)), None)
        if found is None:
            raise
        found.observed += " (this did not happen again when hypothesis replayed the sequence)"
    return Exploration(server, totals["sequences"], totals["steps"], routing, found)


@planned_for
def explore_sequences(hosting: Hosting) -> Exploration:
    """Generated sequences on a multi-model server of their own (see _explore)."""
    if not claims_multi_model(hosting):
        raise NotApplicable("the image does not carry the multi-models label")
    leak = _leak(run_session(hosting))
    if leak:  # hundreds of loads would exhaust the container's memory, and every request after would fail
        raise Inconclusive(f"unloading does not give memory back ({leak}), so hundreds of loads would exhaust it")
    with hosting.fresh(endpoint("serve-multi-model-sequences")) as server:
        server.require_healthy()
        return _explore(hosting, server)


def _leak(session: Session) -> str | None:
    """What the session's memory readings show of models that stay in memory once unloaded, or None."""
    before, loaded, unloaded = (session.memory.get(k) for k in ("before", "loaded", "unloaded"))
    if before is None or loaded is None or unloaded is None or loaded - before < MEASURABLE:
        return None
    if loaded - unloaded >= RELEASED * (loaded - before):
        return None
    return (f"{(loaded - unloaded) / MIB:.1f} of the {(loaded - before) / MIB:.1f} MiB three models took came back "
            "when they were unloaded")


def _sequences(ctx: Context, requirement: str) -> str:
    """' and N generated sequences agreed', or the Failed of the smallest sequence that went wrong under
    `requirement`; what stopped the sequences from running is said, not hidden."""
    try:  # their server is one more multi-model server: if it does not start, MME-02 fails on it
        explored = claimed_run(MULTI_MODEL, requirement, lambda: explore_sequences(ctx.hosting))
    except (Inconclusive, NotRun) as why:
        return f"; generated sequences not run: {why.observed}"
    divergence = explored.divergence
    if divergence is not None and divergence.requirement == requirement:
        raise Failed(divergence.observed, expected=divergence.expected, run=explored.server,
                     reproduce=_curls(ctx, explored.server, divergence.steps))
    compared = ", answers compared with each model's own" if explored.routing else ""
    sequences = (f"{explored.sequences} generated sequences of load, list, describe, invoke and unload "
                 f"({explored.steps} requests{compared})")
    if divergence is not None:
        return (f"; of {sequences}, one went wrong under {divergence.requirement} (judged there), none under "
                f"{requirement}")
    return f"; {sequences} agreed with the state they should leave"


def _curls(ctx: Context, server: Server, sent: list[Request]) -> str:
    return "\n".join(one.curl(None, ctx.engine.host_address, server.port) for one in sent)


def _steps(ctx: Context, session: Session, *names: str) -> str:
    """curl commands that repeat the session's steps up to the one judged, run after the server's start."""
    return _curls(ctx, session.server, [session.outcomes[name].request for name in names if name in session.outcomes])


def _fail(ctx: Context, session: Session, observed: str, expected: str, *steps: str) -> Failed:
    return Failed(observed, expected=expected, run=session.server, reproduce=_steps(ctx, session, *steps))


def _ok(outcome: Outcome) -> bool:
    return outcome.status is not None and 200 <= outcome.status < 300


def _load_models(ctx: Context, session: Session) -> str:
    first, again = session.outcomes["load"], session.outcomes["load-again"]
    for step in ("load", "load-alpha", "load-gamma"):
        if not _ok(session.outcomes[step]):
            raise _fail(ctx, session, f"loading a model from {session.outcomes[step].request.body.decode()}: "
                        f"{session.outcomes[step].shown}", "200 for a model directory under /opt/ml/models", step)
    if again.status != 409:
        raise _fail(ctx, session, f"loading alpha a second time: {again.shown}",
                    "409: the model is already loaded", "load-alpha", "load-again")
    return f"3 models loaded ({first.shown.split(' ')[1]}), and the same name again answered 409"


def _list_models(ctx: Context, session: Session) -> str:
    steps = ("load", "load-alpha", "load-gamma")
    expected = ('{"models": [{"modelName", "modelUrl"}, ...]} naming the 3 loaded models once each, '
                "in pages linked by nextPageToken that end")
    names: list[str] = []
    for number, page in enumerate(session.pages, 1):
        listing = page.json()
        models = listing.get("models") if isinstance(listing, dict) else None
        if page.status != 200 or not isinstance(models, list) or not all(
                isinstance(m, dict) and "modelName" in m and "modelUrl" in m for m in models):
            raise _fail(ctx, session, f"GET /models, page {number}: {page.shown}", expected, *steps)
        names += [str(m["modelName"]) for m in models]
    last = session.pages[-1].json()
    if len(session.pages) == MAX_PAGES and isinstance(last, dict) and last.get("nextPageToken"):
        raise _fail(ctx, session, f"{MAX_PAGES} pages followed by nextPageToken for 3 models, and still a next "
                    f"page; the names seen: {', '.join(names[:12])}", expected, *steps)
    if sorted(names) != ["alpha", "beta", "gamma"]:
        raise _fail(ctx, session, f"the pages name {sorted(names)} for the loaded alpha, beta and gamma",
                    expected, *steps)
    return f"the 3 loaded models listed once each in {len(session.pages)} page(s)"


def _describe_model(ctx: Context, session: Session) -> str:
    described = session.outcomes["describe"]
    answer = described.json()
    if described.status != 200 or not isinstance(answer, dict) or answer.get("modelName") != "alpha" \
            or "modelUrl" not in answer:
        raise _fail(ctx, session, f"GET /models/alpha while loaded: {described.shown}",
                    '200 {"modelName": "alpha", "modelUrl": ...}', "load-alpha", "describe")
    for step, what in (("describe-unloaded", f"{NEVER_LOADED} (never loaded)"),
                       ("describe-after-unload", "alpha (unloaded)")):
        if session.outcomes[step].status != 404:
            raise _fail(ctx, session, f"GET /models/{what}: {session.outcomes[step].shown}",
                        "404: the model is not loaded", *(("load-alpha", "unload-alpha") if "after" in step else ()),
                        step)
    return "a loaded model described by name; 404 for one never loaded and for one unloaded"


def _unload_model(ctx: Context, session: Session) -> str:
    for model in ("alpha", "beta", "gamma"):
        if not _ok(session.outcomes[f"unload-{model}"]):
            raise _fail(ctx, session, f"DELETE /models/{model}: {session.outcomes[f'unload-{model}'].shown}",
                        "200: the model is unloaded", f"load-{model}" if model != "beta" else "load",
                        f"unload-{model}")
    again = session.outcomes["unload-again"]
    if again.status != 404:
        raise _fail(ctx, session, f"DELETE /models/alpha once unloaded: {again.shown}", "404: not loaded",
                    "load-alpha", "unload-alpha", "unload-again")
    before, loaded, unloaded = (session.memory.get(k) for k in ("before", "loaded", "unloaded"))
    if before is None or loaded is None or unloaded is None:
        raise Inconclusive("200 and 404 as required, but the engine gave no memory reading, so whether the "
                           "models' memory was released is not known", run=session.server)
    taken = loaded - before
    figures = f"{before / MIB:.1f} MiB before loading, {loaded / MIB:.1f} MiB with 3 models, " \
              f"{unloaded / MIB:.1f} MiB once they were unloaded"
    if taken < MEASURABLE:
        return (f"unloaded with 200, 404 once gone; the models took {taken / MIB:.1f} MiB, under "
                f"{MEASURABLE // MIB} MiB, so their release was not measured ({figures})")
    if _leak(session):
        raise _fail(ctx, session, f"unloading all 3 models gave back {(loaded - unloaded) / MIB:.1f} of the "
                    f"{taken / MIB:.1f} MiB loading them took ({figures})",
                    f"at least {RELEASED:.0%} of it given back when DELETE returns: the model's resources are "
                    "released", "load", "load-alpha", "load-gamma", "unload-alpha", "unload-beta", "unload-gamma")
    return f"unloaded with 200, 404 once gone; memory given back: {figures}"


def _invoke_model(ctx: Context, session: Session) -> str:
    for step in ("invoke-alone", "invoke-alpha", "invoke-beta", "invoke-gamma"):
        if not _ok(session.outcomes[step]):
            raise _fail(ctx, session, f"{session.outcomes[step].request.path}: {session.outcomes[step].shown}",
                        "2xx for a loaded model, with SageMaker's headers", "load", "load-alpha", "load-gamma", step)
    for step in ("invoke-unloaded", "invoke-after-unload"):
        if session.outcomes[step].status != 404:
            raise _fail(ctx, session, f"{session.outcomes[step].request.path} (not loaded): "
                        f"{session.outcomes[step].shown}", "404: the model is not loaded", step)
    alone, alpha, beta, gamma = (session.outcomes[s].body for s in
                                 ("invoke-alone", "invoke-alpha", "invoke-beta", "invoke-gamma"))
    expected = "each model's own answer: beta's as when it was the only model loaded, alpha's and gamma's alike"
    steps = ("load", "invoke-alone", "load-alpha", "load-gamma")
    if beta != alone:
        raise _fail(ctx, session, f"beta answered {beta[:200]!r} with alpha and gamma loaded, {alone[:200]!r} when "
                    "it was the only model", expected, *steps, "invoke-beta")
    if alpha != gamma:
        raise _fail(ctx, session, f"alpha and gamma, the same model, answered {alpha[:200]!r} and {gamma[:200]!r}",
                    expected, *steps, "invoke-alpha", "invoke-gamma")
    if not session.distinct_models:
        return "loaded models answered 2xx, 404 when not loaded; routing not judged: only one model is at hand"
    if alpha == beta:
        return ("loaded models answered 2xx, 404 when not loaded; routing not judged: the two models answer this "
                "payload alike")
    return "each of 3 loaded models answered with its own model (2 trained on different data); 404 when not loaded"


# Each requirement: the scripted session's verdict, then the generated sequences' under the same ID.
RUNS = (on_hosting(run_session), on_hosting(explore_sequences))


def _register(requirement: str, name: str, session_verdict: Callable[[Context, Session], str]) -> None:
    def judged(ctx: Context) -> str:
        # A multi-model server that does not start fails MME-02 and leaves the others inconclusive (claims.py).
        session = claimed_run(MULTI_MODEL, requirement, lambda: run_session(ctx.hosting))
        return session_verdict(ctx, session) + _sequences(ctx, requirement)

    judged.__name__ = judged.__qualname__ = session_verdict.__name__.lstrip("_")
    check(requirement, name, runs=RUNS)(judged)


for _requirement, _name, _verdict in (("MME-02", "load-models", _load_models), ("MME-03", "list-models", _list_models),
                                      ("MME-04", "describe-model", _describe_model),
                                      ("MME-05", "unload-model", _unload_model),
                                      ("MME-06", "invoke-model", _invoke_model)):
    _register(_requirement, _name, _verdict)
