"""The declaration itself (MKT-03): what CreateAlgorithm would refuse in a TrainingSpecification or
InferenceSpecification, judged before any container runs."""

from __future__ import annotations

import math
import re

from ..declaration import Declaration, Hyperparameter, duplicate_names, parse_hyperparameter
from ..hyperparameters import bounds
from ..registry import Context, check
from ..verdicts import Failed, NotApplicable

CHANNELS = (1, 8)  # TrainingSpecification.TrainingChannels
MAX_HYPERPARAMETERS = 100  # SupportedHyperParameters
CONTAINERS = (1, 15)  # InferenceSpecification.Containers
CATEGORICAL_VALUES = (1, 30)  # CategoricalParameterRangeSpecification.Values


def _count(what: str, items: list, limits: tuple[int, int]) -> list[str]:
    low, high = limits
    return [] if low <= len(items) <= high else [f"{len(items)} {what}; {low}-{high} are allowed"]


def _hyperparameter_problems(spec: dict) -> list[str]:
    parsed = parse_hyperparameter(spec)
    name, kind, ranges = parsed.name, parsed.type, spec.get("Range", {})
    problems = []
    if parsed.required and parsed.default is not None:
        problems.append(f"hyperparameter {name!r} is required and has a DefaultValue; a default means not required")
    expected_range = {"Integer": "IntegerParameterRangeSpecification",
                      "Continuous": "ContinuousParameterRangeSpecification",
                      "Categorical": "CategoricalParameterRangeSpecification"}.get(kind)
    wrong = [key for key in ranges if key != expected_range]
    if wrong:
        problems.append(f"hyperparameter {name!r} of Type {kind} has a {', '.join(wrong)}")
    if expected_range in ranges and kind in ("Integer", "Continuous") and bounds(parsed) is None:
        problems.append(f"hyperparameter {name!r}: range {parsed.minimum!r}..{parsed.maximum!r} is not "
                        f"a valid {kind} range (MinValue <= MaxValue, both {kind.lower()} numbers)")
    if "CategoricalParameterRangeSpecification" in ranges:
        problems += [f"hyperparameter {name!r}: {p}"
                     for p in _count("categorical values", list(parsed.values), CATEGORICAL_VALUES)]
    if parsed.default is not None and not _valid_value(parsed, parsed.default):
        problems.append(f"hyperparameter {name!r}: DefaultValue {parsed.default!r} is outside its own declaration")
    return problems


def _valid_value(spec: Hyperparameter, value: str) -> bool:
    if spec.type == "Categorical":
        return not spec.values or value in spec.values
    if spec.type == "FreeText":
        return True
    try:
        number = int(value) if spec.type == "Integer" else float(value)
    except ValueError:
        return False
    numeric = bounds(spec)
    return math.isfinite(number) and (numeric is None or numeric[0] <= number <= numeric[1])


def declaration_problems(declaration: Declaration) -> list[str]:
    problems = []
    training = declaration.training
    if training:
        channels = training["TrainingChannels"]
        problems += _count("training channels", channels, CHANNELS)
        problems += duplicate_names("channel", [c["Name"] for c in channels])
        problems += [f"channel {c['Name']!r} lists no SupportedContentTypes" for c in channels
                     if not c["SupportedContentTypes"]]
        specs = training.get("SupportedHyperParameters", [])
        problems += _count("hyperparameters", specs, (0, MAX_HYPERPARAMETERS))
        problems += duplicate_names("hyperparameter", [s["Name"] for s in specs])
        for spec in specs:
            problems += _hyperparameter_problems(spec)
    inference = declaration.inference
    if inference:
        problems += _count("inference containers", inference["Containers"], CONTAINERS)
        for key in ("SupportedContentTypes", "SupportedResponseMIMETypes"):
            if key in inference and not inference[key]:
                problems.append(f"InferenceSpecification.{key} is empty")
    return problems


@check("MKT-03", "declaration-within-api-limits")
def declaration_within_limits(ctx: Context) -> str:
    declared = ctx.declaration
    if declared.source is None:
        raise NotApplicable("no declaration was given (--byoc-spec)")
    problems = declaration_problems(declared)
    if problems:
        raise Failed("; ".join(problems), expected="a TrainingSpecification with 1-8 channels and at most 100 "
                     "hyperparameters whose ranges and defaults hold, and an InferenceSpecification with 1-15 "
                     "containers (what CreateAlgorithm accepts)", reproduce=declared.rerun(ctx.image, "MKT-03"))
    parts = [f"{len(declared.channels)} channel(s), {len(declared.hyperparameters)} hyperparameter(s)"
             if declared.training else "no TrainingSpecification",
             f"{len(declared.inference['Containers'])} container(s)" if declared.inference else
             "no InferenceSpecification"]
    return f"{declared.source}: {'; '.join(parts)}, within the API's limits"


