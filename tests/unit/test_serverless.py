"""The serverless profile: its run (serverless.run_profile) on a stand-in server, and the checks' judgement of the
record it leaves (serverless.ProfileRun), in process: worker counting, the answers, memory, the image-size limit, and
a profile server that does not start (SLS-04 fails, the rest inconclusive). The profile runs on real images in
tests/integration (the serverless-* samples)."""

import dataclasses
from contextlib import contextmanager
from types import SimpleNamespace

import pytest
import requests

from byoc_conformance.checks import serverless as checks
from byoc_conformance.exchange import Answer
from byoc_conformance.hosting import invocation
from byoc_conformance.outcome import Unclaimed
from byoc_conformance.plan import Plan
from byoc_conformance.probing import Sent
from byoc_conformance.serverless import INVOCATION_LIMIT, PAYLOAD_LIMIT, ProfileRun, profile, run_profile
from byoc_conformance.verdicts import Failed, Inconclusive, NotApplicable

from .fakes import FakeHosting
from .test_claims import StoppedServer


def run_with(processes):
    return ProfileRun(server=None, memory_mb=1024, cpus=0.58, window=180, processes=processes)  # type: ignore[arg-type]


def row(pid, ppid, command):
    return {"PID": str(pid), "PPID": str(ppid), "UID": "1000", "COMMAND": command}


def test_a_threaded_server_is_one_worker():
    assert run_with([row(10, 1, "python3 /opt/program/serve")]).workers == 1


def test_children_forked_with_their_parents_command_are_workers():
    forked = [row(10, 1, "python3 serve"), *(row(11 + n, 10, "python3 serve") for n in range(4))]
    assert run_with(forked).workers == 4


def test_helpers_with_commands_of_their_own_are_not_workers():
    # nginx in front of one gunicorn worker, as AWS's scikit-learn example serves
    mixed = [row(10, 1, "python serve"), row(11, 10, "nginx: master process"), row(12, 11, "nginx: worker process"),
             row(13, 10, "gunicorn app"), row(14, 13, "gunicorn app")]
    assert run_with(mixed).workers == 1


def test_no_process_list_is_no_count():
    assert run_with(None).workers is None


def test_the_cpu_share_follows_the_memory_size_and_stops_at_the_machine():
    assert (profile(1024, 2).cpus, profile(6144, 2).cpus) == (0.58, 2.0)
    assert profile(1024, 2).user == "1000:1000"


def context(size, serverless_mb=1024):
    hosting = SimpleNamespace(serverless_mb=serverless_mb, image_size=size, image="algo:1")
    return SimpleNamespace(hosting=hosting)


def test_an_image_over_10_gib_fails_the_serverless_size_limit():
    with pytest.raises(Failed, match="10.50 GiB"):
        checks.serverless_image_size(context(int(10.5 * 1024**3)))
    assert "within 10 GiB" in checks.serverless_image_size(context(300 * 1024**2))


def test_without_the_serverless_profile_the_size_limit_does_not_apply():
    with pytest.raises(NotApplicable):
        checks.serverless_image_and_disk(context(11 * 1024**3, serverless_mb=None))


def response(status=200, body=b"0\n"):
    return Answer(status, body)


def answered(kind, status=200, body=b"0\n"):
    return Sent(invocation(b"1,2,3,4\n", kind), response=response(status, body))


def profile_context(server, window=180.0, oom_killed=False, **recorded):
    """A --byoc-serverless run whose server is `server` (run_profile's outcome, as the runner leaves it); `recorded`
    replaces what a healthy server's run recorded (its answers, processes, memory in use)."""
    hosting = SimpleNamespace(plan=Plan(), serverless_mb=1024)
    run = ProfileRun(server=server, memory_mb=1024, cpus=0.58, window=window, oom_killed=oom_killed)
    if server.healthy_after is not None:
        run.answers = {kind: answered(kind) for kind in ("valid", "large")}
        run.processes = [row(10, 1, "python3 /opt/program/serve")]
    run = dataclasses.replace(run, **recorded)
    hosting.plan.once((run_profile.__module__, run_profile.__qualname__), lambda: run)
    return SimpleNamespace(hosting=hosting)


SERVERLESS_CHECKS = (checks.serverless_start_and_payloads, checks.serverless_fits_memory,
                     checks.serverless_one_worker, checks.serverless_not_root)


