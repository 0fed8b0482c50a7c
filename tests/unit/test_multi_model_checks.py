"""The MME checks judged on hand-made records of the multi-model runs (byoc_conformance/multi_model.py): the scripted
session (Session) and the generated sequences (Exploration) are put in the plan where the checks read them, so no
container starts and nothing is sent. Every pass, fail and inconclusive branch, with the verdict's text."""

import contextlib
import json
from types import SimpleNamespace

import pytest

from byoc_conformance import multi_model as runs
from byoc_conformance import registry
from byoc_conformance.exchange import Answer
from byoc_conformance.multi_model import MIB, NEVER_LOADED, Divergence, Exploration, Session
from byoc_conformance.outcome import CouldNotRun, Unclaimed
from byoc_conformance.payloads import Payload
from byoc_conformance.plan import Plan
from byoc_conformance.probing import Sent
from byoc_conformance.registry import CHECKS
from byoc_conformance.verdicts import Failed, Inconclusive, NotApplicable

from .test_claims import StoppedServer

CHECK_NAMES = {"MME-02": "load-models", "MME-03": "list-models", "MME-04": "describe-model",
               "MME-05": "unload-model", "MME-06": "invoke-model"}
PAYLOAD = Payload(b"1,2,3", "text/csv")
SESSION_SERVER = StoppedServer("serve-multi-model", healthy=True)
SEQUENCES_SERVER = StoppedServer("serve-multi-model-sequences", healthy=True)
URLS = {"beta": runs.model_url("b"), "alpha": runs.model_url("a"), "gamma": runs.model_url("a")}
ANSWERS = {"alpha": b"0.1\n", "beta": b"0.9\n", "gamma": b"0.1\n"}
AGREED = "; 100 generated sequences of load, list, describe, invoke and unload (800 requests, answers compared with " \
         "each model's own) agreed with the state they should leave"


def outcome(request, status=200, body=b"", error=None):
    """`request` and its answer (`status`, `body`), or, with status None, the `error` that came instead."""
    if status is None:
        return Sent(request, error=error)
    return Sent(request, response=Answer(status, body if isinstance(body, bytes) else body.encode()))


def page(models, token=None, number=1, status=200):
    listing = {"models": [{"modelName": name, "modelUrl": URLS.get(name, "?")} for name in models]}
    if token:
        listing["nextPageToken"] = token
    return outcome(runs.request(f"list-{number}", "GET", "/models"), status, json.dumps(listing))


def session(**changes):
    """The record of a conforming multi-model server's scripted session (run_session's steps, in its order), with
    `changes` to its steps (name -> status or (status, body)) and fields."""
    steps = {
        "load": outcome(runs.load_request("load", "beta", URLS["beta"]), 200, '{"status": "loaded"}'),
        "invoke-alone": outcome(runs.invoke_request("invoke-alone", "beta", PAYLOAD), 200, ANSWERS["beta"]),
        "load-alpha": outcome(runs.load_request("load-alpha", "alpha", URLS["alpha"])),
        "load-again": outcome(runs.load_request("load-again", "alpha", URLS["alpha"]), 409),
        "load-gamma": outcome(runs.load_request("load-gamma", "gamma", URLS["gamma"])),
        "describe": outcome(runs.request("describe", "GET", "/models/alpha"), 200,
                            '{"modelName": "alpha", "modelUrl": "/opt/ml/models/a/model"}'),
        "describe-unloaded": outcome(runs.request("describe-unloaded", "GET", f"/models/{NEVER_LOADED}"), 404),
        **{f"invoke-{m}": outcome(runs.invoke_request(f"invoke-{m}", m, PAYLOAD), 200, ANSWERS[m])
           for m in ("alpha", "beta", "gamma")},
        "invoke-unloaded": outcome(runs.invoke_request("invoke-unloaded", NEVER_LOADED, PAYLOAD), 404),
        **{f"unload-{m}": outcome(runs.request(f"unload-{m}", "DELETE", f"/models/{m}")) for m in
           ("alpha", "beta", "gamma")},
        "unload-again": outcome(runs.request("unload-again", "DELETE", "/models/alpha"), 404),
        "describe-after-unload": outcome(runs.request("describe-after-unload", "GET", "/models/alpha"), 404),
        "invoke-after-unload": outcome(runs.invoke_request("invoke-after-unload", "alpha", PAYLOAD), 404),
    }
    fields = {"pages": [page(["alpha", "beta"], "2"), page(["gamma"], number=2)],
              "memory": {"before": 100 * MIB, "loaded": 400 * MIB, "unloaded": 110 * MIB}, "distinct_models": True}
    for name, change in changes.items():
        if name in fields:
            fields[name] = change
        else:
            status, body = change if isinstance(change, tuple) else (change, b"")
            steps[name] = outcome(steps[name].request, status, body,
                                  "ConnectionError: reset" if status is None else None)
    return Session(SESSION_SERVER, dict(URLS), steps, **fields)