# --- the validation profile (MKT-02) --------------------------------------------------------------------------------

PROFILE_NAME = re.compile(r"[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}")  # EntityName
ROLE_ARN = re.compile(r"arn:aws[a-z\-]*:iam::\d{12}:role/?[a-zA-Z_0-9+=,.@\-_/]+")  # RoleArn, 20-2048 characters
INPUT_CHANNELS = (1, 20)  # TrainingJobDefinition.InputDataConfig
MAX_PAYLOAD_MB = 100  # TransformJobDefinition.MaxPayloadInMB
PROFILE = "$.ValidationSpecification.ValidationProfiles[0]"


def _training_job_problems(job: dict, declared: Declaration) -> list[str]:
    """Where a profile's training job leaves what the algorithm declares: what CreateTrainingJob refuses for a job
    that names the algorithm, so validation fails before the image runs."""
    where, training = f"{PROFILE}.TrainingJobDefinition", declared.training or {}
    problems = [f"{where}.InputDataConfig: {p}" for p in _count("channels", job["InputDataConfig"], INPUT_CHANNELS)]
    channels = {spec["Name"]: spec for spec in training.get("TrainingChannels", [])}
    given = [channel["ChannelName"] for channel in job["InputDataConfig"]]
    problems += [f"{where}.InputDataConfig: {p}" for p in duplicate_names("channel", given)]
    problems += [f"{where}.InputDataConfig: the required channel {name!r} is missing"
                 for name, spec in channels.items() if spec.get("IsRequired") and name not in given]
    for number, channel in enumerate(job["InputDataConfig"]):
        at, name = f"{where}.InputDataConfig[{number}]", channel["ChannelName"]
        spec = channels.get(name)
        if spec is None:
            problems.append(f"{at}.ChannelName: {name!r} is not a declared training channel "
                            f"({', '.join(channels) or 'none declared'})")
            continue
        mode = channel.get("InputMode", job["TrainingInputMode"])
        if mode not in spec["SupportedInputModes"]:
            problems.append(f"{at}: input mode {mode} is not among the channel's SupportedInputModes "
                            f"({', '.join(spec['SupportedInputModes'])})")
        if "ContentType" in channel and channel["ContentType"] not in spec["SupportedContentTypes"]:
            problems.append(f"{at}.ContentType: {channel['ContentType']!r} is not among the channel's "
                            f"SupportedContentTypes ({', '.join(spec['SupportedContentTypes'])})")
        compression = channel.get("CompressionType", "None")
        if compression != "None" and compression not in spec.get("SupportedCompressionTypes", ["None"]):
            problems.append(f"{at}.CompressionType: {compression} is not among the channel's "
                            f"SupportedCompressionTypes ({', '.join(spec.get('SupportedCompressionTypes', ['None']))})")
    specs = {spec.name: spec for spec in declared.hyperparameters}
    values = job.get("HyperParameters", {})
    for name, value in values.items():
        if name not in specs:
            problems.append(f"{where}.HyperParameters.{name}: not a declared hyperparameter")
        elif not _valid_value(specs[name], value):
            problems.append(f"{where}.HyperParameters.{name}: {value!r} is outside its declaration "
                            f"({_declared_values(specs[name])})")
    problems += [f"{where}.HyperParameters: the required hyperparameter {name!r} is missing"
                 for name, spec in specs.items() if spec.required and name not in values]
    resources = job["ResourceConfig"]
    supported = training.get("SupportedTrainingInstanceTypes", [])
    if "InstanceType" in resources and resources["InstanceType"] not in supported:
        problems.append(f"{where}.ResourceConfig.InstanceType: {resources['InstanceType']} is not among the "
                        f"SupportedTrainingInstanceTypes ({', '.join(supported)})")
    if resources["InstanceCount"] > 1 and not declared.distributed:
        problems.append(f"{where}.ResourceConfig.InstanceCount: {resources['InstanceCount']} hosts, and the "
                        "algorithm does not declare SupportsDistributedTraining")
    if job["StoppingCondition"].get("MaxRuntimeInSeconds", 1) < 1:
        problems.append(f"{where}.StoppingCondition.MaxRuntimeInSeconds: at least 1")
    return problems


def _declared_values(spec: Hyperparameter) -> str:
    if spec.type == "Categorical":
        return f"one of {', '.join(spec.values)}"
    return f"{spec.type} {spec.minimum}..{spec.maximum}"


