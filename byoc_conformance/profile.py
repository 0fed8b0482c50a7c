"""A Marketplace listing's validation profile (MKT-02) as jobs the harness runs: the training job of its
TrainingJobDefinition (an algorithm's), and the transform job of its TransformJobDefinition, with their data read
through the --byoc-s3 mappings (s3.py). Every field of the two definitions is either honoured, or has no effect a
container can see (KMS keys, volume sizes: named in the report), or is refused here with one line before anything
starts: never silently ignored. validation.py runs the jobs."""

from __future__ import annotations

import gzip
import re
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from . import opt_ml
from .declaration import Declaration
from .engine import HarnessError
from .s3 import Buckets

WHERE = "$.ValidationSpecification.ValidationProfiles[0]"
# Fields a container cannot tell from their absence: they are recorded, and named in the report as such.
NO_LOCAL_EFFECT = {
    "OutputDataConfig.KmsKeyId": "encrypts the uploaded model",
    "ResourceConfig.VolumeSizeInGB": "sizes the instance's storage volume",
    "ResourceConfig.VolumeKmsKeyId": "encrypts the storage volume",
    "ResourceConfig.KeepAlivePeriodInSeconds": "keeps a warm pool after the job",
    "StoppingCondition.MaxWaitTimeInSeconds": "bounds the wait for spot capacity",
    "StoppingCondition.MaxPendingTimeInSeconds": "bounds the wait for capacity",
    "TransformOutput.KmsKeyId": "encrypts the uploaded output",
    "TransformResources.InstanceType": "picks the instance (the harness runs the container on this engine)",
    "TransformResources.VolumeKmsKeyId": "encrypts the storage volume",
    "TransformResources.TransformAmiVersion": "picks the instance's AMI",
}
TRAINING_FIELDS = {
    "": {"TrainingInputMode", "HyperParameters", "InputDataConfig", "OutputDataConfig", "ResourceConfig",
         "StoppingCondition"},
    "OutputDataConfig": {"S3OutputPath", "KmsKeyId", "CompressionType"},
    "ResourceConfig": {"InstanceType", "InstanceCount", "VolumeSizeInGB", "VolumeKmsKeyId",
                       "KeepAlivePeriodInSeconds"},
    "StoppingCondition": {"MaxRuntimeInSeconds", "MaxWaitTimeInSeconds", "MaxPendingTimeInSeconds"},
}
TRANSFORM_FIELDS = {
    "": {"MaxConcurrentTransforms", "MaxPayloadInMB", "BatchStrategy", "Environment", "TransformInput",
         "TransformOutput", "TransformResources"},
    "TransformInput": {"DataSource", "ContentType", "CompressionType", "SplitType"},
    "TransformOutput": {"S3OutputPath", "Accept", "AssembleWith", "KmsKeyId"},
    "TransformResources": {"InstanceType", "InstanceCount", "VolumeKmsKeyId", "TransformAmiVersion"},
}
CHANNEL_FIELDS = {"ChannelName", "DataSource", "ContentType", "CompressionType", "RecordWrapperType", "InputMode",
                  "ShuffleConfig"}
JOB_NAME = re.compile(r"[^a-zA-Z0-9-]")


def _fields(definition: dict[str, Any], known: dict[str, set[str]], where: str) -> list[str]:
    """Refuses a field the harness does not know; returns those it records without effect."""
    noted = []
    for part, names in known.items():
        values = definition.get(part, {}) if part else definition
        at = f"{where}.{part}" if part else where
        unknown = sorted(set(values) - names)
        if unknown:
            raise HarnessError(f"{at}: {', '.join(unknown)}: not a field the harness knows how to honour")
        noted += [f"{part}.{name}" for name in values if f"{part}.{name}" in NO_LOCAL_EFFECT]
    return noted


@dataclass(frozen=True)
class TrainingJob:
    name: str
    input: opt_ml.TrainingInput
    output_path: str  # S3OutputPath: the model goes to <it>/<name>/output/model.tar.gz
    max_runtime: int | None  # StoppingCondition.MaxRuntimeInSeconds

    @property
    def model_key(self) -> str:
        return f"{self.name}/output/model.tar.gz"


