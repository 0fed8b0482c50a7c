"""The serverless profile's judgement, in process: worker counting and the image-size limit. The profile itself
runs on real images (tests/integration, the serverless-* samples)."""

from types import SimpleNamespace

import pytest

from byoc_conformance.checks import serverless as checks
from byoc_conformance.serverless import ProfileRun, profile
from byoc_conformance.verdicts import Failed, NotApplicable


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