def test_a_profile_server_that_starts_and_answers_passes_every_check():
    ctx = profile_context(StoppedServer("serve-serverless", healthy=True, user="1000:1000"))
    assert "valid CSV and a 4 MiB request answered 2xx" in checks.serverless_start_and_payloads(ctx)
    assert "never out of memory" in checks.serverless_fits_memory(ctx)
    assert checks.serverless_one_worker(ctx).startswith("one worker")
    assert "answering as user 1000:1000" in checks.serverless_not_root(ctx)


def test_a_profile_server_that_exits_fails_sls_04_and_leaves_the_rest_inconclusive():
    server = StoppedServer("serve-serverless", exit_code=1, user="1000:1000", logs="ValueError: no model\n")
    ctx = profile_context(server)
    with pytest.raises(Failed, match=r"^the server under the serverless profile \(1024 MB, 0.58 CPUs, user "
                       r"1000:1000\): the container exited with code 1") as failed:
        checks.serverless_start_and_payloads(ctx)
    assert failed.value.run is server
    for judge in SERVERLESS_CHECKS[1:]:
        with pytest.raises(Inconclusive, match=r"did not start \(SLS-04 fails on it\), so this was not judged"):
            judge(ctx)


def test_what_the_log_or_the_engine_says_stopped_it_fails_its_own_requirement_too():
    denied = StoppedServer("serve-serverless", user="1000:1000",
                           logs="PermissionError: [Errno 13] Permission denied: '/opt/program/cache'\n")
    with pytest.raises(Failed, match="kept from writing: PermissionError"):
        checks.serverless_not_root(profile_context(denied))
    killed = StoppedServer("serve-serverless", exit_code=137, user="1000:1000", logs="")
    with pytest.raises(Failed, match="out of memory under MemorySizeInMB 1024"):
        checks.serverless_fits_memory(profile_context(killed, oom_killed=True))


def test_a_window_cut_short_by_the_startup_timeout_shows_no_failure_of_a_server_still_starting():
    ctx = profile_context(StoppedServer("serve-serverless", exit_code=None, user="1000:1000"), window=15.0)
    for judge in SERVERLESS_CHECKS:
        with pytest.raises(Inconclusive, match=r"still starting when its window ended \(15 s \(--byoc-startup-timeout\)"
                           r", shorter than serverless's 180 s\)"):
            judge(ctx)


def healthy_profile(**recorded):
    return profile_context(StoppedServer("serve-serverless", healthy=True, user="1000:1000", logs=""), **recorded)


def test_an_answer_other_than_2xx_or_none_fails_sls_04():
    refused = {"valid": answered("valid"), "large": answered("large", 413, b"too large")}
    with pytest.raises(Failed, match=r"\.\.\.: HTTP 413, 9 bytes$") as failed:
        checks.serverless_start_and_payloads(healthy_profile(answers=refused))
    assert failed.value.request is refused["large"].request
    assert "2xx within 60 s" in failed.value.expected
    unanswered = {"valid": Sent(invocation(b"1,2,3,4\n", "valid"), error="no complete answer within 70 s",
                                timed_out=True)}
    with pytest.raises(Failed, match=r"\.\.\.: no answer \(no complete answer within 70 s\)$"):
        checks.serverless_start_and_payloads(healthy_profile(answers=unanswered))


def test_an_answer_over_4_mib_fails_sls_04():
    large = {"large": answered("large", body=b"0" * (PAYLOAD_LIMIT + 1))}
    with pytest.raises(Failed, match=f"^the answer to the large request has {PAYLOAD_LIMIT + 1} bytes$"):
        checks.serverless_start_and_payloads(healthy_profile(answers=large))


def test_a_healthy_server_that_does_not_answer_is_inconclusive_for_sls_06_unless_its_log_says_why():
    unanswered = {"valid": Sent(invocation(b"1,2,3,4\n", "valid"), error="Connection reset")}
    with pytest.raises(Inconclusive, match="with no sign in its logs of being kept from writing"):
        checks.serverless_not_root(healthy_profile(answers=unanswered))
    denied = StoppedServer("serve-serverless", healthy=True, user="1000:1000",
                           logs="OSError: [Errno 30] Read-only file system: '/opt/ml/model/cache'\n")
    with pytest.raises(Failed, match="kept from writing: OSError: .Errno 30. Read-only file system"):
        checks.serverless_not_root(profile_context(denied, answers=unanswered))