def exploration(divergence=None, sequences=100, steps=800, routing=True):
    return Exploration(SEQUENCES_SERVER, sequences, steps, routing, divergence)


def context(recorded_session=None, explored=None):
    """A context whose multi-model runs came out as given (a record, or the exception the run raised); a run not
    given is a conforming one."""
    plan = Plan()
    for run, record in ((runs.run_session, recorded_session or session()),
                        (runs.explore_sequences, explored or exploration())):
        def remembered(record=record):
            if isinstance(record, BaseException):
                raise record
            return record
        with contextlib.suppress(Exception):  # remembered: the check reads it again
            plan.once((run.__module__, run.__qualname__), remembered)
    return SimpleNamespace(hosting=SimpleNamespace(plan=plan), engine=SimpleNamespace(host_address="127.0.0.1"))


def judge(requirement, ctx):
    return registry.judge(CHECKS[f"{requirement}:{CHECK_NAMES[requirement]}"], ctx)


def failed(requirement, ctx):
    with pytest.raises(Failed) as verdict:
        judge(requirement, ctx)
    return verdict.value


# The checks read both runs, the session's first.

def test_every_check_names_the_session_and_the_sequences_as_its_runs():
    recorded, explored = session(), exploration()
    ctx = context(recorded, explored)
    for requirement, name in CHECK_NAMES.items():
        assert [run(ctx) for run in CHECKS[f"{requirement}:{name}"].runs] == [recorded, explored]


def test_without_the_label_every_check_is_not_applicable():
    unclaimed = Unclaimed(f"the image does not carry the label {runs.LABEL}=true")
    for requirement in CHECK_NAMES:
        with pytest.raises(NotApplicable, match="multi-models=true"):
            judge(requirement, context(unclaimed, unclaimed))


# MME-02 load-models

def test_a_conforming_session_loads_three_models_and_answers_409_to_the_same_name_again():
    assert judge("MME-02", context()) == ("3 models loaded (200), and the same name again answered 409" + AGREED)


@pytest.mark.parametrize("step, url", [("load", URLS["beta"]), ("load-alpha", URLS["alpha"]),
                                       ("load-gamma", URLS["gamma"])])
def test_a_load_that_is_not_2xx_fails_mme_02_with_the_steps_to_repeat_it(step, url):
    verdict = failed("MME-02", context(session(**{step: (500, "boom")})))
    assert verdict.observed.startswith('loading a model from {"model_name": ') and url in verdict.observed
    assert verdict.observed.endswith("HTTP 500 'boom'")
    assert verdict.expected == "200 for a model directory under /opt/ml/models"
    assert verdict.run is SESSION_SERVER
    assert verdict.reproduce.startswith("curl -sS -i -X POST") and "http://127.0.0.1:8080/models" in verdict.reproduce


def test_a_load_without_an_answer_says_so():
    verdict = failed("MME-02", context(session(**{"load-alpha": None})))
    assert verdict.observed.endswith("no answer (ConnectionError: reset)")


def test_loading_the_same_name_twice_must_answer_409():
    verdict = failed("MME-02", context(session(**{"load-again": 200})))
    assert verdict.observed == "loading alpha a second time: HTTP 200"
    assert verdict.expected == "409: the model is already loaded"
    assert len(verdict.reproduce.splitlines()) == 2  # load-alpha, load-again


# MME-03 list-models

def test_the_three_models_listed_once_each_across_pages_pass():
    assert judge("MME-03", context()) == "the 3 loaded models listed once each in 2 page(s)" + AGREED


