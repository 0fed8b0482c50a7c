import json

import pytest

from byoc_conformance import declaration
from byoc_conformance.checks.declaration import declaration_problems
from byoc_conformance.specs import SpecError

from ..suite_runs import REPO, SAMPLES

CREATE_ALGORITHM = REPO / "tests" / "data" / "create-algorithm.json"


def write(tmp_path, document, name="byoc-spec.json"):
    path = tmp_path / name
    path.write_text(json.dumps(document))
    return path


def minimal_training(**extra):
    return {"TrainingImage": "img", "SupportedTrainingInstanceTypes": ["ml.m5.large"],
            "TrainingChannels": [{"Name": "train", "SupportedContentTypes": ["text/csv"],
                                  "SupportedInputModes": ["File"], "IsRequired": True}], **extra}


def test_a_create_algorithm_request_is_read_as_pasted():
    declared = declaration.load(CREATE_ALGORITHM)
    assert [c.name for c in declared.channels] == ["train", "validation"]
    assert [(h.name, h.type, h.required) for h in declared.hyperparameters][:2] == [
        ("num_round", "Integer", True), ("eta", "Continuous", False)]
    assert declared.objective_metrics == ["validation:rmse"]
    assert declared.content_types == declared.response_types == ["text/csv"]
    assert declaration_problems(declared) == []


def test_the_reference_declaration_is_within_the_api_limits():
    declared = declaration.load(SAMPLES / "reference" / "byoc-spec.json")
    assert declaration_problems(declared) == []
    assert declared.csv.features == 4 and set(declared.invocation_samples) == {"application/json"}


def test_without_a_declaration_the_defaults_apply_and_say_so(tmp_path):
    assert declaration.locate(None, tmp_path) is None
    defaults = declaration.load(None)
    assert [c.name for c in defaults.channels] == ["training"] and defaults.csv.features == 4
    assert defaults.summary().startswith("none (no --byoc-spec, no byoc-spec.json here)")


def test_the_conventional_file_is_picked_up_from_the_current_directory(tmp_path):
    path = write(tmp_path, {"TrainingSpecification": minimal_training()})
    assert declaration.locate(None, tmp_path) == path


@pytest.mark.parametrize(("document", "message"), [
    ({"TrainingSpecification": minimal_training(SupportedHyperParameters=[{"Name": "x", "Type": "Float"}])},
     r"at \$\.TrainingSpecification\.SupportedHyperParameters\[0\]\.Type: 'Float' is not one of"),
    ({"TrainingSpecifcation": minimal_training()}, r"Additional properties are not allowed \('TrainingSpecifcation'"),
    ({"TrainingSpecification": minimal_training(MetricDefinitions=[{"Name": "m"}])},
     r"at \$\.TrainingSpecification\.MetricDefinitions\[0\]: 'Regex' is a required property"),
    ({"TrainingSpecification": minimal_training(), "byoc-conformance": {"csv": {"columns": 3, "label_column": 3}}},
     r"\$\.byoc-conformance\.csv\.label_column: column 3 does not exist among 3 columns"),
    ({"TrainingSpecification": minimal_training(), "byoc-conformance": {"channels": {"test": "x.csv"}}},
     r"sample data for undeclared channel\(s\) test"),
    ({"TrainingSpecification": minimal_training(), "byoc-conformance": {"channels": {"train": "missing.csv"}}},
     r"at \$\.byoc-conformance\.channels\.train: cannot read .*missing\.csv"),
])
def test_an_invalid_declaration_is_one_error_naming_the_json_path(tmp_path, document, message):
    with pytest.raises(SpecError, match=message):
        declaration.load(write(tmp_path, document))


def test_a_required_channel_the_harness_cannot_fill_asks_for_a_sample(tmp_path):
    training = minimal_training()
    training["TrainingChannels"][0]["SupportedContentTypes"] = ["application/x-recordio-protobuf"]
    with pytest.raises(SpecError, match=r"give a sample at \$\.byoc-conformance\.channels\.train"):
        declaration.load(write(tmp_path, {"TrainingSpecification": training}))


