"""MKT-02 on the request: the validation profile a Marketplace listing submits, judged before any container runs."""

import copy
import dataclasses
from types import SimpleNamespace

import pytest

from byoc_conformance import declaration
from byoc_conformance.checks import validation as declared_checks
from byoc_conformance.verdicts import Failed, NotApplicable

from ..suite_runs import SAMPLES

REFERENCE = declaration.load(SAMPLES / "reference" / "create-algorithm.json")
PROFILE = "$.ValidationSpecification.ValidationProfiles[0]"
TRAINING = f"{PROFILE}.TrainingJobDefinition"
TRANSFORM = f"{PROFILE}.TransformJobDefinition"


def judged(change=None, declared=REFERENCE):
    """MKT-02's check on the reference declaration whose ValidationSpecification `change` edited in place."""
    specification = copy.deepcopy(declared.validation)
    if change:
        change(specification, specification["ValidationProfiles"][0] if specification["ValidationProfiles"] else None)
    ctx = SimpleNamespace(image="algo:1", declaration=dataclasses.replace(declared, validation=specification))
    return declared_checks.validation_profile_within_declaration(ctx)  # type: ignore[arg-type]


def failed(change, declared=REFERENCE) -> str:
    with pytest.raises(Failed) as raised:
        judged(change, declared)
    assert "--byoc-spec" in raised.value.reproduce and "-k MKT-02" in raised.value.reproduce
    return raised.value.observed


def test_the_reference_profile_stays_within_its_declaration_and_says_its_jobs_were_not_run():
    summary = judged()
    assert summary.startswith("profile 'reference-csv' stays within the declaration (training job: 2 channel(s) in "
                              "File mode, 2 hyperparameter(s), 1 x ml.m5.large; transform job: text/csv -> text/csv)")
    assert "validation-profile-runs runs its jobs" in summary


def test_without_a_validation_specification_it_is_not_applicable():
    ctx = SimpleNamespace(image="algo:1", declaration=dataclasses.replace(REFERENCE, validation=None))
    with pytest.raises(NotApplicable, match="no ValidationSpecification"):
        declared_checks.validation_profile_within_declaration(ctx)  # type: ignore[arg-type]


def _set(path: str, value):
    """A change that sets the profile's field at `path` (keys and list indexes, dot-separated)."""
    def change(specification, profile):
        *parents, last = path.split(".")
        target = profile
        for key in parents:
            target = target[int(key)] if key.isdigit() else target[key]
        target[int(last) if last.isdigit() else last] = value
    return change


@pytest.mark.parametrize("change, said", [
    (lambda s, p: s["ValidationProfiles"].append(copy.deepcopy(p)),
     "$.ValidationSpecification.ValidationProfiles: 2 profiles; 1-1 are allowed"),
    (lambda s, p: s.update(ValidationRole="validation"), "ValidationRole: 'validation' is not an IAM role ARN"),
    (_set("ProfileName", "-reference"), f"{PROFILE}.ProfileName: '-reference': 1-63 letters"),
    (_set("TrainingJobDefinition.InputDataConfig.1.ChannelName", "test"),
     f"{TRAINING}.InputDataConfig[1].ChannelName: 'test' is not a declared training channel (training, validation)"),
    (_set("TrainingJobDefinition.InputDataConfig.0.ChannelName", "validation"),
     f"{TRAINING}.InputDataConfig: the required channel 'training' is missing"),
    (_set("TrainingJobDefinition.TrainingInputMode", "Pipe"),
     f"{TRAINING}.InputDataConfig[0]: input mode Pipe is not among the channel's SupportedInputModes (File, FastFile)"),
    (_set("TrainingJobDefinition.InputDataConfig.1.InputMode", "FastFile"),
     f"{TRAINING}.InputDataConfig[1]: input mode FastFile is not among the channel's SupportedInputModes (File)"),
    (_set("TrainingJobDefinition.InputDataConfig.0.ContentType", "application/x-parquet"),
     f"{TRAINING}.InputDataConfig[0].ContentType: 'application/x-parquet' is not among"),
    (_set("TrainingJobDefinition.InputDataConfig.0.CompressionType", "Gzip"),
     f"{TRAINING}.InputDataConfig[0].CompressionType: Gzip is not among the channel's SupportedCompressionTypes "
     "(None)"),
    (_set("TrainingJobDefinition.HyperParameters.epochs", "500"),
     f"{TRAINING}.HyperParameters.epochs: '500' is outside its declaration (Integer 1..50)"),
    (_set("TrainingJobDefinition.HyperParameters.regularization", "l1"),
     f"{TRAINING}.HyperParameters.regularization: 'l1' is outside its declaration (one of none, l2)"),
    (_set("TrainingJobDefinition.HyperParameters.depth", "3"),
     f"{TRAINING}.HyperParameters.depth: not a declared hyperparameter"),
    (_set("TrainingJobDefinition.ResourceConfig.InstanceType", "ml.p3.2xlarge"),
     f"{TRAINING}.ResourceConfig.InstanceType: ml.p3.2xlarge is not among the SupportedTrainingInstanceTypes"),
    (_set("TrainingJobDefinition.ResourceConfig.InstanceCount", 2),
     f"{TRAINING}.ResourceConfig.InstanceCount: 2 hosts, and the algorithm does not declare "
     "SupportsDistributedTraining"),
    (_set("TrainingJobDefinition.StoppingCondition.MaxRuntimeInSeconds", 0),
     f"{TRAINING}.StoppingCondition.MaxRuntimeInSeconds: at least 1"),
    (_set("TrainingJobDefinition.InputDataConfig", []), f"{TRAINING}.InputDataConfig: 0 channels; 1-20 are allowed"),
    (_set("TransformJobDefinition.TransformInput.ContentType", "image/png"),
     f"{TRANSFORM}.TransformInput.ContentType: 'image/png' is not among the SupportedContentTypes"),
    (_set("TransformJobDefinition.TransformOutput.Accept", "text/plain"),
     f"{TRANSFORM}.TransformOutput.Accept: 'text/plain' is not among the SupportedResponseMIMETypes"),
    (_set("TransformJobDefinition.TransformResources.InstanceType", "ml.m5.xlarge"),
     f"{TRANSFORM}.TransformResources.InstanceType: 'ml.m5.xlarge' is not among the SupportedTransformInstanceTypes"),
    (_set("TransformJobDefinition.MaxPayloadInMB", 200), f"{TRANSFORM}.MaxPayloadInMB: 200; 0-100 are allowed"),
])
def test_each_rule_fails_with_the_field_path(change, said):
    assert said in failed(change)