@pytest.mark.parametrize("pages", [
    [page(["alpha", "beta", "gamma"], status=500)],
    [outcome(runs.request("list-1", "GET", "/models"), 200, "not json")],
    [outcome(runs.request("list-1", "GET", "/models"), 200, '{"models": [{"modelName": "alpha"}]}')],
    [page(["alpha", "beta"], "2"), outcome(runs.request("list-2", "GET", "/models"), 200, '{"models": "x"}')],
])
def test_a_page_that_is_not_a_listing_fails_mme_03(pages):
    verdict = failed("MME-03", context(session(pages=pages)))
    assert verdict.observed.startswith(f"GET /models, page {len(pages)}: ")
    assert verdict.expected.startswith('{"models": [{"modelName", "modelUrl"}, ...]} naming the 3 loaded models')
    assert len(verdict.reproduce.splitlines()) == 3  # the three loads


def test_pages_that_never_end_fail_mme_03():
    endless = [page(["alpha"], "again", number) for number in range(1, runs.MAX_PAGES + 1)]
    verdict = failed("MME-03", context(session(pages=endless)))
    assert verdict.observed == (f"{runs.MAX_PAGES} pages followed by nextPageToken for 3 models, and still a next "
                                "page; the names seen: " + ", ".join(["alpha"] * 12))


@pytest.mark.parametrize("names", [["alpha", "beta"], ["alpha", "alpha", "beta", "gamma"]])
def test_a_listing_that_misses_or_repeats_a_model_fails_mme_03(names):
    verdict = failed("MME-03", context(session(pages=[page(names)])))
    assert verdict.observed == f"the pages name {sorted(names)} for the loaded alpha, beta and gamma"


# MME-04 describe-model

def test_a_loaded_model_described_and_404_for_the_others_pass():
    assert judge("MME-04", context()) == ("a loaded model described by name; 404 for one never loaded and for one "
                                          "unloaded" + AGREED)


@pytest.mark.parametrize("answer", [(404, ""), (200, '{"modelName": "beta", "modelUrl": "x"}'),
                                    (200, '{"modelName": "alpha"}'), (200, "[]")])
def test_a_wrong_description_of_a_loaded_model_fails_mme_04(answer):
    verdict = failed("MME-04", context(session(describe=answer)))
    assert verdict.observed.startswith("GET /models/alpha while loaded: HTTP ")
    assert verdict.expected == '200 {"modelName": "alpha", "modelUrl": ...}'
    assert len(verdict.reproduce.splitlines()) == 2


def test_a_model_never_loaded_must_be_404():
    verdict = failed("MME-04", context(session(**{"describe-unloaded": (200, "{}")})))
    assert verdict.observed == f"GET /models/{NEVER_LOADED} (never loaded): HTTP 200 '{{}}'"
    assert verdict.expected == "404: the model is not loaded"
    assert verdict.reproduce == f"curl -sS -i -X GET http://127.0.0.1:8080/models/{NEVER_LOADED}"


def test_a_model_once_unloaded_must_be_404():
    verdict = failed("MME-04", context(session(**{"describe-after-unload": 200})))
    assert verdict.observed == "GET /models/alpha (unloaded): HTTP 200"
    assert [line.split(" http")[0].split(" -X ")[1].split(" ")[0] for line in verdict.reproduce.splitlines()] == \
        ["POST", "DELETE", "GET"]


# MME-05 unload-model

def test_unloading_that_gives_the_memory_back_passes_with_the_figures():
    assert judge("MME-05", context()) == ("unloaded with 200, 404 once gone; memory given back: 100.0 MiB before "
                                          "loading, 400.0 MiB with 3 models, 110.0 MiB once they were unloaded"
                                          + AGREED)


@pytest.mark.parametrize("model, first", [("alpha", "load-alpha"), ("beta", "load"), ("gamma", "load-gamma")])
def test_an_unload_that_is_not_2xx_fails_mme_05(model, first):
    verdict = failed("MME-05", context(session(**{f"unload-{model}": (500, "no")})))
    assert verdict.observed == f"DELETE /models/{model}: HTTP 500 'no'"
    assert verdict.expected == "200: the model is unloaded"
    assert len(verdict.reproduce.splitlines()) == 2 and verdict.reproduce.splitlines()[0].startswith(
        "curl -sS -i -X POST")


