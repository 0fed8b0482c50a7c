"""Pipe-mode channels as SageMaker feeds them (TRAIN-09): per channel and epoch a FIFO
/opt/ml/input/data/<channel>_<epoch>, written by a feeder container that shares the job's /opt/ml/input.

The feeder is the image under test started with /bin/sh (no registry to pull a tool image from; an image without
sh and mkfifo cannot be fed, and its Pipe check is inconclusive). Per channel it makes the FIFO of epoch 0, waits
for the program to open it, unlinks it at once (so a second open of the same epoch finds nothing, rather than a
FIFO no one will ever write again), writes the channel's stream, closes it, and only then makes the next epoch's.
It reports each step on its stdout, which the harness reads back.

The streams are files in FEED_DIR (opt_ml.TrainingInput.pipe_feed): "<channel>", which every epoch carries, or for
a shuffled channel "<channel>@<n>", carried by the epochs e with e % SHUFFLED_EPOCHS == n (each epoch is shuffled
anew, and the feed is prepared before the job starts)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from .opt_ml import SHUFFLED_EPOCHS

FEED_DIR = "/byoc-feed"  # in the feeder's own filesystem: what the epochs carry, per channel
MARK = "byoc-feed"

SCRIPT = f"""
feed() {{
  epoch=0
  while :; do
    fifo="/opt/ml/input/data/$1_$epoch"
    mkfifo "$fifo" || {{ echo "{MARK} $1 $epoch mkfifo-failed"; exit 1; }}
    exec 3>"$fifo"
    rm -f "$fifo"
    echo "{MARK} $1 $epoch opened"
    stream="{FEED_DIR}/$1@$((epoch % {SHUFFLED_EPOCHS}))"
    [ -e "$stream" ] || stream="{FEED_DIR}/$1"
    if cat "$stream" >&3; then echo "{MARK} $1 $epoch delivered"; else echo "{MARK} $1 $epoch cut-short"; fi
    exec 3>&-
    epoch=$((epoch + 1))
  done
}}
for channel in "$@"; do feed "$channel" & done
wait
"""
ENTRYPOINT = ["/bin/sh", "-c", SCRIPT, "feeder"]  # the channels follow as $1, $2, ...

_LINE = re.compile(rf"^{MARK} (\S+) (\d+) (\S+)$")


@dataclass
class Feed:
    """What the feeder saw of the program's reads: per channel and epoch, the last step reached."""

    channels: tuple[str, ...]
    epochs: dict[str, dict[int, str]] = field(default_factory=dict)  # opened | delivered | cut-short | mkfifo-failed
    log: str = ""

    @classmethod
    def parse(cls, channels: tuple[str, ...], log: str) -> Feed:
        feed = cls(channels, {channel: {} for channel in channels}, log)
        for line in log.splitlines():
            match = _LINE.match(line.strip())
            if match and match[1] in feed.epochs:
                feed.epochs[match[1]][int(match[2])] = match[3]
        return feed

    def opened(self, channel: str) -> int:
        return sum(1 for step in self.epochs[channel].values() if step != "mkfifo-failed")

    def delivered(self, channel: str) -> int:
        return sum(1 for step in self.epochs[channel].values() if step == "delivered")

    def failed_to_start(self) -> bool:
        """The feeder could not make its FIFOs: the image lacks sh or mkfifo, or /opt/ml/input is not writable."""
        return any("mkfifo-failed" in steps.values() for steps in self.epochs.values()) or (
            not any(self.epochs.values()) and bool(self.log.strip()))

    def describe(self, channel: str) -> str:
        return (f"{channel!r}: {self.opened(channel)} epoch FIFO(s) opened, {self.delivered(channel)} read to the "
                "end")
