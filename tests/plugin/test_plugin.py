"""The plugin as a user meets it: through pytest's command line, in a directory of their own."""

import subprocess
import sys

import pytest

from byoc_conformance import plugin, specs


def test_without_image_the_plugin_changes_nothing(pytester: pytest.Pytester):
    pytester.makepyfile(test_users_own="def test_mine():\n    assert True\n")
    result = pytester.runpytest("-v")
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(["*test_users_own.py::test_mine PASSED*"])
    result.stdout.no_fnmatch_line("*byoc-conformance 0*")  # the header line of a conformance run
    result.stdout.no_fnmatch_line("*byoc-conformance::*")


def test_options_are_listed_in_help(pytester: pytest.Pytester):
    result = pytester.runpytest("--help")
    result.stdout.fnmatch_lines(["*SageMaker BYOC conformance*", "*--image=IMAGE*", "*--byoc-train-timeout=SECONDS*"])


@pytest.mark.parametrize("option, value, message", [
    *(("--byoc-train-timeout", value, f"'{value}' is not a number of seconds above 0") for value in ("abc", "0", "-5")),
    # sizes SageMaker does not offer
    *(("--byoc-serverless", v, f"'{v}': serverless memory sizes are 1024, 2048, ") for v in ("1000", "big")),
    ("--byoc-async-payload-mb", "2048", "'2048': an asynchronous request body is 7 to 1024 MiB"),
])
def test_a_bad_option_value_is_one_clear_error(pytester: pytest.Pytester, option: str, value: str, message: str):
    result = pytester.runpytest_subprocess("--image", "x", f"{option}={value}")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines([f"*argument {option}: {message}*"])
    assert "Traceback" not in result.stderr.str()


def test_no_docker_engine_is_one_clear_error(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("DOCKER_HOST", f"unix://{pytester.path}/no-such.sock")
    result = pytester.runpytest_subprocess("--image", "algo:latest")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["ERROR: byoc-conformance: cannot reach a Docker engine (*"])
    assert "Traceback" not in result.stderr.str() + result.stdout.str()


def test_a_malformed_catalogue_is_one_clear_error(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch):
    broken = pytester.mkdir("specs")
    for schema in specs.specs_dir().glob("*.schema.json"):
        (broken / schema.name).write_text(schema.read_text())
    entry = '{"id": "IMG-01", "area": "image", "level": "MUST", "statement": "runs train", "source": "https://x"}'
    (broken / "requirements.json").write_text(
        f'{{"schema_version": 1, "catalogue_version": "one", "requirements": [{entry}]}}'
    )
    monkeypatch.setattr(specs, "specs_dir", lambda: broken)
    specs.load.cache_clear()
    try:
        result = pytester.runpytest("--image", "algo:latest")
    finally:
        specs.load.cache_clear()
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["ERROR: byoc-conformance: specs/requirements.json does not match "
                                 "requirements.schema.json at $.catalogue_version: *"])


def test_loading_the_plugin_imports_no_docker_client():
    # Installed, the plugin is loaded by every pytest run on the machine: without --image it must stay light.
    code = "import sys, byoc_conformance.plugin; sys.exit('docker' in sys.modules or 'jsonschema' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", code]).returncode == 0


def test_a_check_bound_to_an_unknown_id_fails_at_start_up(pytester: pytest.Pytester):
    pytester.makeconftest(
        "from byoc_conformance.registry import check\n"
        "check('NOPE-01', 'made-up')(lambda ctx: 'fine')\n"
    )
    result = pytester.runpytest_subprocess("--image", "algo:latest")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines([
        "ERROR: byoc-conformance: the catalogue and the checks do not trace to each other:",
        "  check bound to NOPE-01, which is not in the catalogue",
    ])


