"""Images built to misbehave, each run on the checks it attacks: the verdict it must get, at its deadline,
with the harness's memory measured (tests/integration/test_hostile.py asserts, tests/benchmarks/hostile.py
prints the table)."""

from __future__ import annotations

from dataclasses import dataclass

WINDOW = "--byoc-startup-timeout=10"


@dataclass(frozen=True)
class Case:
    name: str
    sample: str  # byoc-samples/<sample>
    options: tuple[str, ...]
    failed: frozenset[str]  # exactly these requirement IDs fail; nothing is a harness error
    evidence: str  # what the output must say
    passed: frozenset[str] = frozenset()


def case(name: str, sample: str, options: str, failed: str, evidence: str, passed: str = "") -> Case:
    """`options` as words; in a -k expression `+` stands for a space."""
    return Case(name, sample, tuple(word.replace("+", " ") for word in options.split()), frozenset(failed.split()),
                evidence, frozenset(passed.split()))


CASES = [
    case("/ping sends one byte a second", "hostile-trickling-ping", f"{WINDOW} -k SERVE-04+or+SERVE-05",
         "SERVE-04 SERVE-05", "no answer within 2 s"),
    case("/invocations body one byte a second", "hostile-trickling-invocations",
         f"{WINDOW} --byoc-invocation-timeout=5 --byoc-examples=5 -k valid-csv-answered",
         "SERVE-07", "no complete answer within 5 s"),
    case("endless chunked /ping body", "hostile-endless-ping-body", f"{WINDOW} -k SERVE-04+or+SERVE-05",
         "SERVE-04 SERVE-05", "with a body over 65536 bytes (cut there)"),
    case("endless chunked /invocations body", "hostile-endless-invocations-body",
         f"{WINDOW} --byoc-examples=5 -k valid-csv-answered", "SERVE-07",
         "InvokeEndpoint's response limit"),
    case("chunked /invocations stream that never ends", "hostile-endless-stream",
         f"{WINDOW} --byoc-response-streaming --byoc-invocation-timeout=5 -k STREAM", "STREAM-02",
         "and no end of the stream"),
    case("serve exits at once (code 3)", "hostile-serve-exits-at-once", f"{WINDOW} -k SERVE",
         "SERVE-05", "cannot load the model: /opt/ml/model/weights.bin is missing"),
    case("model with hard link and symlinks", "hostile-model-links", f"{WINDOW} -k SERVE-05+or+SERVE-12",
         "", "", passed="SERVE-05 SERVE-12"),
    case("ENTRYPOINT that does not exist", "hostile-entrypoint-missing", f"{WINDOW} -k IMG-01",
         "IMG-01", "no-such-program"),
    case("/execution-parameters is a JSON string", "hostile-execution-parameters-string",
         f"{WINDOW} -k BATCH-03+or+BATCH-04", "BATCH-03", "not a JSON object"),
    case("/execution-parameters all zero", "hostile-execution-parameters-zero",
         f"{WINDOW} -k BATCH-03+or+BATCH-04+or+BATCH-05", "BATCH-04", "MaxConcurrentTransforms 0 is below 1",
         passed="BATCH-03 BATCH-05"),
    case("/execution-parameters never answers", "hostile-execution-parameters-hang",
         f"{WINDOW} -k BATCH-03+or+BATCH-05", "BATCH-03", "no complete answer within 10 s",
         passed="BATCH-05"),
    case("200 MB of training logs", "hostile-train-floods-logs", "-k TRAIN-13+or+TRAIN-01", "",
         "", passed="TRAIN-13"),
    case("512 MiB model", "hostile-huge-model", f"{WINDOW} -k TRAIN-13+or+SERVE-05+or+SERVE-12", "",
         "", passed="TRAIN-13 SERVE-05 SERVE-12"),
    case("100,000-file model", "hostile-many-files-model", f"{WINDOW} -k TRAIN-13+or+SERVE-05", "",
         "", passed="TRAIN-13 SERVE-05"),
]