def test_unloading_twice_must_answer_404():
    verdict = failed("MME-05", context(session(**{"unload-again": 200})))
    assert verdict.observed == "DELETE /models/alpha once unloaded: HTTP 200"
    assert verdict.expected == "404: not loaded"


def test_without_a_memory_reading_the_release_is_inconclusive():
    with pytest.raises(Inconclusive) as verdict:
        judge("MME-05", context(session(memory={"before": None, "loaded": 1, "unloaded": 1})))
    assert verdict.value.observed == ("200 and 404 as required, but the engine gave no memory reading, so whether "
                                      "the models' memory was released is not known")
    assert verdict.value.run is SESSION_SERVER


def test_models_too_small_to_measure_pass_without_judging_their_release():
    memory = {"before": 100 * MIB, "loaded": 104 * MIB, "unloaded": 104 * MIB}
    assert judge("MME-05", context(session(memory=memory))).startswith(
        "unloaded with 200, 404 once gone; the models took 4.0 MiB, under 8 MiB, so their release was not measured "
        "(100.0 MiB before loading, 104.0 MiB with 3 models, 104.0 MiB once they were unloaded)")


def test_unloading_that_keeps_the_memory_fails_mme_05_and_the_sequences_did_not_run():
    memory = {"before": 100 * MIB, "loaded": 400 * MIB, "unloaded": 390 * MIB}
    kept = runs.leak(session(memory=memory))
    assert kept == "10.0 of the 300.0 MiB three models took came back when they were unloaded"
    not_run = CouldNotRun(f"unloading does not give memory back ({kept}), so hundreds of loads would exhaust it")
    verdict = failed("MME-05", context(session(memory=memory), not_run))
    assert verdict.observed == ("unloading all 3 models gave back 10.0 of the 300.0 MiB loading them took (100.0 MiB "
                                "before loading, 400.0 MiB with 3 models, 390.0 MiB once they were unloaded)")
    assert verdict.expected == ("at least 50% of it given back when DELETE returns: the model's resources are "
                                "released")
    assert len(verdict.reproduce.splitlines()) == 6
    assert judge("MME-02", context(session(memory=memory), not_run)).endswith(
        f"; generated sequences not run: unloading does not give memory back ({kept}), so hundreds of loads would "
        "exhaust it")


def test_the_leak_reading_needs_all_three_readings_and_a_measurable_load():
    assert runs.leak(session(memory={"before": 1, "loaded": None, "unloaded": 1})) is None
    assert runs.leak(session(memory={"before": 0, "loaded": 7 * MIB, "unloaded": 7 * MIB})) is None
    assert runs.leak(session(memory={"before": 0, "loaded": 100 * MIB, "unloaded": 50 * MIB})) is None
    assert runs.leak(session(memory={"before": 0, "loaded": 100 * MIB, "unloaded": 51 * MIB})) is not None


# MME-06 invoke-model

def test_each_model_answering_with_its_own_passes():
    assert judge("MME-06", context()) == ("each of 3 loaded models answered with its own model (2 trained on "
                                          "different data); 404 when not loaded" + AGREED)


@pytest.mark.parametrize("step", ["invoke-alone", "invoke-alpha", "invoke-beta", "invoke-gamma"])
def test_an_invocation_of_a_loaded_model_that_is_not_2xx_fails_mme_06(step):
    verdict = failed("MME-06", context(session(**{step: (500, "err")})))
    model = "beta" if step == "invoke-alone" else step.removeprefix("invoke-")
    assert verdict.observed == f"/models/{model}/invoke: HTTP 500 'err'"
    assert verdict.expected == "2xx for a loaded model, with SageMaker's headers"
    assert len(verdict.reproduce.splitlines()) == 4


@pytest.mark.parametrize("step, model", [("invoke-unloaded", NEVER_LOADED), ("invoke-after-unload", "alpha")])
def test_an_invocation_of_a_model_not_loaded_must_be_404(step, model):
    verdict = failed("MME-06", context(session(**{step: (200, "0.5")})))
    assert verdict.observed == f"/models/{model}/invoke (not loaded): HTTP 200 '0.5'"
    assert verdict.expected == "404: the model is not loaded"
    assert len(verdict.reproduce.splitlines()) == 1


