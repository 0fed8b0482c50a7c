"""Claims that cannot start fail (checks/claims.py), in process: a claimed mode's server that exited or never answered
/ping 200 fails the claim's first MUST with its exit code, log and `docker run`, and leaves the claim's other checks
inconclusive with that cause; a healthy one passes through. Each claimed mode's own module is tested on it in its
unit tests (test_multi_model, test_serverless, test_streaming, test_asynchronous, test_pipeline), and the
mme-server-exits sample proves it on a real container."""

from contextlib import contextmanager

import pytest

from byoc_conformance.checks import claims
from byoc_conformance.hosting import Endpoint, Server
from byoc_conformance.verdicts import Failed, Inconclusive, NotApplicable, describe, reproduction

CRASH_LOG = ("Traceback (most recent call last):\n"
             '  File "/opt/program/serve", line 9, in <module>\n'
             "    multi_model.load_model_from('/opt/ml/model')\n"
             "FileNotFoundError: [Errno 2] No such file or directory: '/opt/ml/model/model.json'\n")


class StoppedServer(Server):
    """A hosting.Server as a run leaves it, without a container: healthy, exited with `exit_code`, still starting when
    its window ended (exit_code None), or refused by the engine (start_error)."""

    def __init__(self, role="serve-multi-model", *, healthy=False, exit_code=1, start_error=None, logs=CRASH_LOG,
                 user=None):
        self.endpoint = Endpoint(role, user=user)
        self.label = f"`serve` container ({role})"
        self.image = "me/algo"
        self.healthy_after = 0.4 if healthy else None
        self.exit_code = None if healthy else exit_code
        self.start_error, self.final_logs = start_error, logs
        self.last_ping = "HTTP 200" if healthy else "no answer (ConnectionError)"
        self.invocation_timeout = 70.0

    def reproduce(self, repro_dir):
        return f"docker run -d --rm --name byoc-repro-{self.role} -p 127.0.0.1:8080:8080 {self.image} serve"


@contextmanager
def fresh(server):
    """Hosting.fresh as the runners use it, handing them `server`."""
    yield server


def test_a_healthy_server_passes_through_for_every_requirement():
    for requirement in ("MME-02", "MME-05"):
        assert claims.require_started(claims.MULTI_MODEL, requirement, StoppedServer(healthy=True)) is None
    assert claims.claimed_run(claims.MULTI_MODEL, "MME-02", lambda: "the session") == "the session"


def test_a_server_that_exited_fails_the_first_must_with_its_exit_code_log_and_docker_run(tmp_path):
    server = StoppedServer()
    with pytest.raises(Failed) as failed:
        claims.require_started(claims.MULTI_MODEL, "MME-02", server)
    verdict = failed.value
    assert verdict.run is server
    assert verdict.observed.startswith("the multi-model server (SAGEMAKER_MULTI_MODEL=true, the models under "
                                       "/opt/ml/models): the container exited with code 1 before /ping answered 200")
    assert "SageMaker fails every multi-model endpoint" in verdict.expected
    shown = describe(verdict, "MME-02 (MUST) ...", reproduction(verdict, tmp_path))
    assert "FileNotFoundError: [Errno 2] No such file or directory: '/opt/ml/model/model.json'" in shown
    assert "  reproduce:\n    docker run -d --rm --name byoc-repro-serve-multi-model" in shown


def test_the_claims_other_checks_are_inconclusive_with_that_cause():
    server = StoppedServer()
    for requirement in ("MME-03", "MME-04", "MME-05", "MME-06"):
        with pytest.raises(Inconclusive, match=r"^the multi-model server .* did not start \(MME-02 fails on it\), so "
                           r"this was not judged: the container exited with code 1") as inconclusive:
            claims.require_started(claims.MULTI_MODEL, requirement, server)
        assert inconclusive.value.run is server


def test_a_server_still_starting_fails_unless_its_window_was_cut_short_of_the_claims_limit():
    still_starting = StoppedServer(exit_code=None)
    with pytest.raises(Failed, match="did not answer 200 within the start-up window"):
        claims.require_started(claims.SERVERLESS, "SLS-04", still_starting)
    for requirement in ("SLS-04", "SLS-02"):
        with pytest.raises(Inconclusive, match=r"still starting when its window ended \(15 s"):
            claims.require_started(claims.SERVERLESS, requirement, still_starting, cut_short="15 s, short of 180 s")
    with pytest.raises(Failed, match="exited with code 1"):  # one that exited did fail, however short its window
        claims.require_started(claims.SERVERLESS, "SLS-04", StoppedServer(), cut_short="15 s, short of 180 s")


def test_a_container_the_engine_cannot_start_is_img_01s_to_judge():
    refused = StoppedServer(start_error="exec: \"serve\": executable file not found in $PATH", exit_code=None)
    for requirement in ("MME-02", "MME-03"):
        with pytest.raises(Inconclusive, match="IMG-01 judges a container the engine cannot start"):
            claims.require_started(claims.MULTI_MODEL, requirement, refused)


def test_a_run_stopped_by_a_server_that_did_not_start_is_judged_by_the_rule():
    def stopped_by(server):
        def run():
            server.require_healthy()  # the runners' own report: an Inconclusive that carries the server
        return run

    own = StoppedServer("serve-async")
    with pytest.raises(Failed, match=r"^the server sent the asynchronous request: the container exited") as failed:
        claims.claimed_run(claims.ASYNCHRONOUS, "ASYNC-01", stopped_by(own))
    assert failed.value.run is own
    shared = StoppedServer("serve", exit_code=3)
    with pytest.raises(Failed, match=r"^`serve` itself \(the shared server, started before the server sent the "
                       r"asynchronous request\): the container exited with code 3") as failed:
        claims.claimed_run(claims.ASYNCHRONOUS, "ASYNC-01", stopped_by(shared))
    assert failed.value.run is shared
    with pytest.raises(Inconclusive, match=r"^the shared server the streamed request goes to did not start "
                       r"\(STREAM-01 fails on it\)"):
        claims.claimed_run(claims.STREAMING, "STREAM-02", stopped_by(shared))


def test_other_verdicts_of_a_run_are_raised_as_they_are():
    def raises(verdict):
        def run():
            raise verdict
        return run

    csv = Inconclusive("the probes send and accept text/csv, which the declaration does not list")
    healthy = Inconclusive("unloading does not give memory back", run=StoppedServer(healthy=True))
    for verdict in (csv, healthy, NotApplicable("the image does not carry the multi-models label")):
        with pytest.raises(type(verdict)) as raised:
            claims.claimed_run(claims.MULTI_MODEL, "MME-02", raises(verdict))
        assert raised.value is verdict


def test_batch_is_no_claim_so_a_shared_serve_that_does_not_start_is_serve_05s_alone():
    def stopped_by(server):
        def run():
            server.require_healthy()
        return run

    shared = StoppedServer("serve", exit_code=1)
    for requirement in ("BATCH-02", "BATCH-05"):
        with pytest.raises(Inconclusive, match=r"^`serve` itself .* did not start \(SERVE-05 fails on it\)"):
            claims.claimed_run(claims.BATCH, requirement, stopped_by(shared))
    own = StoppedServer("batch-concurrent", exit_code=1)
    with pytest.raises(Failed, match=r"^the batch transform server \(SAGEMAKER_BATCH=true\): the container exited"):
        claims.claimed_run(claims.BATCH, "BATCH-02", stopped_by(own))
    with pytest.raises(Inconclusive, match=r"did not start \(BATCH-02 fails on it\)"):
        claims.claimed_run(claims.BATCH, "BATCH-05", stopped_by(own))
