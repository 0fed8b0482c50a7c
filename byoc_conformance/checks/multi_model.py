"""Multi-model endpoints (MME-02..06), on an image that carries the multi-models label (not applicable to any
other): judged from the records of two runs of byoc_conformance/multi_model.py, one scripted session of the /models
API (run_session: Session) and the sequences of load, list, describe, invoke and unload that hypothesis generates and
follows against the state they should leave, on a server of their own (explore_sequences: Exploration; the smallest
sequence that went wrong is the evidence, under the requirement its last step belongs to). A multi-model server that
does not start fails MME-02, and MME-03..06 are inconclusive with that cause (claims.py)."""

from __future__ import annotations

from collections.abc import Callable

from ..hosting import Server
from ..multi_model import (
    MAX_PAGES,
    MEASURABLE,
    MIB,
    NEVER_LOADED,
    RELEASED,
    Session,
    explore_sequences,
    leak,
    parsed,
    run_session,
    shown,
    succeeded,
)
from ..outcome import NotRun
from ..registry import Context, check, on_hosting
from ..verdicts import Failed, Inconclusive, Request
from .claims import MULTI_MODEL, claimed_run


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


def _load_models(ctx: Context, session: Session) -> str:
    first, again = session.outcomes["load"], session.outcomes["load-again"]
    for step in ("load", "load-alpha", "load-gamma"):
        if not succeeded(session.outcomes[step]):
            raise _fail(ctx, session, f"loading a model from {session.outcomes[step].request.body.decode()}: "
                        f"{shown(session.outcomes[step])}", "200 for a model directory under /opt/ml/models", step)
    if again.status != 409:
        raise _fail(ctx, session, f"loading alpha a second time: {shown(again)}",
                    "409: the model is already loaded", "load-alpha", "load-again")
    return f"3 models loaded ({shown(first).split(' ')[1]}), and the same name again answered 409"


def _list_models(ctx: Context, session: Session) -> str:
    steps = ("load", "load-alpha", "load-gamma")
    expected = ('{"models": [{"modelName", "modelUrl"}, ...]} naming the 3 loaded models once each, '
                "in pages linked by nextPageToken that end")
    names: list[str] = []
    for number, page in enumerate(session.pages, 1):
        listing = parsed(page)
        models = listing.get("models") if isinstance(listing, dict) else None
        if page.status != 200 or not isinstance(models, list) or not all(
                isinstance(m, dict) and "modelName" in m and "modelUrl" in m for m in models):
            raise _fail(ctx, session, f"GET /models, page {number}: {shown(page)}", expected, *steps)
        names += [str(m["modelName"]) for m in models]
    last = parsed(session.pages[-1])
    if len(session.pages) == MAX_PAGES and isinstance(last, dict) and last.get("nextPageToken"):
        raise _fail(ctx, session, f"{MAX_PAGES} pages followed by nextPageToken for 3 models, and still a next "
                    f"page; the names seen: {', '.join(names[:12])}", expected, *steps)
    if sorted(names) != ["alpha", "beta", "gamma"]:
        raise _fail(ctx, session, f"the pages name {sorted(names)} for the loaded alpha, beta and gamma",
                    expected, *steps)
    return f"the 3 loaded models listed once each in {len(session.pages)} page(s)"


def _describe_model(ctx: Context, session: Session) -> str:
    described = session.outcomes["describe"]
    answer = parsed(described)
    if described.status != 200 or not isinstance(answer, dict) or answer.get("modelName") != "alpha" \
            or "modelUrl" not in answer:
        raise _fail(ctx, session, f"GET /models/alpha while loaded: {shown(described)}",
                    '200 {"modelName": "alpha", "modelUrl": ...}', "load-alpha", "describe")
    for step, what in (("describe-unloaded", f"{NEVER_LOADED} (never loaded)"),
                       ("describe-after-unload", "alpha (unloaded)")):
        if session.outcomes[step].status != 404:
            raise _fail(ctx, session, f"GET /models/{what}: {shown(session.outcomes[step])}",
                        "404: the model is not loaded", *(("load-alpha", "unload-alpha") if "after" in step else ()),
                        step)
    return "a loaded model described by name; 404 for one never loaded and for one unloaded"


def _unload_model(ctx: Context, session: Session) -> str:
    for model in ("alpha", "beta", "gamma"):
        if not succeeded(session.outcomes[f"unload-{model}"]):
            raise _fail(ctx, session, f"DELETE /models/{model}: {shown(session.outcomes[f'unload-{model}'])}",
                        "200: the model is unloaded", f"load-{model}" if model != "beta" else "load",
                        f"unload-{model}")
    again = session.outcomes["unload-again"]
    if again.status != 404:
        raise _fail(ctx, session, f"DELETE /models/alpha once unloaded: {shown(again)}", "404: not loaded",
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
    if leak(session):
        raise _fail(ctx, session, f"unloading all 3 models gave back {(loaded - unloaded) / MIB:.1f} of the "
                    f"{taken / MIB:.1f} MiB loading them took ({figures})",
                    f"at least {RELEASED:.0%} of it given back when DELETE returns: the model's resources are "
                    "released", "load", "load-alpha", "load-gamma", "unload-alpha", "unload-beta", "unload-gamma")
    return f"unloaded with 200, 404 once gone; memory given back: {figures}"


def _invoke_model(ctx: Context, session: Session) -> str:
    for step in ("invoke-alone", "invoke-alpha", "invoke-beta", "invoke-gamma"):
        if not succeeded(session.outcomes[step]):
            raise _fail(ctx, session, f"{session.outcomes[step].request.path}: {shown(session.outcomes[step])}",
                        "2xx for a loaded model, with SageMaker's headers", "load", "load-alpha", "load-gamma", step)
    for step in ("invoke-unloaded", "invoke-after-unload"):
        if session.outcomes[step].status != 404:
            raise _fail(ctx, session, f"{session.outcomes[step].request.path} (not loaded): "
                        f"{shown(session.outcomes[step])}", "404: the model is not loaded", step)
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
