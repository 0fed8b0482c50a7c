"""A channel's CompressionType, RecordWrapperType and ShuffleConfig, and the job's InstanceType, delivered as SageMaker
delivers them (issue 26's validation profile)."""

import gzip
import json
import subprocess
from pathlib import Path

import pytest

from byoc_conformance import opt_ml, pipe, recordio, specs
from byoc_conformance.opt_ml import ChannelConfig, TrainingInput

OBJECTS = {f"part-{n}.csv": b"%d,%d\n" % (n, n * n) for n in range(8)}


def _input(config: ChannelConfig, objects: dict[str, bytes] = OBJECTS, **fields) -> TrainingInput:
    return TrainingInput({"training": objects}, delivery={"training": config}, **fields)


def _in_key_order(objects: dict[str, bytes]) -> list[bytes]:
    return [objects[key] for key in sorted(objects)]


def test_a_gzip_channel_arrives_decompressed_in_pipe_mode():
    compressed = {"b.csv.gz": gzip.compress(b"3\n") + gzip.compress(b"4\n"),  # two gzip members in one object
                  "a.csv.gz": gzip.compress(b"1\n2\n")}
    training_input = _input(ChannelConfig("Pipe", compression="Gzip"), compressed)
    assert training_input.pipe_streams() == {"training": b"1\n2\n3\n4\n"}
    assert training_input.pipe_feed() == {"training": b"1\n2\n3\n4\n"}


@pytest.mark.parametrize("mode", ["File", "FastFile"])
def test_a_gzip_channel_arrives_compressed_in_file_and_fastfile_mode(mode):
    compressed = {"a.csv.gz": gzip.compress(b"1\n2\n")}
    training_input = _input(ChannelConfig(mode, compression="Gzip"), compressed)
    if mode == "File":
        assert training_input.files()["data/training/a.csv.gz"] == compressed["a.csv.gz"]
    else:
        assert training_input.fastfile_channels() == {"training": compressed}
    assert training_input.pipe_feed() == {}


def test_recordio_wraps_each_object_in_a_record_of_its_own_in_key_order():
    objects = {"b": b"second object", "a": b"first", "c": b""}
    stream = _input(ChannelConfig("Pipe", record_wrapper="RecordIO"), objects).pipe_streams()["training"]
    assert stream == b"".join(recordio.wrap(content) for content in _in_key_order(objects))
    assert [recordio.unwrap(record) for record in recordio.split(stream)] == [b"first", b"second object", b""]


def test_a_gzip_recordio_channel_is_decompressed_then_wrapped():
    objects = {"b.gz": gzip.compress(b"two"), "a.gz": gzip.compress(b"one") + gzip.compress(b"+more")}
    stream = _input(ChannelConfig("Pipe", record_wrapper="RecordIO", compression="Gzip"), objects).pipe_streams()
    assert stream == {"training": recordio.wrap(b"one+more") + recordio.wrap(b"two")}


def test_the_same_seed_gives_the_same_order_and_another_seed_another():
    def order(seed: int) -> tuple[str, ...]:
        return _input(ChannelConfig("Pipe", shuffle_seed=seed)).order("training")

    assert order(7) == order(7)
    assert order(7) != order(8)
    assert order(7) != tuple(sorted(OBJECTS)) and sorted(order(7)) == sorted(OBJECTS)
    stream = _input(ChannelConfig("Pipe", shuffle_seed=7)).pipe_streams()["training"]
    assert stream == b"".join(OBJECTS[key] for key in order(7))  # epoch 0 comes in the shuffled order


def test_each_pipe_epoch_is_shuffled_anew():
    training_input = _input(ChannelConfig("Pipe", shuffle_seed=7))
    feed = training_input.pipe_feed()
    assert set(feed) == {f"training@{epoch}" for epoch in range(opt_ml.SHUFFLED_EPOCHS)}
    assert len(set(feed.values())) == opt_ml.SHUFFLED_EPOCHS  # every prepared epoch has an order of its own
    assert feed["training@0"] == training_input.pipe_streams()["training"]
    for epoch in range(opt_ml.SHUFFLED_EPOCHS):
        assert feed[f"training@{epoch}"] == b"".join(OBJECTS[key] for key in training_input.order("training", epoch))
        assert sorted(training_input.order("training", epoch)) == sorted(OBJECTS)
    assert training_input.order("training", opt_ml.SHUFFLED_EPOCHS + 1) == training_input.order("training", 1)