def test_a_model_answering_otherwise_beside_others_fails_mme_06():
    verdict = failed("MME-06", context(session(**{"invoke-beta": (200, ANSWERS["alpha"])})))
    assert verdict.observed == ("beta answered b'0.1\\n' with alpha and gamma loaded, b'0.9\\n' when it was the only "
                                "model")
    assert verdict.expected == ("each model's own answer: beta's as when it was the only model loaded, alpha's and "
                                "gamma's alike")
    assert len(verdict.reproduce.splitlines()) == 5


def test_two_names_of_one_model_answering_differently_fail_mme_06():
    verdict = failed("MME-06", context(session(**{"invoke-gamma": (200, "0.7\n")})))
    assert verdict.observed == "alpha and gamma, the same model, answered b'0.1\\n' and b'0.7\\n'"
    assert len(verdict.reproduce.splitlines()) == 6


def test_routing_is_not_judged_with_one_model_or_models_answering_alike():
    one = session(distinct_models=False, **{"invoke-beta": (200, ANSWERS["alpha"]),
                                           "invoke-alone": (200, ANSWERS["alpha"])})
    assert judge("MME-06", context(one)).startswith("loaded models answered 2xx, 404 when not loaded; routing not "
                                                    "judged: only one model is at hand;")
    alike = session(**{"invoke-beta": (200, ANSWERS["alpha"]), "invoke-alone": (200, ANSWERS["alpha"])})
    assert judge("MME-06", context(alike)).startswith("loaded models answered 2xx, 404 when not loaded; routing not "
                                                      "judged: the two models answer this payload alike;")


# The generated sequences, under each requirement

def divergence(requirement="MME-04"):
    steps = [runs.load_request("sequence", "s3-x", URLS["alpha"]), runs.request("sequence", "GET", "/models/s3-y")]
    return Divergence(requirement, "after POST /models ... -> GET /models/s3-y: HTTP 200 '{}'",
                      "404: it is not loaded", steps)


@pytest.mark.parametrize("requirement", sorted(CHECK_NAMES))
def test_a_sequence_that_diverged_fails_its_own_requirement_with_its_steps(requirement):
    verdict = failed(requirement, context(explored=exploration(divergence(requirement))))
    assert verdict.observed == "after POST /models ... -> GET /models/s3-y: HTTP 200 '{}'"
    assert verdict.expected == "404: it is not loaded"
    assert verdict.run is SEQUENCES_SERVER
    assert verdict.reproduce.splitlines() == [
        "curl -sS -i -X POST -H 'Content-Type: application/json' --data-binary '{\"model_name\": \"s3-x\", \"url\": "
        "\"/opt/ml/models/a/model\"}' http://127.0.0.1:8080/models",
        "curl -sS -i -X GET http://127.0.0.1:8080/models/s3-y"]


def test_a_sequence_that_diverged_elsewhere_is_a_note_under_the_other_requirements():
    summary = judge("MME-02", context(explored=exploration(divergence("MME-04"), sequences=12, steps=40,
                                                           routing=False)))
    assert summary.endswith("; of 12 generated sequences of load, list, describe, invoke and unload (40 requests), "
                            "one went wrong under MME-04 (judged there), none under MME-02")


def test_sequences_whose_server_did_not_start_fail_mme_02_and_are_a_note_elsewhere():
    stopped = StoppedServer("serve-multi-model-sequences", exit_code=137)
    not_run = CouldNotRun(f"the server never became healthy: {stopped.outcome()}", run=stopped)
    verdict = failed("MME-02", context(explored=not_run))
    assert verdict.observed.startswith("the multi-model server (SAGEMAKER_MULTI_MODEL=true, the models under "
                                       "/opt/ml/models): the container exited with code 137")
    assert verdict.run is stopped
    note = judge("MME-03", context(explored=not_run))
    assert note.startswith("the 3 loaded models listed once each in 2 page(s); generated sequences not run: the "
                           "multi-model server") and "(MME-02 fails on it)" in note


def test_a_session_whose_server_did_not_start_fails_mme_02_and_leaves_the_rest_inconclusive():
    stopped = StoppedServer("serve-multi-model", exit_code=1)
    not_run = CouldNotRun(f"the server never became healthy: {stopped.outcome()}", run=stopped)
    assert failed("MME-02", context(not_run, not_run)).run is stopped
    with pytest.raises(Inconclusive, match=r"did not start \(MME-02 fails on it\)"):
        judge("MME-05", context(not_run, not_run))
