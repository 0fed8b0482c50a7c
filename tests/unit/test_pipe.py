"""The Pipe feeder's report, and the feeder itself run with the host's /bin/sh on a real directory."""

import os
import signal
import subprocess
import time
from pathlib import Path

import pytest

from byoc_conformance import pipe


def test_the_feeders_lines_say_what_the_program_read():
    log = ("byoc-feed training 0 opened\nbyoc-feed training 0 delivered\nbyoc-feed training 1 opened\n"
           "byoc-feed training 1 cut-short\nunrelated line\n")
    feed = pipe.Feed.parse(("training", "validation"), log)
    assert feed.opened("training") == 2 and feed.delivered("training") == 1 and feed.opened("validation") == 0
    assert not feed.failed_to_start()
    assert feed.describe("training") == "'training': 2 epoch FIFO(s) opened, 1 read to the end"


def test_a_feeder_that_could_not_make_its_fifos_is_told_apart_from_a_program_that_never_read():
    assert pipe.Feed.parse(("training",), "sh: 1: mkfifo: not found\nbyoc-feed training 0 mkfifo-failed\n"
                           ).failed_to_start()
    assert not pipe.Feed.parse(("training",), "").failed_to_start()  # nobody opened training_0


@pytest.mark.parametrize("reads", [1, 3])
def test_each_epoch_is_a_new_fifo_and_a_second_open_of_one_finds_nothing(tmp_path: Path, reads):
    """The feeder script as the harness runs it, with /opt/ml/input replaced by a temporary directory."""
    data = tmp_path / "opt" / "data"
    data.mkdir(parents=True)
    (tmp_path / "feed").mkdir()
    (tmp_path / "feed" / "training").write_bytes(b"1,2\n3,4\n")
    script = pipe.SCRIPT.replace("/opt/ml/input/data", str(data)).replace(pipe.FEED_DIR, str(tmp_path / "feed"))
    feeder = subprocess.Popen(["/bin/sh", "-c", script, "feeder", "training"], stdout=subprocess.PIPE, text=True,
                              start_new_session=True)
    try:
        for epoch in range(reads):
            fifo = data / f"training_{epoch}"
            assert _wait_for(fifo), f"{fifo} never appeared"
            assert fifo.read_bytes() == b"1,2\n3,4\n"
            assert not fifo.exists()  # unlinked once opened: reading it again is an error, not a hang
    finally:
        os.killpg(feeder.pid, signal.SIGKILL)  # the feeding subshells too, as stopping the feeder container does
    lines = feeder.communicate(timeout=10)[0]
    assert pipe.Feed.parse(("training",), lines).delivered("training") == reads


def _wait_for(path: Path) -> bool:
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        if path.exists():
            return True
        time.sleep(0.01)
    return False