@dataclass(frozen=True)
class TransformJob:
    name: str
    objects: dict[str, bytes]  # the input objects: relative key -> content, each transformed to <key>.out
    output_path: str  # S3OutputPath
    settings: dict[str, Any]  # what the job sets of MaxConcurrentTransforms, BatchStrategy, MaxPayloadInMB
    environment: dict[str, str]  # the model container's Environment, then the job's
    content_type: str  # TransformInput.ContentType; unset: the first of the declared SupportedContentTypes
    compression: str
    split_type: str
    accept: str | None
    assemble_with: str
    model: Path | None = None  # a model package's model.tar.gz (its ModelDataUrl, or --byoc-model); None: trained


@dataclass(frozen=True)
class Profile:
    name: str
    training: TrainingJob | None
    transform: TransformJob | None
    no_local_effect: tuple[str, ...] = ()  # fields set that no container could see, named in the report
    data: dict[str, str] = field(default_factory=dict)  # each data source's URI -> how many objects it resolved to


def build(declared: Declaration, buckets: Buckets, model: Path | None = None) -> Profile | None:
    """The profile's jobs, with their data read; None without a ValidationSpecification. Raises HarnessError with
    one line for what the harness cannot honour or cannot find."""
    specification = declared.validation
    if specification is None:
        if buckets:
            raise HarnessError("--byoc-s3 is given and the declaration has no ValidationSpecification whose data it "
                               "would map: give the whole CreateAlgorithm or CreateModelPackage request (--byoc-spec)")
        return None
    profiles = specification.get("ValidationProfiles", [])
    if len(profiles) != 1 or not buckets:
        return None  # the request is refused as it is (MKT-02 says why), or its data is not mapped: nothing to run
    profile = profiles[0]
    name = profile["ProfileName"]
    noted: list[str] = []
    data: dict[str, str] = {}
    training = None
    if "TrainingJobDefinition" in profile:
        training = _training_job(profile["TrainingJobDefinition"], name, buckets, noted, data)
    transform = None
    if "TransformJobDefinition" in profile:
        transform = _transform_job(profile["TransformJobDefinition"], name, declared, buckets, noted, data,
                                   model if training is None else None)
    return Profile(name, training, transform, tuple(noted), data)


def job_name(profile: str, step: str) -> str:
    return JOB_NAME.sub("-", f"{profile}-{step}")[:63]


def _training_job(job: dict[str, Any], profile: str, buckets: Buckets, noted: list[str],
                  data: dict[str, str]) -> TrainingJob:
    where = f"{WHERE}.TrainingJobDefinition"
    noted += _fields(job, TRAINING_FIELDS, where)
    output = job["OutputDataConfig"]
    if output.get("CompressionType", "GZIP") != "GZIP":
        raise HarnessError(f"{where}.OutputDataConfig.CompressionType: {output['CompressionType']}: the harness hands "
                           "the model over as model.tar.gz (GZIP) only")
    channels: dict[str, dict[str, bytes]] = {}
    types: dict[str, str] = {}
    delivery: dict[str, opt_ml.ChannelConfig] = {}
    for number, channel in enumerate(job["InputDataConfig"]):
        at = f"{where}.InputDataConfig[{number}]"
        unknown = sorted(set(channel) - CHANNEL_FIELDS)
        if unknown:
            raise HarnessError(f"{at}: {', '.join(unknown)}: not a field the harness knows how to honour")
        name = channel["ChannelName"]
        mode = channel.get("InputMode", job["TrainingInputMode"])
        wrapper = channel.get("RecordWrapperType", "None")
        if wrapper == "RecordIO" and mode != "Pipe":
            raise HarnessError(f"{at}.RecordWrapperType: RecordIO in {mode} mode: SageMaker wraps records in Pipe "
                               "mode only (AWS: in File mode leave it unset or None)")
        channels[name] = buckets.data_source(channel["DataSource"], f"{at}.DataSource")
        if mode == "Pipe" and channel.get("CompressionType") == "Gzip":
            _check_gzip(channels[name], f"{at}.DataSource")
        data[channel["DataSource"]["S3DataSource"]["S3Uri"]] = f"{len(channels[name])} object(s)"
        if "ContentType" in channel:
            types[name] = channel["ContentType"]
        shuffle = channel.get("ShuffleConfig")
        delivery[name] = opt_ml.ChannelConfig(
            mode, channel["DataSource"]["S3DataSource"].get("S3DataDistributionType", "FullyReplicated"), wrapper,
            compression=channel.get("CompressionType", "None"), shuffle_seed=shuffle["Seed"] if shuffle else None)
    resources = job["ResourceConfig"]
    training_input = opt_ml.TrainingInput(
        channels, dict(job.get("HyperParameters", {})), types, hosts=opt_ml.host_names(resources["InstanceCount"]),
        delivery=delivery, instance_type=resources.get("InstanceType", "local"))
    return TrainingJob(job_name(profile, "training"), training_input, output["S3OutputPath"],
                       job["StoppingCondition"].get("MaxRuntimeInSeconds"))