def _transform_job_problems(job: dict, declared: Declaration) -> list[str]:
    """Where a profile's transform job asks for what the inference specification does not support."""
    where, inference = f"{PROFILE}.TransformJobDefinition", declared.inference
    if inference is None:
        return [f"{where}: a transform job, and no InferenceSpecification to build its model from"]
    problems = []
    pairs = (("TransformInput", "ContentType", "SupportedContentTypes"),
             ("TransformOutput", "Accept", "SupportedResponseMIMETypes"),
             ("TransformResources", "InstanceType", "SupportedTransformInstanceTypes"))
    for part, key, listed in pairs:
        value, supported = job[part].get(key), inference.get(listed, [])
        if value is not None and value not in supported:
            problems.append(f"{where}.{part}.{key}: {value!r} is not among the {listed} ({', '.join(supported)})")
    if not 0 <= job.get("MaxPayloadInMB", 0) <= MAX_PAYLOAD_MB:
        problems.append(f"{where}.MaxPayloadInMB: {job['MaxPayloadInMB']}; 0-{MAX_PAYLOAD_MB} are allowed")
    return problems


def validation_profile_problems(declared: Declaration) -> list[str]:
    """What keeps the request's validation profile from passing before its jobs run: the API's rules on
    AlgorithmValidationSpecification, and the jobs' fields against what the algorithm declares."""
    specification = declared.validation or {}
    profiles = specification.get("ValidationProfiles", [])
    problems = [f"$.ValidationSpecification.ValidationProfiles: {p}" for p in _count("profiles", profiles, (1, 1))]
    role = specification.get("ValidationRole", "")
    if not (20 <= len(role) <= 2048 and ROLE_ARN.fullmatch(role)):
        problems.append(f"$.ValidationSpecification.ValidationRole: {role!r} is not an IAM role ARN")
    if not profiles:
        return problems
    profile = profiles[0]
    if not PROFILE_NAME.fullmatch(profile["ProfileName"]):
        problems.append(f"{PROFILE}.ProfileName: {profile['ProfileName']!r}: 1-63 letters, digits and hyphens, "
                        "starting and ending with a letter or digit")
    if declared.model_package:  # ModelPackageValidationProfile: a transform job of the packaged model, nothing else
        if "TrainingJobDefinition" in profile:
            problems.append(f"{PROFILE}.TrainingJobDefinition: a model package's profile has no training job")
        if "TransformJobDefinition" not in profile:
            problems.append(f"{PROFILE}.TransformJobDefinition: a model package's profile is its transform job; "
                            "none is given")
    elif "TrainingJobDefinition" in profile:
        problems += _training_job_problems(profile["TrainingJobDefinition"], declared)
    else:
        problems.append(f"{PROFILE}.TrainingJobDefinition: an algorithm's profile starts with a training job; "
                        "none is given")
    if "TransformJobDefinition" in profile:
        problems += _transform_job_problems(profile["TransformJobDefinition"], declared)
    return problems


@check("MKT-02", "validation-profile-within-declaration")
def validation_profile_within_declaration(ctx: Context) -> str:
    declared = ctx.declaration
    if declared.validation is None:
        raise NotApplicable("the declaration has no ValidationSpecification (the profile a Marketplace listing is "
                            "validated with): give the whole CreateAlgorithm or CreateModelPackage request with "
                            "--byoc-spec")
    problems = validation_profile_problems(declared)
    if problems:
        raise Failed("; ".join(problems), expected="exactly one validation profile whose training job uses only the "
                     "declared channels, input modes, content types, hyperparameter values and instance types, and "
                     "whose transform job only what the InferenceSpecification supports (else validation fails "
                     "before the image runs)", reproduce=declared.rerun(ctx.image, "MKT-02"))
    profile = declared.validation["ValidationProfiles"][0]
    parts = []
    if "TrainingJobDefinition" in profile:
        job = profile["TrainingJobDefinition"]
        parts.append(f"training job: {len(job['InputDataConfig'])} channel(s) in {job['TrainingInputMode']} mode, "
                     f"{len(job.get('HyperParameters', {}))} hyperparameter(s), "
                     f"{job['ResourceConfig']['InstanceCount']} x {job['ResourceConfig'].get('InstanceType', '?')}")
    if "TransformJobDefinition" in profile:
        transform = profile["TransformJobDefinition"]
        parts.append(f"transform job: {transform['TransformInput'].get('ContentType', 'no content type')} -> "
                     f"{transform['TransformOutput'].get('Accept', 'no Accept')}")
    return (f"profile {profile['ProfileName']!r} stays within the declaration ({'; '.join(parts)}); read from the "
            "request only: its jobs were not run")
