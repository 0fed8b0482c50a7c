"""Multi-model endpoints (MME-02..06): judged from one scripted session of the /models API (multi_model.run_session)
on an image that carries the multi-models label; not applicable to any other."""

from __future__ import annotations

import shlex

from ..multi_model import MAX_PAGES, NEVER_LOADED, Outcome, Session, run_session
from ..registry import Context, check, on_hosting
from ..verdicts import Failed, Inconclusive

MIB = 1024 * 1024
MEASURABLE = 8 * MIB  # loading three models that took less than this leaves nothing to see released
RELEASED = 0.5  # an unload must give back at least this share of what loading took


def _session(ctx: Context) -> Session:
    return run_session(ctx.hosting)


def _steps(ctx: Context, session: Session, *names: str) -> str:
    """curl commands that repeat the session's steps up to the one judged, run after the server's start."""
    host, port = ctx.engine.host_address, session.server.port
    lines = []
    for name in names:
        sent = session.outcomes[name].request if name in session.outcomes else None
        if sent is None:
            continue
        headers = "".join(f" -H {shlex.quote(f'{k}: {v}')}" for k, v in sent.headers.items())
        data = f" --data-binary {shlex.quote(sent.body.decode('utf-8', 'replace'))}" if sent.body else ""
        lines.append(f"curl -sS -i -X {sent.method}{headers}{data} http://{host}:{port}{sent.path}")
    return "\n".join(lines)


def _fail(ctx: Context, session: Session, observed: str, expected: str, *steps: str) -> Failed:
    return Failed(observed, expected=expected, run=session.server, reproduce=_steps(ctx, session, *steps))


def _ok(outcome: Outcome) -> bool:
    return outcome.status is not None and 200 <= outcome.status < 300


@check("MME-02", "load-models", runs=(on_hosting(run_session),))
def load_models(ctx: Context) -> str:
    session = _session(ctx)
    first, again = session.outcomes["load"], session.outcomes["load-again"]
    for step in ("load", "load-alpha", "load-gamma"):
        if not _ok(session.outcomes[step]):
            raise _fail(ctx, session, f"loading a model from {session.outcomes[step].request.body.decode()}: "
                        f"{session.outcomes[step].shown}", "200 for a model directory under /opt/ml/models", step)
    if again.status != 409:
        raise _fail(ctx, session, f"loading alpha a second time: {again.shown}",
                    "409: the model is already loaded", "load-alpha", "load-again")
    return f"3 models loaded ({first.shown.split(' ')[1]}), and the same name again answered 409"


@check("MME-03", "list-models", runs=(on_hosting(run_session),))
def list_models(ctx: Context) -> str:
    session = _session(ctx)
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


@check("MME-04", "describe-model", runs=(on_hosting(run_session),))
def describe_model(ctx: Context) -> str:
    session = _session(ctx)
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


@check("MME-05", "unload-model", runs=(on_hosting(run_session),))
def unload_model(ctx: Context) -> str:
    session = _session(ctx)
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
    if loaded - unloaded < RELEASED * taken:
        raise _fail(ctx, session, f"unloading all 3 models gave back {(loaded - unloaded) / MIB:.1f} of the "
                    f"{taken / MIB:.1f} MiB loading them took ({figures})",
                    f"at least {RELEASED:.0%} of it given back when DELETE returns: the model's resources are "
                    "released", "load", "load-alpha", "load-gamma", "unload-alpha", "unload-beta", "unload-gamma")
    return f"unloaded with 200, 404 once gone; memory given back: {figures}"


@check("MME-06", "invoke-model", runs=(on_hosting(run_session),))
def invoke_model(ctx: Context) -> str:
    session = _session(ctx)
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
