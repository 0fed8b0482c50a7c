import json

import pytest

from byoc_conformance import opt_ml
from byoc_conformance.specs import SpecError


def test_good_input_is_what_sagemaker_writes():
    files = opt_ml.good_input().files()
    assert json.loads(files["config/hyperparameters.json"]) == {}
    channel = json.loads(files["config/inputdataconfig.json"])["training"]
    assert channel == {"ContentType": "text/csv", "TrainingInputMode": "File",
                       "S3DistributionType": "FullyReplicated", "RecordWrapperType": "None"}
    resources = json.loads(files["config/resourceconfig.json"])
    assert resources["current_host"] == "algo-1" and resources["hosts"] == ["algo-1"]


def test_training_csv_is_label_first_numeric_without_header():
    rows = [line.split(",") for line in opt_ml.training_csv(rows=10, features=3).decode().splitlines()]
    assert len(rows) == 10
    assert all(len(row) == 4 for row in rows)
    assert all(float(value) == float(value) for row in rows for value in row)


def test_empty_channel_still_has_its_directory():
    training_input = opt_ml.empty_channel_input()
    assert "data/training" in training_input.directories()
    assert not any(path.startswith("data/") for path in training_input.files())


def test_corrupt_csv_has_a_non_numeric_field_and_a_short_row():
    lines = opt_ml.corrupt_csv_input().files()["data/training/train.csv"].decode().splitlines()
    assert any("abc" in line for line in lines)
    assert {len(line.split(",")) for line in lines} == {5, 3}


def test_the_harness_refuses_to_write_a_non_string_hyperparameter():
    bad = opt_ml.TrainingInput(channels={"training": {}}, hyperparameters={"epochs": 3})  # type: ignore[dict-item]
    with pytest.raises(SpecError, match=r"hyperparameters.json.*at \$\.epochs: 3 is not of type 'string'"):
        bad.files()