def test_the_memory_in_use_is_shown_when_read():
    assert "(300 MiB in use after the probes)" in checks.serverless_fits_memory(healthy_profile(memory_used=300 << 20))
    assert "(its use not read)" in checks.serverless_fits_memory(healthy_profile())


def test_sls_05_fails_many_workers_and_is_inconclusive_without_the_process_list():
    forked = [row(10, 1, "gunicorn app"), row(11, 10, "gunicorn app"), row(12, 10, "gunicorn app")]
    with pytest.raises(Failed, match=r"^2 worker processes, forked with the server's command line: 10 \(parent 1\) "
                       "gunicorn app; 11") as failed:
        checks.serverless_one_worker(healthy_profile(processes=forked))
    assert failed.value.reproduce == "docker top byoc-repro-serve-serverless -o pid,ppid,uid,args"
    with pytest.raises(Inconclusive, match="did not list the container's processes"):
        checks.serverless_one_worker(healthy_profile(processes=None))


def test_an_image_of_unknown_size_is_inconclusive():
    with pytest.raises(Inconclusive, match="no size for the image"):
        checks.serverless_image_size(context(None))
    assert checks.serverless_image_and_disk(context(1024**3)).endswith("the 5 GB of ephemeral disk is not probed")


# The run: a server under the profile, what is sent to it and what the engine says of it.

class ProfileContainer:
    def __init__(self, oom_killed=False):
        self.attrs = {"State": {"OOMKilled": oom_killed}}
        self.reloaded = 0

    def reload(self):
        self.reloaded += 1

    def stats(self, stream, one_shot):
        return {"memory_stats": {"usage": 300 << 20, "stats": {"inactive_file": 100 << 20}}}

    def top(self, ps_args):
        return {"Titles": ["PID", "PPID", "UID", "COMMAND"], "Processes": [["10", "1", "1000", "python3 serve"]]}


class ProfileServer(StoppedServer):
    """A server under the profile that answers each request with `answers`' next (a status, or an exception)."""

    def __init__(self, answers, healthy=True, oom_killed=False):
        super().__init__("serve-serverless", healthy=healthy, exit_code=None if healthy else 137, user="1000:1000")
        self.container = ProfileContainer(oom_killed)
        self.answers, self.sent, self.unanswered = list(answers), [], None

    def send(self, request, **options):
        self.sent.append(request)
        answer = self.answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return response(answer)

    def exited(self):
        return not self.healthy_after


def profile_hosting(server, serverless_mb=1024):
    endpoints = []

    @contextmanager
    def fresh(endpoint, window):
        endpoints.append((endpoint, window))
        yield server

    hosting = FakeHosting(plan=Plan(), serverless_mb=serverless_mb, startup_timeout=15.0, fresh=fresh,
                          engine=SimpleNamespace(cpus=2))
    return hosting, endpoints


def test_the_run_sends_valid_csv_and_a_4_mib_request_under_the_profile_and_records_what_came():
    server = ProfileServer([200, requests.ConnectionError("reset")])
    hosting, endpoints = profile_hosting(server)
    run = run_profile(hosting)
    (endpoint, window), = endpoints
    assert (endpoint.memory_mb, endpoint.cpus, endpoint.user, window) == (1024, 0.58, "1000:1000", 15.0)
    assert (run.memory_mb, run.cpus, run.window) == (1024, 0.58, 15.0)
    assert server.invocation_timeout == INVOCATION_LIMIT + 10
    assert [request.name for request in server.sent] == ["serverless-valid.payload", "serverless-4mib.payload"]
    assert len(server.sent[1].body) >= PAYLOAD_LIMIT - 100
    assert run.answers["valid"].response.status_code == 200
    assert (run.answers["large"].response, run.answers["large"].error) == (None, "reset")
    assert run.memory_used == 200 << 20 and run.workers == 1 and not run.oom_killed


def test_the_run_of_a_server_that_never_became_healthy_sends_nothing_and_reads_whether_it_ran_out_of_memory():
    server = ProfileServer([], healthy=False, oom_killed=True)
    run = run_profile(profile_hosting(server)[0])
    assert (server.sent, run.answers, run.processes, run.memory_used) == ([], {}, None, None)
    assert run.oom_killed


def test_without_a_memory_size_there_is_no_profile_to_run():
    with pytest.raises(Unclaimed, match="no --byoc-serverless MEMORY_MB"):
        run_profile(profile_hosting(ProfileServer([]), serverless_mb=None)[0])
