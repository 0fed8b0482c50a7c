"""Which broken samples are judged on one area (tests/suite_runs.judged_area), and what the -k expression of each
area selects from the registered checks: a sample that changes more than one program, or is judged otherwise than
the conforming sample it is built on, runs the whole suite."""

import json

import pytest
from _pytest.mark.expression import Expression

from byoc_conformance.checks import all_checks

from .. import suite_runs
from ..suite_runs import area_selection, judged_area


@pytest.mark.parametrize(("sample", "area"), [
    ("serve-ping-500", "hosting"),  # COPY serve onto the reference, judged as the reference is
    ("mme-unload-leaks", "hosting"),  # onto the conforming mme sample
    ("serve-declared-json-unsupported", "hosting"),  # with the reference's declaration, which its own test judges
    ("serverless-many-workers", "hosting"),  # options of serverless-fits, the reference image as it is
    ("train-no-model", "training"),
    ("train-leaves-unservable-model", "training"),
    ("distributed-ignores-sharding", "training"),  # onto distributed, with its declaration
    ("reference", None),  # conforming samples run everything
    ("classifier", None),
    ("serve-headerless-csv-400", None),  # a declaration of its own: training under it was never judged
    ("entrypoint-tini", None),  # more than one program replaced
    ("train-relies-on-opt-ml", None),
    ("framework-sklearn-partial-environment", None),  # script mode
])
def test_a_sample_is_judged_on_one_area_only_when_it_replaces_one_program_of_a_conforming_sample(sample, area):
    assert judged_area(sample) == area


def _write_sample(root, name, dockerfile, expected):
    (root / name).mkdir()
    (root / name / "Dockerfile").write_text(dockerfile)
    (root / name / "expected.json").write_text(json.dumps(expected))


def test_a_sample_on_a_broken_base_or_with_other_options_runs_everything(tmp_path, monkeypatch):
    monkeypatch.setattr(suite_runs, "SAMPLES", tmp_path)
    _write_sample(tmp_path, "good", "ARG BASE=byoc-samples/base\nFROM ${BASE}\nCOPY program /opt/program\n",
                  {"failed": []})
    _write_sample(tmp_path, "bad", "ARG BASE=byoc-samples/good\nFROM ${BASE}\nCOPY serve /opt/program/serve\n",
                  {"failed": ["SERVE-05"]})
    _write_sample(tmp_path, "on-bad", "ARG BASE=byoc-samples/bad\nFROM ${BASE}\nCOPY train /opt/program/train\n",
                  {"failed": ["TRAIN-13"]})
    _write_sample(tmp_path, "other-options",
                  "ARG BASE=byoc-samples/good\nFROM ${BASE}\nCOPY train /opt/program/train\n",
                  {"failed": ["TRAIN-13"], "options": ["--byoc-hosts=3"]})
    _write_sample(tmp_path, "both", "ARG BASE=byoc-samples/good\nFROM ${BASE}\nCOPY train /opt/program/train\n"
                  "COPY serve /opt/program/serve\n", {"failed": ["TRAIN-13", "SERVE-05"]})
    assert judged_area("bad") == "hosting"
    assert judged_area("on-bad") is None and judged_area("other-options") is None and judged_area("both") is None


def _selected(area):
    option, expression = area_selection(area)
    assert option == "-k"
    compiled = Expression.compile(expression)

    def matches(test_id: str) -> bool:  # -k matches a word case-insensitively anywhere in the test's name
        return compiled.evaluate(lambda word, **_: word.lower() in f"test_requirement[{test_id}]".lower())

    return {entry.test_id for entry in all_checks() if matches(entry.test_id)}


def test_each_area_selects_its_checks_the_image_checks_and_its_guard():
    every = {entry.test_id for entry in all_checks()}
    training = {i for i in every if i.startswith(("TRAIN-", "METRIC-", "SCRIPT-"))}
    image = {i for i in every if i.startswith(("IMG-", "MKT-"))}
    assert _selected("hosting") == every - training
    assert _selected("training") == training | image | {
        "SERVE-04:ping-answers-200-within-2s", "SERVE-05:healthy-within-startup-window",
        "SERVE-07:valid-csv-answered-2xx-within-60s"}
    assert area_selection(None) == []
