"""The package's shape, read from its source: layers that import only downward, no import circle, checks that only
judge and runs that only report (README, "Project layout")."""

from __future__ import annotations

import ast
import importlib
import textwrap
from pathlib import Path

import pytest

from byoc_conformance.plan import PLANNED

PACKAGE = Path(__file__).resolve().parents[2] / "byoc_conformance"

# Lowest first. A module imports modules of its own layer or a lower one, and the leaves, which any layer may import
# and which import only the core and each other.
LAYERS = {
    "core": {"engine", "plan", "progress", "specs", "exchange", "reaper", "catalogue", "waiting"},
    "inputs": {"declaration", "payloads", "hyperparameters", "opt_ml", "script", "model", "metrics", "options",
               "recordio", "s3", "profile", "waivers"},
    "runs": {"training", "jobs", "hosting", "serving", "probing", "batch", "pipeline", "multi_model", "serverless",
             "streaming", "asynchronous", "pipe", "validation"},
    "checks": {"registry", "checks"},  # and every checks.* module
    "session": {"harness", "suite"},
    "plugin": {"plugin"},
}
LEAVES = {"verdicts", "outcome", "report", "writers", ""}  # "": the package itself (its __version__)
RANK = {name: rank for rank, layer in enumerate(LAYERS.values()) for name in layer}
# The check modules every area's checks may share: the check registry and the rule for claimed servers.
SHARED_CHECKS = {"registry", "checks", "checks.claims"}

# What a check module never does: start a container or send a request. It reads runs and judges their records.
ACTING_MODULES = {"requests", "docker", "hypothesis", "socket", "subprocess", "threading", "time", "concurrent",
                  "urllib3", "http"}
ACTING_CALLS = {"send", "send_together", "ping", "exchange", "fresh", "start_fresh", "connection_times",
                "listening_sockets", "shipped_files", "transform", "run_container", "containers", "exited", "pid1"}
# What a check module may call of a runs module besides its planned runs (plan.PLANNED): functions of a record or a
# constant that run nothing (test_the_readings_checks_may_call_run_nothing holds them to it).
READINGS = {("batch", "assemble"), ("pipeline", "binds_to_port"), ("pipeline", "port_of"), ("pipeline", "passed_on"),
            ("multi_model", "leak"), ("multi_model", "succeeded"), ("multi_model", "parsed"), ("multi_model", "shown")}
VERDICTS = {"Failed", "Inconclusive", "NotApplicable"}


def _expect_none(name: str, problems: set[str]) -> None:
    assert problems == set(), name


def _modules() -> dict[str, ast.Module]:
    found = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = path.relative_to(PACKAGE).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        found[name] = ast.parse(path.read_text(), str(path))
    return found


MODULES = _modules()


def _imports(name: str, tree: ast.Module) -> set[str]:
    """The package's modules `name` imports, TYPE_CHECKING imports included (a circle in types is one too)."""
    package = name.split(".") if name == "checks" else name.split(".")[:-1]
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.level:
            base = package[:len(package) - (node.level - 1)] if node.level > 1 else package
            target = ".".join([*base, *([node.module] if node.module else [])])
            if node.module is None:  # from . import a, b
                found |= {f"{target}.{alias.name}".lstrip(".") for alias in node.names}
            else:
                found.add(target)
        elif isinstance(node, ast.ImportFrom) and (node.module or "").startswith("byoc_conformance"):
            found.add(node.module.removeprefix("byoc_conformance").lstrip("."))  # type: ignore[union-attr]
    return {module for module in found if module in MODULES}


IMPORTS = {name: _imports(name, tree) for name, tree in MODULES.items()}


def _layer(name: str) -> str | None:
    top = name.split(".")[0]
    return "leaf" if top in LEAVES else next((layer for layer, names in LAYERS.items() if top in names), None)


def _rank(name: str) -> int:
    return RANK[name.split(".")[0]]


def test_every_module_has_a_layer():
    assert [name for name in MODULES if _layer(name) is None] == []


@pytest.mark.parametrize("name", sorted(MODULES))
def test_a_module_imports_only_its_layer_or_lower_ones_and_the_leaves(name):
    if _layer(name) == "leaf":
        allowed = {other for other in IMPORTS[name] if _layer(other) in ("leaf", "core")}
    else:
        allowed = {other for other in IMPORTS[name] if _layer(other) == "leaf" or _rank(other) <= _rank(name)}
    assert IMPORTS[name] - allowed == set(), f"{name} imports upward"


def test_the_import_graph_has_no_circle():
    state: dict[str, str] = {}
    circles = []

    def visit(name: str, path: list[str]) -> None:
        state[name] = "open"
        for other in sorted(IMPORTS[name]):
            if state.get(other) == "open":
                circles.append(" -> ".join([*path[path.index(other):], other]))
            elif other not in state:
                visit(other, [*path, other])
        state[name] = "done"

    for name in sorted(MODULES):
        if name not in state:
            visit(name, [name])
    assert circles == []


@pytest.mark.parametrize("name", sorted(name for name in MODULES if name.startswith("checks.")))
def test_an_area_s_checks_import_no_other_area_s_checks(name):
    others = {other for other in IMPORTS[name] if _layer(other) == "checks"} - SHARED_CHECKS - {name}
    _expect_none(name, others)