def test_three_objects_still_give_distinct_epochs_and_two_cannot():
    three = _input(ChannelConfig("Pipe", shuffle_seed=1), {"a": b"a", "b": b"b", "c": b"c"}).pipe_feed()
    assert len(set(three.values())) == opt_ml.SHUFFLED_EPOCHS
    two = _input(ChannelConfig("Pipe", shuffle_seed=1), {"a": b"a", "b": b"b"}).pipe_feed()
    assert set(two.values()) <= {b"ab", b"ba"} and len(two) == opt_ml.SHUFFLED_EPOCHS


@pytest.mark.parametrize("mode", ["File", "Pipe"])
def test_sharding_deals_the_shuffled_order_out_to_the_hosts(mode):
    hosts = opt_ml.host_names(3)
    training_input = _input(ChannelConfig(mode, "ShardedByS3Key", shuffle_seed=5), hosts=hosts)
    for epoch in range(opt_ml.SHUFFLED_EPOCHS):
        order = training_input.order("training", epoch)
        parts = [training_input.objects("training", host, epoch) for host in hosts]
        assert [list(part) for part in parts] == [list(order[rank::3]) for rank in range(3)]
        keys = [key for part in parts for key in part]
        assert sorted(keys) == sorted(OBJECTS) and len(set(keys)) == len(keys)  # disjoint and complete
    dealt = [list(training_input.objects("training", host)) for host in hosts]
    assert dealt != [sorted(OBJECTS)[rank::3] for rank in range(3)]  # not the key order's deal
    if mode == "File":
        files = training_input.files(hosts[1])
        assert sorted(path for path in files if path.startswith("data/")) == sorted(f"data/training/{key}"
                                                                                    for key in dealt[1])


def test_the_instance_type_is_in_resourceconfig_json():
    training_input = TrainingInput({"training": OBJECTS}, instance_type="ml.m5.xlarge",
                                   hosts=opt_ml.host_names(2))
    config = json.loads(training_input.files()["config/resourceconfig.json"])  # files() validates it first
    specs.validate(config, "resourceconfig.schema.json", "resourceconfig.json")
    assert config["current_instance_type"] == "ml.m5.xlarge"
    assert [group["instance_type"] for group in config["instance_groups"]] == ["ml.m5.xlarge"]
    assert json.loads(TrainingInput({})
                      .files()["config/resourceconfig.json"])["current_instance_type"] == "local"


def test_compression_and_shuffling_stay_out_of_inputdataconfig_json():
    config = ChannelConfig("Pipe", "ShardedByS3Key", "RecordIO", compression="Gzip", shuffle_seed=3)
    assert config.entry() == {"TrainingInputMode": "Pipe", "S3DistributionType": "ShardedByS3Key",
                              "RecordWrapperType": "RecordIO"}


@pytest.mark.parametrize("config", [ChannelConfig("Pipe"), ChannelConfig("Pipe", "ShardedByS3Key")])
def test_an_unshuffled_channel_is_fed_as_before(config):
    objects = {"b.csv": b"2\n", "c.csv": b"3\n", "a.csv": b"1\n"}
    training_input = _input(config, objects, hosts=opt_ml.host_names(2))
    for host in training_input.hosts:
        streams = training_input.pipe_streams(host)
        assert training_input.pipe_feed(host) == {"training": streams["training"]}
        mine = training_input.objects("training", host)
        assert streams["training"] == b"".join(content for _, content in sorted(mine.items()))
    assert training_input.order("training") == ("a.csv", "b.csv", "c.csv")
    if config.distribution == "FullyReplicated":
        assert training_input.objects("training") is objects  # untouched, in the order given


@pytest.mark.parametrize(("files", "epoch", "read"), [
    (("training",), 0, "training"), (("training",), 5, "training"),
    (("training@0", "training@1", "training@2", "training@3"), 0, "training@0"),
    (("training@0", "training@1", "training@2", "training@3"), 6, "training@2"),
    (("training", "training.1"), 1, "training"),  # another channel's name with a dot is not an epoch's file
])
def test_the_feeder_reads_the_epochs_file_or_else_the_channels(tmp_path: Path, files, epoch, read):
    """The two lines of pipe.SCRIPT that choose what an epoch carries, run with /bin/sh on a temporary FEED_DIR."""
    for name in files:
        (tmp_path / name).write_bytes(b"")
    choice = "\n".join(line for line in pipe.SCRIPT.splitlines() if "stream=" in line)
    assert choice.count("\n") == 1, "the feeder's choice is no longer the two lines this test runs"
    script = f"epoch={epoch}\n{choice}\necho \"$stream\"".replace(pipe.FEED_DIR, str(tmp_path))
    chosen = subprocess.run(["/bin/sh", "-c", script, "feeder", "training"], capture_output=True, text=True,
                            check=True).stdout.strip()
    assert chosen == str(tmp_path / read)
