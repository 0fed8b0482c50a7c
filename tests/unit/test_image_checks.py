"""The image checks' judgement (IMG-01..09) on hand-made records: training runs, servers, what the image ships under
the directories SageMaker mounts over. No engine: the runs that read the image (training.shipped_under_*) are run
here on a fake engine's answers."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from byoc_conformance import training
from byoc_conformance.checks import image
from byoc_conformance.jobs import MOUNTED
from byoc_conformance.outcome import CouldNotRun, Unclaimed
from byoc_conformance.plan import Plan
from byoc_conformance.registry import CHECKS, Context
from byoc_conformance.training import Shipped
from byoc_conformance.verdicts import Failed, Inconclusive

from .test_checks import FakeServe, run


class Runs(SimpleNamespace):
    """TrainingRuns as the image checks read them: the good run (or what reading it raises) and `disabled`."""

    def __init__(self, good=None, disabled=None, **more):
        super().__init__(good_or_raise=good if good is not None else run(), disabled=disabled, **more)

    @property
    def good(self):
        if isinstance(self.good_or_raise, Exception):
            raise self.good_or_raise
        return self.good_or_raise


class Serving(SimpleNamespace):
    """Hosting as the image checks read it: the shared server, or what reading it raises."""

    def __init__(self, shared=None, image="algo:1", **more):
        super().__init__(shared_or_raise=shared if shared is not None else FakeServe(), image=image,
                         **{"plan": Plan(), **more})  # IMG-04 reads PID 1 through a planned run

    @property
    def shared(self):
        if isinstance(self.shared_or_raise, Exception):
            raise self.shared_or_raise
        return self.shared_or_raise


def context(config=None, *, good=None, serve=None, disabled=None, hosting_image="algo:1", platform="linux/amd64",
            engine="linux/amd64") -> Context:
    return Context(SimpleNamespace(platform=engine), "algo:1", config or {},  # type: ignore[arg-type]
                   Runs(good, disabled), Serving(serve, hosting_image),  # type: ignore[arg-type]
                   image_platform=platform)


# IMG-01: the argument reaches the programs

def test_img_01_names_what_it_could_not_observe_beside_what_it_saw():
    ctx = context({"Entrypoint": ["/usr/bin/dispatch"], "Env": ["LANG=C", "PATH=/opt/program:/usr/bin"]},
                  serve=CouldNotRun("no model to serve: training failed"))
    summary = image.train_and_serve_reachable(ctx)
    assert summary.startswith("`train` ran and exited with code 0 after 3.0 s (not observed: `serve`: no model to "
                              "serve: training failed)")
    assert summary.endswith("PATH=/opt/program:/usr/bin")


def test_img_01_of_an_inference_only_image_judges_serve_alone_with_the_default_path():
    summary = image.train_and_serve_reachable(context(good=Unclaimed("inference only"), disabled="--byoc-model"))
    assert summary.startswith("`serve` answered /ping 200 0.4 s after start; ENTRYPOINT null")
    assert summary.endswith(f"PATH={image.DEFAULT_PATH}")


def test_img_01_with_a_separate_inference_image_judges_train_alone():
    assert "`serve`" not in image.train_and_serve_reachable(context(hosting_image="algo-serve:1"))


def test_img_01_leaves_a_program_that_cannot_execute_to_img_09_and_a_shell_form_using_its_argument_passes():
    foreign = run(exit_code=1, logs="exec /usr/bin/train: exec format error\n")
    config = {"Entrypoint": ["/bin/sh", "-c", 'exec "$0" "$@"']}
    with pytest.raises(Inconclusive, match="no program was seen to start: `train`: `train` exited with code 1"):
        image.train_and_serve_reachable(context(config, good=foreign, serve=FakeServe(None, exit_code=1)))


def test_img_01_says_a_serve_that_never_answered_proves_nothing_either_way():
    with pytest.raises(Inconclusive, match="`serve`: exit None"):
        image.train_and_serve_reachable(context(good=run(exit_code=None, killed_at_deadline=True),
                                                serve=FakeServe(None)))


# IMG-02 and IMG-03: the ENTRYPOINT

def test_no_entrypoint_is_exec_form_and_no_tini():
    assert image.exec_form_entrypoint(context()).startswith("no ENTRYPOINT")
    assert image.no_tini(context({"Entrypoint": ["python3", "main.py"]})) == \
        'no tini in ENTRYPOINT ["python3", "main.py"]'


def test_tini_of_an_inference_only_image_that_never_serves_fails():
    stop = SimpleNamespace(seconds=1.0, server=None)
    ctx = context({"Entrypoint": ["/usr/bin/tini", "--"]}, disabled="--byoc-model", serve=FakeServe(None, 127))
    ctx.hosting.stopped_by_sigterm = stop
    with pytest.raises(Failed, match=r"under /usr/bin/tini, `serve` never became healthy: exit 127"):
        image.no_tini(ctx)


def test_img_03_reads_the_server_only_for_an_inference_only_image_under_tini():
    tini = {"Entrypoint": ["/sbin/docker-init", "--"]}
    ctx = context(tini, disabled="--byoc-model")
    ctx.hosting.stopped_by_sigterm = stopped = SimpleNamespace(seconds=0.5, server=None)
    (runs,) = CHECKS["IMG-03:no-tini"].runs
    assert runs(ctx) == (ctx.hosting.shared, stopped)
    assert runs(context(tini)) is None and runs(context(disabled="--byoc-model")) is None


# IMG-04: serves as root

def test_a_server_that_is_not_running_cannot_be_looked_at():
    with pytest.raises(Inconclusive, match="no running server to look at: exit None"):
        image.serves_as_root(context(serve=FakeServe(None, start_error="no such image")))


# IMG-09: the platform

def test_an_image_for_a_platform_sagemaker_does_not_run_fails():
    with pytest.raises(Failed, match=r"the image is linux/s390x") as failure:
        image.runs_on_the_engine_platform(context(platform="linux/s390x"))
    assert "linux/amd64 or linux/arm64" in failure.value.expected


def test_programs_that_ran_pass_img_09_and_one_that_could_not_run_is_skipped():
    assert image.runs_on_the_engine_platform(context()) == \
        "linux/amd64 image; `train` and `serve` ran on this linux/amd64 engine"
    assert image.runs_on_the_engine_platform(context(serve=CouldNotRun("no model"))) == \
        "linux/amd64 image; `train` ran on this linux/amd64 engine"


@pytest.mark.parametrize("good, serve", [
    (run(exit_code=1, logs="exec /usr/bin/train: exec format error\n"), None),
    (run(exit_code=None, start_error="exec format error"), None),
    (None, FakeServe(None, exit_code=1, start_error="exec /usr/bin/serve: exec format error")),
])
def test_a_program_that_cannot_execute_on_the_engine_fails_img_09(good, serve):
    with pytest.raises(Failed, match=r"could not execute on this linux/arm64 engine \(exec format error\); the image "
                                     r"says it is linux/amd64") as failure:
        image.runs_on_the_engine_platform(context(good=good, serve=serve, engine="linux/arm64"))
    assert "certify an image for another platform on an engine of that platform" in failure.value.expected


def test_img_09_with_no_program_seen_to_run_is_inconclusive():
    with pytest.raises(Inconclusive, match="no program of this linux/amd64 image was seen to run on the linux/amd64"):
        image.runs_on_the_engine_platform(context(good=run(exit_code=None, killed_at_deadline=True),
                                                  serve=FakeServe(None)))


# IMG-07: nothing relied on under /opt/ml, judged on the good run and the record of what the image ships

def shipped(monkeypatch, files, paths=MOUNTED, image_name="algo:1") -> list[str]:
    """The record IMG-07 reads, whichever run it asks for; returns which one it asked for."""
    asked: list[str] = []

    def record(which: str):
        def read(owner):
            asked.append(which)
            if isinstance(files, Exception):
                raise files
            return Shipped(image_name, tuple(paths), list(files))
        return read

    monkeypatch.setattr(image, "shipped_under_mounts", record("training"))
    monkeypatch.setattr(image, "shipped_under_model", record("hosting"))
    return asked


def test_an_image_that_ships_nothing_under_the_mounts_passes(monkeypatch):
    asked = shipped(monkeypatch, [])
    assert image.nothing_relied_on_under_opt_ml(context()) == \
        "the image ships no file under /opt/ml/input, /opt/ml/model, /opt/ml/output, which SageMaker mounts over"
    assert asked == ["training"]


def test_files_under_the_mounts_that_training_did_without_pass_and_are_listed(monkeypatch):
    shipped(monkeypatch, [f"/opt/ml/input/config/{n}.json" for n in range(7)])
    summary = image.nothing_relied_on_under_opt_ml(context())
    assert summary.startswith("ships 7 file(s) there (/opt/ml/input/config/0.json, ")
    assert "/opt/ml/input/config/4.json and 2 more), hidden by the mounts in every run; `train` worked" in summary


def test_a_failed_run_whose_log_names_a_shipped_file_fails_img_07(monkeypatch):
    shipped(monkeypatch, ["/opt/ml/input/config/defaults.json"])
    failed = run(exit_code=1, logs="loading\nFileNotFoundError: /opt/ml/input/config/defaults.json\n")
    with pytest.raises(Failed, match=r"`train` failed \(`train` exited with code 1 after 3.0 s\), and its log names "
                                     r"files .*: FileNotFoundError: /opt/ml/input/config/defaults.json") as failure:
        image.nothing_relied_on_under_opt_ml(context(good=failed))
    assert failure.value.reproduce == \
        "docker run --rm --entrypoint ls algo:1 -lR /opt/ml/input /opt/ml/model /opt/ml/output"
    assert failure.value.run is failed


def test_a_failed_run_that_names_no_shipped_file_is_inconclusive(monkeypatch):
    shipped(monkeypatch, ["/opt/ml/model/README"])
    with pytest.raises(Inconclusive, match=r"without naming the 1 file\(s\) the image ships there"):
        image.nothing_relied_on_under_opt_ml(context(good=run(exit_code=2, logs="out of memory\n")))


def test_an_inference_only_image_is_judged_on_serve_and_on_opt_ml_model(monkeypatch):
    asked = shipped(monkeypatch, ["/opt/ml/model/model.pkl"], paths=("/opt/ml/model",))
    ctx = context(good=Unclaimed("inference only"), disabled="--byoc-model")
    assert "`serve` worked without them" in image.nothing_relied_on_under_opt_ml(ctx)
    assert asked == ["hosting"]
    broken = FakeServe(None, exit_code=1)
    broken.logs = "cannot open /opt/ml/model/model.pkl\n"
    with pytest.raises(Failed, match=r"`serve` failed \(exit 1\)"):
        image.nothing_relied_on_under_opt_ml(context(good=Unclaimed("inference only"), disabled="--byoc-model",
                                                     serve=broken))


def test_what_the_engine_would_not_give_is_the_run_s_outcome_for_the_registry(monkeypatch):
    shipped(monkeypatch, CouldNotRun("the engine did not give the image's files under /opt/ml/model"))
    with pytest.raises(CouldNotRun, match="did not give the image's files"):
        image.nothing_relied_on_under_opt_ml(context())


def test_img_07_names_the_good_run_and_the_record_of_what_is_shipped(monkeypatch):
    asked = shipped(monkeypatch, [])
    good, record = CHECKS["IMG-07:nothing-relied-on-under-opt-ml"].runs
    assert good is training.TrainingRuns.good
    assert record(context()).files == [] and asked == ["training"]


# The runs that read what the image ships (runs layer), on a fake engine's answers

class Engine:
    def __init__(self, answer):
        self.answer, self.asked = answer, []

    def shipped_files(self, image_name, paths):
        self.asked.append((image_name, tuple(paths)))
        return self.answer


def test_what_the_image_ships_under_training_s_mounts_is_read_once_per_plan():
    engine = Engine({"/opt/ml/input": ["b", "a"], "/opt/ml/model": [], "/opt/ml/output": ["data/x"]})
    runs = SimpleNamespace(plan=Plan(), disabled=None, runner=SimpleNamespace(engine=engine, image="algo:1"))
    record = training.shipped_under_mounts(runs)
    assert record == Shipped("algo:1", MOUNTED, ["/opt/ml/input/a", "/opt/ml/input/b", "/opt/ml/output/data/x"])
    assert training.shipped_under_mounts(runs) is record and engine.asked == [("algo:1", MOUNTED)]


def test_an_image_not_trained_ships_nothing_training_reads_and_a_served_image_is_read_under_opt_ml_model():
    runs = SimpleNamespace(plan=Plan(), disabled="--byoc-model given", runner=None)
    with pytest.raises(Unclaimed, match="--byoc-model given"):
        training.shipped_under_mounts(runs)
    engine = Engine({"/opt/ml/model": ["model.pkl"]})
    hosting = SimpleNamespace(plan=Plan(), engine=engine, image="algo-serve:1")
    assert training.shipped_under_model(hosting) == Shipped("algo-serve:1", ("/opt/ml/model",),
                                                            ["/opt/ml/model/model.pkl"])


def test_an_engine_that_would_not_say_gives_nothing_to_read():
    hosting = SimpleNamespace(plan=Plan(), engine=Engine(None), image="algo:1")
    with pytest.raises(CouldNotRun, match=r"^the engine did not give the image's files under /opt/ml/model$"):
        training.shipped_under_model(hosting)