@pytest.mark.parametrize("name", sorted(name for name in MODULES if name.startswith("checks")))
def test_a_check_module_starts_no_container_and_sends_no_request(name):
    tree = MODULES[name]
    imported = {alias.name.split(".")[0] for node in ast.walk(tree) if isinstance(node, ast.Import)
                for alias in node.names}
    imported |= {node.module.split(".")[0] for node in ast.walk(tree)
                 if isinstance(node, ast.ImportFrom) and not node.level and node.module}
    problems = {f"imports {module}" for module in imported & ACTING_MODULES}
    names = {node.id for node in ast.walk(tree) if isinstance(node, ast.Name)}
    names |= {alias.asname or alias.name for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)
              for alias in node.names}
    problems |= {"defines a run (planned_for)"} & {f"defines a run ({n})" for n in names}  # runs live in runs modules
    calls = {(node.func.attr if isinstance(node.func, ast.Attribute) else getattr(node.func, "id", ""))
             for node in ast.walk(tree) if isinstance(node, ast.Call)}
    problems |= {f"calls {call}()" for call in calls & ACTING_CALLS}
    if name != "checks":  # the package registers every area's checks by importing them
        problems |= {f"imports {other}" for other in IMPORTS[name] if _layer(other) == "checks"} - \
            {f"imports {other}" for other in SHARED_CHECKS | {name}}
    _expect_none(name, problems)


@pytest.mark.parametrize("name", sorted(name for name in MODULES if _layer(name) in ("core", "inputs", "runs")))
def test_runs_and_what_they_stand_on_raise_no_verdict(name):
    raised = {node.exc.func.id for node in ast.walk(MODULES[name]) if isinstance(node, ast.Raise)
              and isinstance(node.exc, ast.Call) and isinstance(node.exc.func, ast.Name)}
    imported = {alias.name for node in ast.walk(MODULES[name]) if isinstance(node, ast.ImportFrom)
                for alias in node.names}
    assert (raised | imported) & VERDICTS == set()


def _runs_names(name: str, tree: ast.Module) -> tuple[dict[str, tuple[str, str]], dict[str, str]]:
    """What `name` imports from runs modules: the functions and classes by local name, (module, name) each, and the
    runs modules themselves by local name."""
    package = name.split(".") if name == "checks" else name.split(".")[:-1]
    imported, modules = {}, {}
    for node in ast.walk(tree):
        if not (isinstance(node, ast.ImportFrom) and node.level):
            continue
        base = package[:len(package) - (node.level - 1)] if node.level > 1 else package
        target = ".".join([*base, *([node.module] if node.module else [])]).lstrip(".")
        for alias in node.names:
            local = alias.asname or alias.name
            if node.module is None and _layer(f"{target}.{alias.name}".lstrip(".")) == "runs":
                modules[local] = f"{target}.{alias.name}".lstrip(".")
            elif node.module is not None and _layer(target) == "runs":
                imported[local] = (target, alias.name)
    return imported, modules


def _unplanned_calls(name: str, tree: ast.Module) -> set[str]:
    """The calls `name` makes to functions (or classes) of runs modules that are neither planned runs nor READINGS:
    a check reaches a container only through the plan, whose runs return records."""
    imported, modules = _runs_names(name, tree)
    called = set()
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        if isinstance(node.func, ast.Name) and node.func.id in imported:
            called.add(imported[node.func.id])
        elif isinstance(node.func, ast.Attribute) and isinstance(node.func.value, ast.Name) and \
                node.func.value.id in modules:
            called.add((modules[node.func.value.id], node.func.attr))
    return {f"calls {module}.{function}, which is not a planned run" for module, function in called - READINGS
            if not getattr(getattr(importlib.import_module(f"byoc_conformance.{module}"), function), PLANNED, False)}


@pytest.mark.parametrize("name", sorted(name for name in MODULES if name.startswith("checks")))
def test_a_check_module_calls_of_the_runs_modules_only_their_planned_runs(name):
    _expect_none(name, _unplanned_calls(name, MODULES[name]))


def test_a_check_that_sends_a_request_itself_is_caught():
    module = ast.parse(textwrap.dedent("""
        from .. import serving
        from ..hosting import invocation
        from ..serving import answer, one_ping

        def judged(ctx):
            one_ping(ctx.hosting)
            serving.repeated_pings(ctx.hosting)
            serving.sized_answer(ctx.hosting, None, 1, "x")
            return answer(ctx.hosting, invocation(b"", "x"))
    """))
    assert _unplanned_calls("checks.made_up", module) == {
        "calls serving.answer, which is not a planned run", "calls serving.sized_answer, which is not a planned run",
        "calls hosting.invocation, which is not a planned run"}


def test_the_readings_checks_may_call_run_nothing():
    for module, function in sorted(READINGS):
        found = next(node for node in ast.walk(MODULES[module]) if isinstance(node, ast.FunctionDef)
                     and node.name == function)
        calls = {node.func.attr if isinstance(node.func, ast.Attribute) else getattr(node.func, "id", "")
                 for node in ast.walk(found) if isinstance(node, ast.Call)}
        assert calls <= {"get", "endswith", "join", "len", "decode", "strip", "loads"}, (module, function, calls)
