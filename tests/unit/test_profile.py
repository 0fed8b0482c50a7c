"""The validation profile as jobs (profile.py): every field of TrainingJobDefinition and TransformJobDefinition is
honoured (each has a test here, and the delivery tests of opt_ml and batch show what it does), recorded as having no
effect a container can see, or refused with one line before anything starts."""

import copy
import dataclasses
import json

import pytest

from byoc_conformance import declaration, profile
from byoc_conformance.engine import HarnessError
from byoc_conformance.s3 import Buckets

from ..suite_runs import SAMPLES

REQUEST = SAMPLES / "reference" / "create-algorithm.json"
DATA = SAMPLES / "reference" / "validation"
PACKAGE = SAMPLES.parent / "tests" / "data" / "create-model-package.json"
TRAINING = "TrainingJobDefinition"
TRANSFORM = "TransformJobDefinition"


def built(change=None, request=REQUEST, mappings=None, model=None):
    """The reference request's profile, `change`d (given the profile), built on the reference's validation data."""
    declared = declaration.load(request)
    specification = copy.deepcopy(declared.validation)
    if change:
        change(specification["ValidationProfiles"][0])
    declared = dataclasses.replace(declared, validation=specification)
    return profile.build(declared, Buckets.parse(mappings or [f"s3://byoc-samples/validation={DATA}"], DATA), model)


def refused(change, message, **options):
    with pytest.raises(HarnessError, match=message) as raised:
        built(change, **options)
    assert "\n" not in str(raised.value)


def setting(part, key, value, job=TRAINING):
    def change(profile):
        target = profile[job]
        for name in part.split(".") if part else ():
            target = target.setdefault(name, {}) if not name.isdigit() else target[int(name)]
        target[key] = value
    return change


def test_the_reference_profile_is_a_training_job_and_a_transform_job_on_its_data():
    built_profile = built()
    training, transform = built_profile.training, built_profile.transform
    assert built_profile.name == "reference-csv"
    assert set(training.input.channels) == {"training", "validation"}
    assert training.input.channels["training"] == {"train.csv": (DATA / "training" / "train.csv").read_bytes()}
    assert training.input.hyperparameters == {"epochs": "10", "learning_rate": "0.01"}  # exactly as given
    assert training.input.content_types == {"training": "text/csv", "validation": "text/csv"}
    assert training.input.hosts == ("algo-1",) and training.input.instance_type == "ml.m5.large"
    assert training.output_path == "s3://byoc-samples/output/training/" and training.max_runtime == 3600
    assert training.model_key == "reference-csv-training/output/model.tar.gz"
    assert transform.objects == {"batch.csv": (DATA / "transform" / "batch.csv").read_bytes()}
    assert (transform.content_type, transform.split_type, transform.accept, transform.assemble_with,
            transform.compression) == ("text/csv", "Line", "text/csv", "Line", "None")
    assert transform.output_path == "s3://byoc-samples/output/transform/" and transform.model is None
    assert built_profile.no_local_effect == ("ResourceConfig.VolumeSizeInGB", "TransformResources.InstanceType")
    assert built_profile.data == {"s3://byoc-samples/validation/training/": "1 object(s)",
                                  "s3://byoc-samples/validation/validation/": "1 object(s)",
                                  "s3://byoc-samples/validation/transform/": "1 object(s)"}


def test_the_training_input_mode_applies_to_channels_that_name_none_and_a_channel_may_override_it():
    def change(profile):
        profile[TRAINING]["TrainingInputMode"] = "Pipe"
        profile[TRAINING]["InputDataConfig"][1]["InputMode"] = "File"
    training_input = built(change).training.input
    assert training_input.config("training").mode == "Pipe" and training_input.config("validation").mode == "File"


@pytest.mark.parametrize("key, value, attribute, expected", [
    ("CompressionType", "Gzip", "compression", "Gzip"),
    ("ShuffleConfig", {"Seed": 7}, "shuffle_seed", 7),
])
def test_a_channel_field_reaches_its_delivery(key, value, attribute, expected):
    config = built(setting("InputDataConfig.0", key, value)).training.input.config("training")
    assert getattr(config, attribute) == expected


