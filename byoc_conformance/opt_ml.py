"""Synthetic /opt/ml/input trees, written the way SageMaker writes them for a training job (TRAIN-03..10)."""

from __future__ import annotations

import dataclasses
import gzip
import json
import random
from dataclasses import dataclass, field

from . import recordio, specs
from .declaration import DEFAULT_CSV, DEFAULTS, CsvLayout, Declaration

CURRENT_HOST = "algo-1"
CHECKPOINTS = "/opt/ml/checkpoints"  # CheckpointConfig.LocalPath's default (TRAIN-19)
DATA_DIR = "/opt/ml/input/data"  # a channel's directory (File, FastFile) or FIFOs (Pipe) are below it
CODE_FILE = "code/sourcedir.tar.gz"  # script mode's source archive, below /opt/ml/input
# A shuffled Pipe channel is shuffled anew each epoch. The feed is prepared before the job starts and the job may
# read any number of epochs, so the harness prepares this many orders and epoch e carries order e % SHUFFLED_EPOCHS.
SHUFFLED_EPOCHS = 4


def host_names(count: int) -> tuple[str, ...]:
    """The hosts of a job of `count` instances, as SageMaker names them, sorted as resourceconfig.json lists them
    (lexicographically: algo-10 comes before algo-2)."""
    return tuple(sorted(f"algo-{number}" for number in range(1, count + 1)))


@dataclass(frozen=True)
class ChannelConfig:
    """How a channel is delivered: its input mode, S3 distribution and record wrapping (inputdataconfig.json), and
    its compression and ShuffleConfig.Seed, which SageMaker honours in delivery but does not write to the container."""

    mode: str = "File"  # File | Pipe | FastFile
    distribution: str = "FullyReplicated"  # FullyReplicated | ShardedByS3Key
    record_wrapper: str = "None"  # None | RecordIO
    compression: str = "None"  # None | Gzip: Pipe mode decompresses, File and FastFile deliver the objects as they are
    shuffle_seed: int | None = None  # ShuffleConfig.Seed; None: the objects come in key order

    def entry(self) -> dict[str, str]:
        return {"TrainingInputMode": self.mode, "S3DistributionType": self.distribution,
                "RecordWrapperType": self.record_wrapper}


