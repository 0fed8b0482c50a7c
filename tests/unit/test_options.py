"""The run's options: one frozen object built from the command line's values before anything starts."""

import dataclasses
from pathlib import Path

import pytest

from byoc_conformance import plugin
from byoc_conformance.declaration import DEFAULTS
from byoc_conformance.engine import HarnessError, Limits
from byoc_conformance.options import ReportOptions, RunOptions, ServingOptions, TrainingOptions


class Parser:
    """Collects the plugin's options and their defaults, as pytest's parser would hold them."""

    def __init__(self) -> None:
        self.defaults: dict[str, object] = {}

    def getgroup(self, *_: object) -> "Parser":
        return self

    def addoption(self, flag: str, **given: object) -> None:
        self.defaults[flag.lstrip("-").replace("-", "_")] = given.get("default")


def command_line(**given: object) -> dict[str, object]:
    parser = Parser()
    plugin.pytest_addoption(parser)  # type: ignore[arg-type]
    return {**parser.defaults, "image": "algo:1", **given}


def test_the_command_line_defaults_are_the_options_defaults() -> None:
    options = RunOptions.from_command_line(command_line(byoc_seed=7), Path.cwd())
    assert options.training == TrainingOptions()
    assert options.serving == ServingOptions()
    assert options.limits == Limits()
    assert options.report == ReportOptions()
    assert (options.image, options.hosting_image, options.seed) == ("algo:1", "algo:1", 7)
    assert options.declaration == DEFAULTS
    assert options.given["byoc_seed"] == 7 and options.given["image"] == "algo:1"


def test_a_seed_not_given_is_drawn_once_and_recorded_as_the_one_used() -> None:
    options = RunOptions.from_command_line(command_line(), Path.cwd())
    assert isinstance(options.seed, int) and options.given["byoc_seed"] == options.seed


def test_the_claims_of_the_command_line_are_the_declarations_and_nothing_can_change_them_later() -> None:
    options = RunOptions.from_command_line(
        command_line(byoc_checkpoints=True, byoc_network_isolation=True, byoc_response_streaming=True,
                     byoc_async=True, byoc_inference_image="algo:serve", byoc_pipeline=["next:1"],
                     byoc_report=Path("out")), Path.cwd())
    declared = options.declaration
    assert declared.checkpoints is not None
    assert (declared.network_isolation, declared.response_streaming, declared.async_inference) == (True, True, True)
    assert options.hosting_image == "algo:serve" and options.pipeline == ("next:1",)
    assert options.given["byoc_report"] == "out" and options.given["byoc_pipeline"] == ["next:1"]
    with pytest.raises(dataclasses.FrozenInstanceError):
        options.seed = 1  # type: ignore[misc]


@pytest.mark.parametrize("given, message", [
    ({"image": " "}, "--image is empty"),
    ({"byoc_batch_input_mb": 2048.0}, "--byoc-batch-input-mb 2048: at most 1024"),
    ({"byoc_source_dir": Path(".")}, "--byoc-source-dir needs --byoc-entry-point"),
    ({"byoc_report": Path(__file__)}, "exists and is not a directory"),
    ({"byoc_container_entrypoint": "[1"}, "--byoc-container-entrypoint"),
])
def test_what_no_parser_type_can_judge_is_one_line_before_anything_starts(given, message) -> None:
    with pytest.raises(HarnessError, match=message.replace("[", r"\[")):
        RunOptions.from_command_line(command_line(**given), Path.cwd())
