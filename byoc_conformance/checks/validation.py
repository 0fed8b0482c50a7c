"""The validation profile (MKT-02): SageMaker publishes a listing only once its profile's jobs complete. Judged
first on the request, before any container runs (what keeps the jobs from starting), then on the profile's run: the
training job must exit 0 within its StoppingCondition and leave a model; the transform job must have every payload
answered 2xx and write one output object per input object."""

from __future__ import annotations

import re

from ..declaration import Declaration, Hyperparameter, count_problems, duplicate_names
from ..hyperparameters import within_declaration
from ..registry import Context, check
from ..validation import ProfileRun, TrainingStep, TransformStep, Validation
from ..verdicts import Failed, Inconclusive, NotApplicable

# --- the request ---------------------------------------------------------------------------------------------------

PROFILE_NAME = re.compile(r"[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}")  # EntityName
ROLE_ARN = re.compile(r"arn:aws[a-z\-]*:iam::\d{12}:role/?[a-zA-Z_0-9+=,.@\-_/]+")  # RoleArn, 20-2048 characters
INPUT_CHANNELS = (1, 20)  # TrainingJobDefinition.InputDataConfig
MAX_PAYLOAD_MB = 100  # TransformJobDefinition.MaxPayloadInMB
PROFILE = "$.ValidationSpecification.ValidationProfiles[0]"


def _training_job_problems(job: dict, declared: Declaration) -> list[str]:
    """Where a profile's training job leaves what the algorithm declares: what CreateTrainingJob refuses for a job
    that names the algorithm, so validation fails before the image runs."""
    where, training = f"{PROFILE}.TrainingJobDefinition", declared.training or {}
    problems = [f"{where}.InputDataConfig: {p}"
                for p in count_problems("channels", job["InputDataConfig"], INPUT_CHANNELS)]
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
        elif not within_declaration(specs[name], value):
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
    problems = [f"$.ValidationSpecification.ValidationProfiles: {p}"
                for p in count_problems("profiles", profiles, (1, 1))]
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
            "request (validation-profile-runs runs its jobs)")


# --- the run -------------------------------------------------------------------------------------------------------

EXPECTED = ("the profile's training job exits 0 within MaxRuntimeInSeconds and leaves a model, and its transform job "
            "answers every payload 2xx and writes one .out per input object (else SageMaker does not publish the "
            "listing)")


def _training(step: TrainingStep) -> str:
    """The training step's summary; raises the verdict when it did not complete."""
    run, job = step.run, step.job
    if run.start_error:
        raise Failed(f"training job: {run.outcome()}", expected=EXPECTED, run=run)
    if step.stopped_at_limit:
        raise Failed(f"training job: still running at MaxRuntimeInSeconds={job.max_runtime}: sent SIGTERM "
                     f"{run.signal_at:.1f} s in, as SageMaker stops it, and the job fails ({run.outcome()})",
                     expected=EXPECTED, run=run)
    if run.killed_at_deadline:
        raise Inconclusive(f"training job: {run.outcome()}, at the harness's --byoc-train-timeout (the profile "
                           f"allows {job.max_runtime or 'the default 86400'} s): raise the timeout to see it end",
                           run=run)
    if run.exit_code != 0:
        reason = (run.failure or b"").decode("utf-8", "replace").strip().splitlines()[:1]
        raise Failed(f"training job: {run.outcome()}" + (f"; /opt/ml/output/failure: {reason[0][:300]}"
                                                           if reason else ""), expected=EXPECTED, run=run)
    if step.model is None:
        raise Failed(f"training job: {run.outcome()} and left /opt/ml/model empty: no model for the transform",
                     expected=EXPECTED, run=run)
    return f"training job {job.name}: exit 0 after {run.duration:.1f} s, model.tar.gz at {step.model}"


def _transform(step: TransformStep) -> str:
    server, job = step.server, step.job
    if server.healthy_after is None:
        raise Failed(f"transform job: the model's `serve` container did not become healthy: {server.outcome()}",
                     expected=EXPECTED, run=server)
    for done in step.objects:
        if done.transform.failures:
            failures = done.transform.failures
            raise Failed(f"transform job: input object {done.key!r}: {'; '.join(failures[:3])}"
                         + (f" (and {len(failures) - 3} more)" if len(failures) > 3 else ""),
                         expected=EXPECTED, run=server)
    if len(step.objects) != len(job.objects):
        raise Failed(f"transform job: {len(step.objects)} output object(s) for {len(job.objects)} input object(s)",
                     expected=EXPECTED, run=server)
    payloads = sum(done.transform.payloads for done in step.objects)
    if not payloads:  # every object empty (or blank lines): the model's answers were never observed
        raise Inconclusive(f"transform job: the {len(step.objects)} input object(s) hold no record (SplitType "
                           f"{job.split_type}): no payload was sent, so nothing was judged", run=server)
    return (f"transform job {job.name}: {len(step.objects)} object(s) in {payloads} payload(s), all answered 2xx "
            f"in {step.seconds:.1f} s, written as {', '.join(str(done.output) for done in step.objects[:3])}"
            + (" ..." if len(step.objects) > 3 else ""))


@check("MKT-02", "validation-profile-runs", runs=(Validation.run,))
def validation_profile_runs(ctx: Context) -> str:
    declared = ctx.declaration
    if declared.validation is None:
        raise NotApplicable("the declaration has no ValidationSpecification: give the whole CreateAlgorithm or "
                            "CreateModelPackage request with --byoc-spec")
    problems = validation_profile_problems(declared)
    if problems:
        raise Failed(f"the profile's jobs cannot start: the request is refused first ({'; '.join(problems[:3])}"
                     f"{' ...' if len(problems) > 3 else ''})", expected=EXPECTED,
                     reproduce=declared.rerun(ctx.image, "MKT-02"))
    run: ProfileRun = ctx.validation.run
    parts = []
    if run.training is not None:
        parts.append(_training(run.training))
    if run.transform_skipped:
        raise Failed(f"transform job: not run: {run.transform_skipped}", expected=EXPECTED)
    if run.transform is not None:
        parts.append(_transform(run.transform))
    if not parts:
        raise Inconclusive("the profile has no job the harness could run")
    noted = f"; set and not observable offline: {', '.join(run.profile.no_local_effect)}" \
        if run.profile.no_local_effect else ""
    return f"profile {run.profile.name!r} ran as SageMaker runs it: {'; '.join(parts)}{noted}"