@dataclass(frozen=True)
class TrainingInput:
    """What goes under /opt/ml/input of every host of a job: config files and, per channel, the files in its
    directory."""

    channels: dict[str, dict[str, bytes]]
    hyperparameters: dict[str, str] = field(default_factory=dict)
    content_types: dict[str, str] = field(default_factory=dict)
    code: bytes | None = None  # script mode: sourcedir.tar.gz, at script.SUBMIT_PATH
    hosts: tuple[str, ...] = (CURRENT_HOST,)
    delivery: dict[str, ChannelConfig] = field(default_factory=dict)  # a channel not named: File, replicated
    checkpoints: bool = False  # the job has a CheckpointConfig: checkpointconfig.json, and CHECKPOINTS kept
    instance_type: str = "local"  # ResourceConfig.InstanceType, as resourceconfig.json names it

    def config(self, channel: str) -> ChannelConfig:
        return self.delivery.get(channel, ChannelConfig())

    def in_mode(self, mode: str) -> tuple[str, ...]:
        """The channels delivered in this input mode."""
        return tuple(channel for channel in self.channels if self.config(channel).mode == mode)

    def order(self, channel: str, epoch: int = 0) -> tuple[str, ...]:
        """The channel's S3 keys in the order SageMaker takes them in `epoch`: key order, or with a ShuffleConfig an
        order shuffled with its seed, another one each epoch (epoch 0 is the order File and FastFile mode deal
        from). Of SHUFFLED_EPOCHS orders, all differ when the keys allow it (three or more keys)."""
        keys = sorted(self.channels[channel])
        seed = self.config(channel).shuffle_seed
        if seed is None:
            return tuple(keys)
        shuffles = random.Random(seed)
        orders: list[tuple[str, ...]] = []
        while len(orders) <= epoch % SHUFFLED_EPOCHS:
            order = tuple(shuffles.sample(keys, len(keys)))
            if order not in orders or len(keys) < 3:  # fewer than 3 keys have fewer orders than epochs to fill
                orders.append(order)
        return orders[-1]

    def objects(self, channel: str, host: str = CURRENT_HOST, epoch: int = 0) -> dict[str, bytes]:
        """The channel's objects (S3 key below the channel's prefix -> content) that `host` gets in `epoch`: all of
        them, or with ShardedByS3Key every n-th in the epoch's order (key order unless shuffled), so that each of n
        hosts gets about 1/n, disjoint from the others' (TRAIN-07). Shuffled, they come in the epoch's order, and a
        sharded channel is dealt anew each epoch (an object may go to another host in the next one)."""
        objects = self.channels[channel]
        config = self.config(channel)
        if config.distribution != "ShardedByS3Key" and config.shuffle_seed is None:
            return objects
        order = self.order(channel, epoch)
        if config.distribution != "ShardedByS3Key":
            return {key: objects[key] for key in order}
        rank, count = self.hosts.index(host), len(self.hosts)
        return {key: objects[key] for number, key in enumerate(order) if number % count == rank}

    def config_files(self, host: str = CURRENT_HOST) -> dict[str, dict]:
        inputdataconfig = {
            channel: {
                **({"ContentType": self.content_types[channel]} if channel in self.content_types else {}),
                **self.config(channel).entry(),
            }
            for channel in self.channels
        }
        resourceconfig = {
            "current_host": host,
            "hosts": list(self.hosts),
            "network_interface_name": "eth0",
            "current_group_name": "homogeneousCluster",
            "current_instance_type": self.instance_type,
            "instance_groups": [{"instance_group_name": "homogeneousCluster", "instance_type": self.instance_type,
                                 "hosts": list(self.hosts)}],
        }
        files = {
            "hyperparameters.json": self.hyperparameters,
            "inputdataconfig.json": inputdataconfig,
            "resourceconfig.json": resourceconfig,
        }
        if self.checkpoints:
            files["checkpointconfig.json"] = {"LocalPath": CHECKPOINTS, "S3Uri": "s3://byoc-conformance/checkpoints/"}
        return files

    def files(self, host: str = CURRENT_HOST) -> dict[str, bytes]:
        """Relative to /opt/ml/input of `host`: the config files (each checked against its schema in specs/ first)
        and the File-mode channels' data. FastFile and Pipe channels are delivered on their own (fastfile_channels,
        pipe_streams)."""
        files = {}
        for name, document in self.config_files(host).items():
            specs.validate(document, name.replace(".json", ".schema.json"), f"the harness's {name}")
            files[f"config/{name}"] = json.dumps(document, indent=2).encode()
        for channel in self.in_mode("File"):
            files.update({f"data/{channel}/{key}": content for key, content in self.objects(channel, host).items()})
        if self.code is not None:
            files[CODE_FILE] = self.code
        return files

    def directories(self) -> tuple[str, ...]:
        # File-mode channel directories exist even when empty; FastFile ones are mount points (the engine makes
        # them, and refuses to write through them), Pipe ones are absent.
        return ("config", "data", *(f"data/{channel}" for channel in self.in_mode("File")),
                *(("code",) if self.code is not None else ()))

    def fastfile_channels(self, host: str = CURRENT_HOST) -> dict[str, dict[str, bytes]]:
        """FastFile channels: their files, which appear read-only at /opt/ml/input/data/<channel> (TRAIN-08)."""
        return {channel: self.objects(channel, host) for channel in self.in_mode("FastFile")}

    def pipe_streams(self, host: str = CURRENT_HOST) -> dict[str, bytes]:
        """Pipe channels: what the FIFO of epoch 0 carries, the channel's objects one after another in key order
        (TRAIN-09) or, shuffled, in the epoch's order (see stream)."""
        return {channel: self.stream(channel, host) for channel in self.in_mode("Pipe")}

    def stream(self, channel: str, host: str = CURRENT_HOST, epoch: int = 0) -> bytes:
        """What a Pipe channel's FIFO carries in `epoch`: its objects in the epoch's order, each decompressed if the
        channel is Gzip (SageMaker decompresses as it streams; gzip.decompress reads every member of an object) and
        then, with RecordWrapperType RecordIO, wrapped in a RecordIO record of its own."""
        config = self.config(channel)
        objects = self.objects(channel, host, epoch)
        keys = sorted(objects) if config.shuffle_seed is None else objects
        parts = (objects[key] for key in keys)
        if config.compression == "Gzip":
            parts = (gzip.decompress(part) for part in parts)
        if config.record_wrapper == "RecordIO":
            parts = (recordio.wrap(part) for part in parts)
        return b"".join(parts)

    def pipe_feed(self, host: str = CURRENT_HOST) -> dict[str, bytes]:
        """The feeder's files (pipe.py): per Pipe channel one file named after it, which every epoch carries, or
        for a shuffled channel one per prepared order, "<channel>@<n>" for epochs n, n + SHUFFLED_EPOCHS, ...
        ("@" cannot occur in a channel name, so no channel's file is taken for another's)."""
        feed = {}
        for channel in self.in_mode("Pipe"):
            if self.config(channel).shuffle_seed is None:
                feed[channel] = self.stream(channel, host)
            else:
                feed.update({f"{channel}@{epoch}": self.stream(channel, host, epoch)
                             for epoch in range(SHUFFLED_EPOCHS)})
        return feed