def test_no_profile_at_all_fails_on_the_count_alone():
    assert failed(lambda s, p: s["ValidationProfiles"].clear()) == \
        "$.ValidationSpecification.ValidationProfiles: 0 profiles; 1-1 are allowed"


def test_a_required_hyperparameter_left_out_fails():
    training = copy.deepcopy(REFERENCE.training)
    training["SupportedHyperParameters"][0].update(IsRequired=True)
    del training["SupportedHyperParameters"][0]["DefaultValue"]
    declared = dataclasses.replace(REFERENCE, training=training)
    said = failed(lambda s, p: p["TrainingJobDefinition"]["HyperParameters"].pop("epochs"), declared)
    assert said == f"{TRAINING}.HyperParameters: the required hyperparameter 'epochs' is missing"


def test_a_transform_job_without_an_inference_specification_fails():
    declared = dataclasses.replace(REFERENCE, inference=None)
    said = failed(None, declared)
    assert said == f"{TRANSFORM}: a transform job, and no InferenceSpecification to build its model from"


def test_a_profile_with_a_training_job_alone_is_judged_on_it():
    summary = judged(lambda s, p: p.pop("TransformJobDefinition"))
    assert "transform job" not in summary and "training job: 2 channel(s)" in summary


def test_an_algorithms_profile_needs_its_training_job():
    assert failed(lambda s, p: p.pop("TrainingJobDefinition")) == \
        f"{PROFILE}.TrainingJobDefinition: an algorithm's profile starts with a training job; none is given"


MODEL_PACKAGE = dataclasses.replace(REFERENCE, training=None, model_package=True)


def test_a_model_packages_profile_is_its_transform_job_alone():
    summary = judged(lambda s, p: p.pop("TrainingJobDefinition"), MODEL_PACKAGE)
    assert summary.startswith("profile 'reference-csv' stays within the declaration (transform job: text/csv -> "
                              "text/csv)")
    assert failed(None, MODEL_PACKAGE) == \
        f"{PROFILE}.TrainingJobDefinition: a model package's profile has no training job"
    assert failed(lambda s, p: p.clear() or p.update(ProfileName="p"), MODEL_PACKAGE) == \
        f"{PROFILE}.TransformJobDefinition: a model package's profile is its transform job; none is given"


def test_a_create_model_package_request_is_read_as_one():
    declared = declaration.load(SAMPLES.parent / "tests" / "data" / "create-model-package.json")
    assert declared.model_package and declared.training is None
    assert declared_checks.validation_profile_problems(declared) == []