def test_a_malformed_declaration_is_one_clear_error_before_any_container(pytester: pytest.Pytester,
                                                                          monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("DOCKER_HOST", f"unix://{pytester.path}/no-such.sock")  # the declaration is read first
    pytester.path.joinpath("byoc-spec.json").write_text(
        '{"TrainingSpecification": {"TrainingImage": "i", "SupportedTrainingInstanceTypes": [],'
        ' "TrainingChannels": [{"Name": "train", "SupportedContentTypes": [], "SupportedInputModes": ["Disk"]}]}}')
    result = pytester.runpytest_subprocess("--image", "algo:latest")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    assert result.stderr.str().startswith("ERROR: byoc-conformance: the declaration ")
    assert ("byoc-spec.json does not match declaration.schema.json at $.TrainingSpecification.TrainingChannels[0]"
            ".SupportedInputModes[0]: 'Disk' is not one of ['Pipe', 'File', 'FastFile']") in result.stderr.str()
    assert "Traceback" not in result.stderr.str() + result.stdout.str()
    missing = pytester.runpytest_subprocess("--image", "algo:latest", "--byoc-spec", "nowhere.json")
    missing.stderr.fnmatch_lines(["ERROR: byoc-conformance: cannot read the declaration nowhere.json: *"])


def test_spreading_the_checks_over_xdist_workers_is_one_clear_error(pytester: pytest.Pytester):
    # pytest-xdist's option, as xdist declares it (the plugin itself is not a dependency)
    pytester.makeconftest("def pytest_addoption(parser):\n"
                          "    parser.getgroup('xdist')._addoption('-n', '--numprocesses', dest='numprocesses')\n")
    result = pytester.runpytest_subprocess("--image", "algo:latest", "-n", "2")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["ERROR: byoc-conformance: the checks share containers in one process and cannot "
                                 "be spread over pytest-xdist workers; run without -n/--dist, and use --byoc-jobs N "
                                 "for N container runs at once"])
    assert "Traceback" not in result.stderr.str() + result.stdout.str()


def test_an_interrupt_on_a_frame_without_a_line_number_is_rendered_without_it():
    # A signal landing in a frozen module's frame (Python 3.11) gives a traceback entry whose line number is None,
    # which pytest's rendering of the interrupt cannot subtract from: the plugin leaves such entries out.
    class NoLine:
        @property
        def lineno(self) -> int:
            return None - 1  # what pytest's TracebackEntry.lineno does with tb_lineno None

    try:
        raise KeyboardInterrupt
    except KeyboardInterrupt:
        excinfo = pytest.ExceptionInfo.from_current()
    real = list(excinfo.traceback)
    excinfo.traceback = type(excinfo.traceback)([*real, NoLine()])
    plugin.pytest_keyboard_interrupt(excinfo)
    assert list(excinfo.traceback) == real and len(real) >= 1
    assert "KeyboardInterrupt" in str(excinfo.getrepr(funcargs=True))


@pytest.mark.parametrize("options, message", [
    (["--byoc-waive=TRAIN-17"], "--byoc-waive TRAIN-17: give ID[[]:check[]][[]@YYYY-MM-DD[]]=REASON*"),
    (["--byoc-waive=TRAIN-17@soon=x"], "--byoc-waive TRAIN-17@soon=x: until 'soon' is not a date (YYYY-MM-DD)"),
    (["--byoc-gate=new-failures"], "--byoc-gate new-failures needs --byoc-baseline, an earlier report.json"),
    (["--byoc-baseline=nothing.json"], "--byoc-baseline nothing.json: cannot read it: No such file or directory"),
    (["--byoc-s3=s3://bucket/data"], "--byoc-s3 s3://bucket/data: give s3://bucket/prefix=PATH*"),
])
def test_a_bad_gate_or_s3_option_is_one_line_before_any_engine(pytester: pytest.Pytester,
                                                                monkeypatch: pytest.MonkeyPatch, options, message):
    monkeypatch.setenv("DOCKER_HOST", f"unix://{pytester.path}/no-such.sock")  # the options are read first
    result = pytester.runpytest_subprocess("--image", "algo:latest", *options)
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines([f"ERROR: byoc-conformance: {message}"])
    assert "Traceback" not in result.stderr.str() + result.stdout.str()