# Prefixes of a nested S3 key tree, as partitioned data sets are often laid out (TRAIN-07).
KEY_TREE = ("year=2026/month=10/", "year=2026/month=11/", "year=2026/month=12/day=01/", "archive/")


def key_tree(objects: dict[str, bytes], parts: int, *, nested: bool = True) -> dict[str, bytes]:
    """The channel's data as objects in a nested key tree with nothing at its top: one CSV file is split by rows
    into `parts` objects; other data keeps its files, each moved below a prefix. Not `nested`: the parts side by
    side at the top, as a flat prefix arrives. Read in key order, the parts hold the rows in their first order."""
    def prefix(n: int) -> str:
        return KEY_TREE[n % len(KEY_TREE)] if nested else ""

    if len(objects) == 1 and next(iter(objects)).endswith(".csv"):
        (name, content), = objects.items()
        rows = content.splitlines(keepends=True)
        size = -(-len(rows) // parts)
        return {f"{prefix(n)}part-{n:05d}.csv": b"".join(rows[n * size:(n + 1) * size]) for n in range(parts)}
    return {f"{prefix(n)}{key}": content for n, (key, content) in enumerate(sorted(objects.items()))}


def training_csv(layout: CsvLayout = DEFAULT_CSV, rows: int = 120, seed: int = 0) -> bytes:
    """Numeric CSV without a header in the declared layout (by default label first, as SageMaker's built-in CSV
    algorithms take it): features drawn within their declared ranges, and a label that follows a linear function
    of them: the function's value for a continuous label, or for class labels the class 0..N-1 of its quantile,
    so that every class occurs and a classifier and a regressor can both learn it."""
    rng = random.Random(seed)
    features = layout.feature_columns
    weights = [rng.uniform(-2, 2) for _ in features]
    table = []
    for _ in range(rows):
        row = [0.0] * layout.columns
        for column in features:
            low, high = layout.range_of(column) or (-10, 10)
            row[column] = rng.uniform(low, high)
        table.append(row)
    if layout.label_column is not None:
        scores = [sum(w * row[c] for w, c in zip(weights, features)) + rng.gauss(0, 0.1) for row in table]
        if layout.label_classes:
            ranked = sorted(range(rows), key=scores.__getitem__)
            for rank, index in enumerate(ranked):
                table[index][layout.label_column] = rank * layout.label_classes // rows
        else:
            label_range = layout.range_of(layout.label_column)
            for row, score in zip(table, scores):
                row[layout.label_column] = min(max(score, label_range[0]), label_range[1]) if label_range else score
    return ("".join(",".join(f"{v:.6g}" for v in row) + "\n" for row in table)).encode()


def corrupt_csv(layout: CsvLayout) -> bytes:
    """Valid rows, then a non-numeric field and a row with a column missing, then valid rows again."""
    good = training_csv(layout, rows=20).decode().splitlines()
    non_numeric = good[0].split(",")
    non_numeric[layout.feature_columns[0] if layout.feature_columns else 0] = "abc"
    short = good[1].split(",")[:-1] if layout.columns > 1 else [*good[1].split(","), "1.0"]
    return ("\n".join([*good[:10], ",".join(non_numeric), ",".join(short), *good[10:]]) + "\n").encode()


def channel_data(declaration: Declaration, seed: int = 0) -> dict[str, dict[str, bytes]]:
    """Each declared channel's sample, or generated CSV (another `seed`, other data); a channel with neither is
    left out (optional ones only: loading the declaration refuses a required channel the harness cannot fill)."""
    data = {}
    for index, channel in enumerate(declaration.channels):
        if channel.sample is not None:
            data[channel.name] = channel.sample
        elif channel.accepts_csv:
            data[channel.name] = {f"{channel.name}.csv": training_csv(declaration.csv, seed=seed + index)}
    return data


def _input(declaration: Declaration, channels: dict[str, dict[str, bytes]],
           hyperparameters: dict[str, str] | None) -> TrainingInput:
    types = {c.name: c.content_type for c in declaration.channels if c.name in channels}
    delivery = {c.name: ChannelConfig(c.usual_mode) for c in declaration.channels
                if c.name in channels and c.usual_mode != "File"}
    return TrainingInput(channels, dict(hyperparameters or {}), types, delivery=delivery)


def good_input(declaration: Declaration = DEFAULTS,
               hyperparameters: dict[str, str] | None = None, seed: int = 0) -> TrainingInput:
    return _input(declaration, channel_data(declaration, seed), hyperparameters)


def without_channels(declaration: Declaration, names: set[str], hyperparameters: dict[str, str] | None = None
                     ) -> TrainingInput:
    data = {name: files for name, files in channel_data(declaration).items() if name not in names}
    return _input(declaration, data, hyperparameters)


def empty_channel_input(declaration: Declaration = DEFAULTS,
                        hyperparameters: dict[str, str] | None = None) -> TrainingInput:
    return _input(declaration, {**channel_data(declaration), declaration.primary_channel.name: {}}, hyperparameters)


def corrupt_csv_input(declaration: Declaration = DEFAULTS,
                      hyperparameters: dict[str, str] | None = None) -> TrainingInput:
    channel = declaration.primary_channel.name
    return _input(declaration, {**channel_data(declaration), channel: {f"{channel}.csv": corrupt_csv(declaration.csv)}},
                  hyperparameters)


def in_mode_input(declaration: Declaration, mode: str, hyperparameters: dict[str, str] | None = None
                  ) -> TrainingInput:
    """Good input with every channel that declares `mode` delivered in it (Pipe: TRAIN-09, FastFile: TRAIN-08)."""
    training_input = good_input(declaration, hyperparameters)
    delivery = {**training_input.delivery, **{c.name: ChannelConfig(mode) for c in declaration.channels_in(mode)
                                              if c.name in training_input.channels}}
    return dataclasses.replace(training_input, delivery=delivery)


def key_tree_input(declaration: Declaration, hyperparameters: dict[str, str] | None = None, *,
                   hosts: tuple[str, ...] = (CURRENT_HOST,)) -> TrainingInput:
    """Good input with the primary channel's data in a nested key tree (TRAIN-07); on several hosts, in one object
    more than hosts, side by side at the channel's top and ShardedByS3Key, so that each host gets a disjoint part of
    it and the job judges sharding, not layout."""
    training_input = good_input(declaration, hyperparameters)
    channel = declaration.primary_channel.name
    sharded = len(hosts) > 1
    channels = {**training_input.channels,
                channel: key_tree(training_input.channels[channel], len(hosts) + 1 if sharded else 3,
                                  nested=not sharded)}
    delivery = dict(training_input.delivery)
    if sharded:
        delivery[channel] = dataclasses.replace(training_input.config(channel), distribution="ShardedByS3Key")
    return dataclasses.replace(training_input, channels=channels, delivery=delivery, hosts=hosts)