def test_a_declaration_that_is_not_json_is_one_error(tmp_path):
    path = tmp_path / "byoc-spec.json"
    path.write_text("{'TrainingSpecification': ")
    with pytest.raises(SpecError, match="is not valid JSON"):
        declaration.load(path)


def test_api_limits_are_verdicts_not_load_errors(tmp_path):
    hyperparameters = [
        {"Name": "depth", "Type": "Integer", "IsRequired": True, "DefaultValue": "3",
         "Range": {"IntegerParameterRangeSpecification": {"MinValue": "10", "MaxValue": "1"}}},
        {"Name": "rate", "Type": "Continuous", "DefaultValue": "5",
         "Range": {"ContinuousParameterRangeSpecification": {"MinValue": "0", "MaxValue": "1"}}},
        {"Name": "kind", "Type": "Integer", "Range": {"CategoricalParameterRangeSpecification": {"Values": ["a"]}}},
    ]
    declared = declaration.load(write(tmp_path, {"TrainingSpecification": minimal_training(
        SupportedHyperParameters=hyperparameters)}))
    problems = "\n".join(declaration_problems(declared))
    assert "'depth' is required and has a DefaultValue" in problems
    assert "'depth': range '10'..'1' is not a valid Integer range" in problems
    assert "'rate': DefaultValue '5' is outside its own declaration" in problems
    assert "'kind' of Type Integer has a CategoricalParameterRangeSpecification" in problems


def test_ranges_apply_to_every_column_or_one_per_column(tmp_path):
    every = declaration.load(write(tmp_path, {"TrainingSpecification": minimal_training(),
                                              "byoc-conformance": {"csv": {"columns": 3, "ranges": [0, 1]}}}))
    assert every.csv.feature_ranges == ((0, 1), (0, 1))
    each = declaration.load(write(tmp_path, {"TrainingSpecification": minimal_training(), "byoc-conformance": {
        "csv": {"columns": 3, "label_column": None, "ranges": [[0, 1], None, [5, 6]]}}}))
    assert each.csv.feature_ranges == ((0, 1), None, (5, 6))
    assert each.csv.label_first().columns == 4


def test_input_modes_and_checkpoints_are_read_from_the_declaration():
    pipe = declaration.load(SAMPLES / "pipe" / "byoc-spec.json")
    assert [c.name for c in pipe.channels_in("Pipe")] == ["training"]
    assert pipe.channels_in("Pipe")[0].usual_mode == "File"
    assert pipe.checkpoints is None
    resumes = declaration.load(SAMPLES / "checkpoints" / "byoc-spec.json")
    assert resumes.checkpoints is not None and resumes.checkpoints.resumed.search("resuming from checkpoint x")


def test_an_empty_inference_list_and_a_default_that_is_no_number_fail_mkt_03_with_the_command_that_rejudges(tmp_path):
    from types import SimpleNamespace

    from byoc_conformance.checks.declaration import declaration_within_limits
    from byoc_conformance.verdicts import Failed

    layers = [{"Name": "layers", "Type": "Integer", "DefaultValue": "two",
               "Range": {"IntegerParameterRangeSpecification": {"MinValue": "1", "MaxValue": "8"}}}]
    inference = {"Containers": [{"Image": "img"}], "SupportedContentTypes": [],
                 "SupportedResponseMIMETypes": ["text/csv"]}
    path = write(tmp_path, {"TrainingSpecification": minimal_training(SupportedHyperParameters=layers),
                            "InferenceSpecification": inference})
    context = SimpleNamespace(image="algo:1", declaration=declaration.load(path))
    with pytest.raises(Failed) as verdict:
        declaration_within_limits(context)  # type: ignore[arg-type]
    assert verdict.value.observed == ("hyperparameter 'layers': DefaultValue 'two' is outside its own declaration; "
                                      "InferenceSpecification.SupportedContentTypes is empty")
    assert verdict.value.reproduce == f"pytest --image algo:1 --byoc-spec {path} -k MKT-03"