def test_record_io_wrapping_and_sharding_reach_a_pipe_channel():
    def change(profile):
        channel = profile[TRAINING]["InputDataConfig"][0]
        channel.update(InputMode="Pipe", RecordWrapperType="RecordIO")
        channel["DataSource"]["S3DataSource"]["S3DataDistributionType"] = "ShardedByS3Key"
        profile[TRAINING]["ResourceConfig"]["InstanceCount"] = 2
    training_input = built(change).training.input
    assert training_input.config("training").record_wrapper == "RecordIO"
    assert training_input.config("training").distribution == "ShardedByS3Key"
    assert training_input.hosts == ("algo-1", "algo-2")


def test_a_manifest_data_source_is_resolved(tmp_path):
    manifest = tmp_path / "training.manifest"
    manifest.write_text(json.dumps([{"prefix": "s3://byoc-samples/validation/training/"}, "train.csv"]))
    source = {"S3DataSource": {"S3DataType": "ManifestFile", "S3Uri": "s3://byoc-samples/training.manifest"}}
    mappings = [f"s3://byoc-samples/validation={DATA}", f"s3://byoc-samples/training.manifest={manifest}"]
    channels = built(setting("InputDataConfig.0", "DataSource", source), mappings=mappings).training.input.channels
    assert channels["training"] == {"train.csv": (DATA / "training" / "train.csv").read_bytes()}


@pytest.mark.parametrize("part, key, value", [
    ("OutputDataConfig", "KmsKeyId", "alias/key"),
    ("ResourceConfig", "VolumeKmsKeyId", "alias/key"),
    ("ResourceConfig", "KeepAlivePeriodInSeconds", 60),
    ("StoppingCondition", "MaxWaitTimeInSeconds", 7200),
    ("StoppingCondition", "MaxPendingTimeInSeconds", 7200),
])
def test_a_training_field_no_container_can_see_is_named_in_the_report(part, key, value):
    assert f"{part}.{key}" in built(setting(part, key, value)).no_local_effect


@pytest.mark.parametrize("part, key, value", [
    ("TransformOutput", "KmsKeyId", "alias/key"),
    ("TransformResources", "VolumeKmsKeyId", "alias/key"),
    ("TransformResources", "TransformAmiVersion", "al2-ami-sagemaker-batch-gpu-470"),
])
def test_a_transform_field_no_container_can_see_is_named_in_the_report(part, key, value):
    assert f"{part}.{key}" in built(setting(part, key, value, TRANSFORM)).no_local_effect


def test_the_transform_job_settings_and_environment_are_honoured():
    def change(profile):
        profile[TRANSFORM].update(MaxConcurrentTransforms=2, MaxPayloadInMB=1, BatchStrategy="SingleRecord",
                                  Environment={"MODE": "job"})
        profile[TRANSFORM]["TransformInput"].update(CompressionType="Gzip", SplitType="None")
        profile[TRANSFORM]["TransformOutput"].update(AssembleWith="None", Accept="application/json")
    transform = built(change).transform
    assert transform.settings == {"MaxConcurrentTransforms": 2, "BatchStrategy": "SINGLE_RECORD", "MaxPayloadInMB": 1}
    assert transform.environment == {"MODE": "job"}
    assert (transform.compression, transform.split_type, transform.assemble_with, transform.accept) == \
        ("Gzip", "None", "None", "application/json")


def test_a_transform_without_a_content_type_sends_the_first_declared_one():
    def change(profile):
        del profile[TRANSFORM]["TransformInput"]["ContentType"]
    assert built(change).transform.content_type == "text/csv"


def test_a_model_package_transforms_its_model_data_url_with_its_container_environment(tmp_path):
    model = tmp_path / "model.tar.gz"
    model.write_bytes(b"model")
    document = json.loads(PACKAGE.read_text())
    document["InferenceSpecification"]["Containers"][0]["Environment"] = {"MODE": "container", "KEEP": "1"}
    document["ValidationSpecification"]["ValidationProfiles"][0][TRANSFORM]["Environment"] = {"MODE": "job"}
    request = tmp_path / "create-model-package.json"
    request.write_text(json.dumps(document))
    built_profile = built(request=request, mappings=[f"s3://byoc-samples/model-package/input={DATA / 'transform'}",
                                                     f"s3://byoc-samples/model-package/model.tar.gz={model}"])
    assert built_profile.training is None and built_profile.transform.model == model
    assert built_profile.transform.environment == {"MODE": "job", "KEEP": "1"}  # the job's win


