"""The serverless profile's judgement, in process: worker counting, the image-size limit, and a profile server that
does not start (SLS-04 fails, the rest inconclusive). The profile itself runs on real images (tests/integration, the
serverless-* samples)."""

from types import SimpleNamespace

import pytest

from byoc_conformance.checks import serverless as checks
from byoc_conformance.hosting import invocation
from byoc_conformance.plan import Plan
from byoc_conformance.serverless import Answer, ProfileRun, profile, run_profile
from byoc_conformance.verdicts import Failed, Inconclusive, NotApplicable

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


def profile_context(server, window=180.0, oom_killed=False):
    """A --byoc-serverless run whose server is `server` (run_profile's outcome, as the runner leaves it)."""
    hosting = SimpleNamespace(plan=Plan(), serverless_mb=1024)
    run = ProfileRun(server=server, memory_mb=1024, cpus=0.58, window=window, oom_killed=oom_killed)
    if server.healthy_after is not None:
        run.answers = {kind: Answer(invocation(b"1,2,3,4\n", kind), 200, 2) for kind in ("valid", "large")}
        run.processes = [row(10, 1, "python3 /opt/program/serve")]
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