def _check_gzip(objects: dict[str, bytes], where: str) -> None:
    """A Gzip channel in Pipe mode is decompressed as it streams: an object that is not gzip data stops the job."""
    for key, content in objects.items():
        try:
            gzip.decompress(content)
        except (OSError, EOFError, zlib.error):
            raise HarnessError(f"{where}: the object {key!r} is not gzip data (CompressionType Gzip): SageMaker "
                               "fails the job as it streams it") from None


def _transform_job(job: dict[str, Any], profile: str, declared: Declaration, buckets: Buckets, noted: list[str],
                   data: dict[str, str], given_model: Path | None) -> TransformJob:
    where = f"{WHERE}.TransformJobDefinition"
    noted += _fields(job, TRANSFORM_FIELDS, where)
    if job["TransformResources"]["InstanceCount"] != 1:
        raise HarnessError(f"{where}.TransformResources.InstanceCount: {job['TransformResources']['InstanceCount']}: "
                           "the harness runs a transform on one instance; set 1")
    transform_input, transform_output = job["TransformInput"], job["TransformOutput"]
    if transform_input.get("SplitType", "None") == "TFRecord":
        raise HarnessError(f"{where}.TransformInput.SplitType: TFRecord: the harness splits None, Line and RecordIO")
    objects = buckets.data_source(transform_input["DataSource"], f"{where}.TransformInput.DataSource")
    data[transform_input["DataSource"]["S3DataSource"]["S3Uri"]] = f"{len(objects)} object(s)"
    containers = (declared.inference or {}).get("Containers", [{}])
    if len(containers) != 1:
        raise HarnessError(f"$.InferenceSpecification.Containers: {len(containers)} containers: the harness runs a "
                           "profile's transform on one container")
    container = containers[0]
    model = None
    if declared.model_package:
        if "ModelDataUrl" in container:
            model = buckets.object(container["ModelDataUrl"], "$.InferenceSpecification.Containers[0].ModelDataUrl")
        elif given_model is not None:
            model = given_model
        else:
            raise HarnessError("$.InferenceSpecification.Containers[0]: no ModelDataUrl, and no --byoc-model: the "
                               "model package's transform needs its model")
    strategy = {"MultiRecord": "MULTI_RECORD", "SingleRecord": "SINGLE_RECORD"}  # as the container's environment
    settings = {key: (strategy[job[key]] if key == "BatchStrategy" else job[key])
                for key in ("MaxConcurrentTransforms", "BatchStrategy", "MaxPayloadInMB") if key in job}
    return TransformJob(
        job_name(profile, "transform"), objects, transform_output["S3OutputPath"], settings,
        {**container.get("Environment", {}), **job.get("Environment", {})},
        transform_input.get("ContentType") or declared.content_types[0],
        transform_input.get("CompressionType", "None"), transform_input.get("SplitType", "None"),
        transform_output.get("Accept"), transform_output.get("AssembleWith", "None"), model)