def test_a_model_package_without_a_model_data_url_transforms_the_given_model(tmp_path):
    document = json.loads(PACKAGE.read_text())
    del document["InferenceSpecification"]["Containers"][0]["ModelDataUrl"]
    request = tmp_path / "create-model-package.json"
    request.write_text(json.dumps(document))
    mappings = [f"s3://byoc-samples/model-package/input={DATA / 'transform'}"]
    assert built(request=request, mappings=mappings, model=tmp_path).transform.model == tmp_path
    with pytest.raises(HarnessError, match="no ModelDataUrl, and no --byoc-model"):
        built(request=request, mappings=mappings)


def test_without_mappings_or_a_profile_there_is_nothing_to_run_and_mappings_without_a_profile_are_refused():
    declared = declaration.load(REQUEST)
    assert profile.build(declared, Buckets()) is None
    assert profile.build(dataclasses.replace(declared, validation=None), Buckets()) is None
    with pytest.raises(HarnessError, match="--byoc-s3 is given and the declaration has no ValidationSpecification"):
        profile.build(dataclasses.replace(declared, validation=None), Buckets.parse([f"s3://b/p={DATA}"], DATA))


@pytest.mark.parametrize("change, message", [
    (setting("", "EnableManagedSpotTraining", True), r"TrainingJobDefinition: EnableManagedSpotTraining: not a field"),
    (setting("ResourceConfig", "InstanceGroups", []), r"ResourceConfig: InstanceGroups: not a field"),
    (setting("ResourceConfig", "TrainingPlanArn", "arn"), r"ResourceConfig: TrainingPlanArn: not a field"),
    (setting("OutputDataConfig", "CompressionType", "NONE"), r"OutputDataConfig.CompressionType: NONE: the harness "
                                                            "hands the model over as model.tar.gz"),
    (setting("InputDataConfig.0", "RecordWrapperType", "RecordIO"), r"RecordWrapperType: RecordIO in File mode"),
    (setting("InputDataConfig.0", "Unknown", 1), r"InputDataConfig\[0\]: Unknown: not a field"),
    (setting("InputDataConfig.0", "DataSource", {"S3DataSource": {"S3DataType": "S3Prefix", "S3Uri": "s3://x/y/"}}),
     r"InputDataConfig\[0\].DataSource.S3DataSource.S3Uri: no --byoc-s3 mapping covers s3://x/y/"),
    (setting("TransformInput", "SplitType", "TFRecord", TRANSFORM), r"SplitType: TFRecord"),
    (lambda profile: profile[TRAINING]["InputDataConfig"][0].update(InputMode="Pipe", CompressionType="Gzip"),
     r"InputDataConfig\[0\].DataSource: the object 'train.csv' is not gzip data"),
    (setting("TransformResources", "InstanceCount", 2, TRANSFORM), r"InstanceCount: 2: the harness runs a transform "
                                                                  "on one instance"),
    (setting("", "DataProcessing", {}, TRANSFORM), r"TransformJobDefinition: DataProcessing: not a field"),
])
def test_a_field_the_harness_cannot_honour_is_refused_with_one_line(change, message):
    refused(change, message)


def test_a_transform_of_several_containers_is_refused(tmp_path):
    document = json.loads(REQUEST.read_text())
    document["InferenceSpecification"]["Containers"] *= 2
    request = tmp_path / "create-algorithm.json"
    own = document["byoc-conformance"]  # the sample files stay where they are
    own["channels"] = {name: str(REQUEST.parent / path) for name, path in own["channels"].items()}
    own["invocations"] = {kind: str(REQUEST.parent / path) for kind, path in own["invocations"].items()}
    request.write_text(json.dumps(document))
    with pytest.raises(HarnessError, match="2 containers: the harness runs a profile's transform on one container"):
        built(request=request)
