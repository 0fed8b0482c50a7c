import json
from pathlib import Path

import pytest

from byoc_conformance import declaration, opt_ml
from byoc_conformance.declaration import CsvLayout
from byoc_conformance.specs import SpecError

from ..suite_runs import SAMPLES

REFERENCE_SPEC = SAMPLES / "reference" / "byoc-spec.json"


def test_good_input_is_what_sagemaker_writes():
    files = opt_ml.good_input().files()
    assert json.loads(files["config/hyperparameters.json"]) == {}
    channel = json.loads(files["config/inputdataconfig.json"])["training"]
    assert channel == {"ContentType": "text/csv", "TrainingInputMode": "File",
                       "S3DistributionType": "FullyReplicated", "RecordWrapperType": "None"}
    resources = json.loads(files["config/resourceconfig.json"])
    assert resources["current_host"] == "algo-1" and resources["hosts"] == ["algo-1"]


def test_training_csv_is_label_first_numeric_without_header():
    rows = [line.split(",") for line in opt_ml.training_csv(CsvLayout(columns=4), rows=10).decode().splitlines()]
    assert len(rows) == 10
    assert all(len(row) == 4 for row in rows)
    assert all(float(value) == float(value) for row in rows for value in row)


def test_training_csv_follows_the_declared_layout_and_ranges():
    layout = CsvLayout(columns=3, label_column=2, ranges=((0.0, 1.0), (100.0, 200.0), (-1.0, 1.0)), label_classes=None)
    rows = [[float(v) for v in line.split(",")] for line in opt_ml.training_csv(layout, rows=50).decode().splitlines()]
    assert all(0 <= a <= 1 and 100 <= b <= 200 and -1 <= label <= 1 for a, b, label in rows)


def test_default_labels_are_classes_every_one_of_which_occurs():
    lines = opt_ml.training_csv(rows=100).decode().splitlines()
    labels = [line.split(",")[0] for line in lines]
    assert sorted(set(labels)) == ["0", "1", "2"] and min(labels.count(c) for c in "012") == 33
    layout = declaration._csv_layout({"columns": 3, "label": {"classes": 5}}, Path("spec.json"))
    assert {line.split(",")[0] for line in opt_ml.training_csv(layout).decode().splitlines()} == set("01234")


def test_declared_channels_get_their_sample_or_generated_csv(tmp_path):
    declared = declaration.load(REFERENCE_SPEC)
    files = opt_ml.good_input(declared).files()
    assert files["data/validation/validation.csv"] == (REFERENCE_SPEC.parent / "data/validation.csv").read_bytes()
    assert "data/training/training.csv" in files
    assert set(json.loads(files["config/inputdataconfig.json"])) == {"training", "validation"}
    assert set(json.loads(opt_ml.without_channels(declared, {"validation"}).files()["config/inputdataconfig.json"])) \
        == {"training"}


def test_empty_channel_still_has_its_directory():
    training_input = opt_ml.empty_channel_input()
    assert "data/training" in training_input.directories()
    assert not any(path.startswith("data/") for path in training_input.files())


def test_corrupt_csv_has_a_non_numeric_field_and_a_short_row():
    lines = opt_ml.corrupt_csv_input().files()["data/training/training.csv"].decode().splitlines()
    assert any("abc" in line for line in lines)
    assert {len(line.split(",")) for line in lines} == {5, 4}


def test_the_harness_refuses_to_write_a_non_string_hyperparameter():
    bad = opt_ml.TrainingInput(channels={"training": {}}, hyperparameters={"epochs": 3})  # type: ignore[dict-item]
    with pytest.raises(SpecError, match=r"hyperparameters.json.*at \$\.epochs: 3 is not of type 'string'"):
        bad.files()


def test_every_host_of_a_job_gets_its_own_resourceconfig_with_the_sorted_host_list():
    hosts = opt_ml.host_names(10)
    assert hosts[:3] == ("algo-1", "algo-10", "algo-2")  # lexicographic, as SageMaker sorts them
    training_input = opt_ml.TrainingInput({"training": {"a.csv": b"1,2\n"}}, hosts=hosts[:2])
    for host in ("algo-1", "algo-10"):
        config = json.loads(training_input.files(host)["config/resourceconfig.json"])
        assert config["current_host"] == host and config["hosts"] == ["algo-1", "algo-10"]
        assert config["instance_groups"][0]["hosts"] == ["algo-1", "algo-10"]


def test_a_channel_is_delivered_as_its_config_says():
    training_input = opt_ml.TrainingInput({"training": {}, "validation": {}},
                                          delivery={"training": opt_ml.ChannelConfig("Pipe", "ShardedByS3Key")})
    config = json.loads(training_input.files()["config/inputdataconfig.json"])
    assert config["training"]["TrainingInputMode"] == "Pipe"
    assert config["training"]["S3DistributionType"] == "ShardedByS3Key"
    assert config["validation"]["TrainingInputMode"] == "File"


def test_pipe_and_fastfile_channels_are_not_files_of_the_input_tree():
    training_input = opt_ml.TrainingInput(
        {"training": {"b.csv": b"2\n", "a.csv": b"1\n"}, "validation": {"v.csv": b"3\n"}, "extra": {"e.csv": b"4\n"}},
        delivery={"training": opt_ml.ChannelConfig("Pipe"), "validation": opt_ml.ChannelConfig("FastFile")})
    files = training_input.files()
    assert [path for path in files if path.startswith("data/")] == ["data/extra/e.csv"]
    assert "data/training" not in training_input.directories()  # FIFOs, no directory
    assert "data/validation" not in training_input.directories()  # a mount point the engine makes
    assert training_input.pipe_streams() == {"training": b"1\n2\n"}  # the objects in key order
    assert training_input.fastfile_channels() == {"validation": {"v.csv": b"3\n"}}


def test_a_key_tree_has_nothing_at_its_top_and_keeps_every_row():
    objects = opt_ml.key_tree({"training.csv": b"".join(b"%d\n" % n for n in range(10))}, 3)
    assert all("/" in key for key in objects) and len(objects) == 3
    assert b"".join(objects[key] for key in sorted(objects, key=lambda k: k.rsplit("/")[-1])) == \
        b"".join(b"%d\n" % n for n in range(10))


def test_sharded_hosts_get_disjoint_parts_that_make_the_whole():
    training_input = opt_ml.key_tree_input(declaration.DEFAULTS, hosts=opt_ml.host_names(2))
    parts = [training_input.objects("training", host) for host in training_input.hosts]
    assert [len(part) for part in parts] == [2, 1] and not set(parts[0]) & set(parts[1])
    assert not any("/" in key for part in parts for key in part)  # flat: sharding judged, not layout
    whole = training_input.channels["training"]
    assert {**parts[0], **parts[1]} == whole
    config = json.loads(training_input.files("algo-2")["config/inputdataconfig.json"])
    assert config["training"]["S3DistributionType"] == "ShardedByS3Key"


def test_a_channel_that_declares_no_file_mode_gets_its_first_declared_mode_in_every_run():
    channels = (declaration.Channel("training", True, ("text/csv",), input_modes=("Pipe",)),)
    spec = declaration.Declaration(None, channels=channels)
    assert opt_ml.good_input(spec).in_mode("Pipe") == ("training",)
    both = (declaration.Channel("training", True, ("text/csv",), input_modes=("Pipe", "File")),)
    assert opt_ml.good_input(declaration.Declaration(None, channels=both)).in_mode("File") == ("training",)
    assert opt_ml.in_mode_input(declaration.Declaration(None, channels=both), "Pipe").in_mode("Pipe") == ("training",)
