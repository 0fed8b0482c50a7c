"""How a check says a requirement was not met, or could not be judged, and how that reads to the user."""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass, field
from pathlib import Path
from typing import ClassVar, Protocol

from .report import Status


class Evidence(Protocol):
    """A container run a verdict was drawn from: its logs, and how to repeat it by hand."""

    label: str
    logs: str

    def reproduce(self, repro_dir: Path) -> str: ...


@dataclass(frozen=True)
class Request:
    """An HTTP request a verdict was drawn from; its body is saved for the curl command that repeats it."""

    name: str  # file name for the saved body
    method: str
    path: str
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)

    def summary(self) -> str:
        shown = self.body if len(self.body) <= 300 else self.body[:300] + b"..."
        kinds = ", ".join(f"{k}: {v}" for k, v in self.headers.items())
        return f"{self.method} {self.path} ({kinds}{', ' if kinds else ''}{len(self.body)} bytes): {shown!r}"

    def curl(self, repro_dir: Path | None, host: str = "127.0.0.1", port: int = 8080) -> str:
        """The curl command that sends this request; its body saved under `repro_dir`, or without one written
        out in the command (a short body: a step of a sequence)."""
        headers = "".join(f" -H {shlex.quote(f'{k}: {v}')}" for k, v in self.headers.items())
        data = ""
        if self.method == "POST" and repro_dir is None:
            data = f" --data-binary {shlex.quote(self.body.decode('utf-8', 'replace'))}"
        elif self.method == "POST":
            path = (repro_dir / self.name).resolve()
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(self.body)
            data = f" --data-binary @{shlex.quote(str(path))}"
        return f"curl -sS -i -X {self.method}{headers}{data} http://{host}:{port}{self.path}"


class Verdict(Exception):
    status: ClassVar[Status]  # what the check's result says: each kind of verdict has its own

    def __init__(
        self,
        observed: str,
        *,
        expected: str | None = None,
        run: Evidence | None = None,
        reproduce: str | None = None,
        request: Request | None = None,
    ) -> None:
        super().__init__(observed)
        self.observed = observed
        self.expected = expected
        self.run = run
        self.reproduce = reproduce
        self.request = request


class Failed(Verdict):
    status = Status.FAILED


class Inconclusive(Verdict):
    """The check ran but could not observe what it needed: never a pass."""

    status = Status.INCONCLUSIVE


class NotApplicable(Verdict):
    status = Status.NOT_APPLICABLE


LOG_TAIL_LINES = 20
ERROR_BLOCKS = 3  # the last tracebacks shown: a wrapper's traceback often follows the one with the cause
_ERROR_WORDS = re.compile(r"\b(error|exception|fatal|failed|failure|not found|no such file|denied)\b", re.IGNORECASE)


def error_lines(logs: str) -> list[str]:
    """The lines of a whole log that carry its errors: for each of the last tracebacks, its last frame and the
    exception; without a traceback, the last lines that name an error."""
    lines = logs.splitlines()
    blocks: list[list[str]] = []
    for start, line in enumerate(lines):
        if not line.lstrip().startswith("Traceback (most recent call last)"):
            continue
        end, last_frame = start + 1, None
        while end < len(lines) and (not lines[end].strip() or lines[end][0].isspace()):
            if lines[end].lstrip().startswith('File "'):
                last_frame = end
            end += 1
        frame = lines[last_frame:last_frame + 2] if last_frame is not None else []
        blocks.append([*frame, *lines[end:end + 1]])
    if blocks:
        return [line for block in blocks[-ERROR_BLOCKS:] for line in block]
    return [line for line in lines if _ERROR_WORDS.search(line)][-5:]


def reproduction(verdict: Verdict, repro_dir: Path, host: str = "127.0.0.1") -> str | None:
    """The commands that repeat what the verdict was drawn from (saving the inputs they need), or None; a server's
    port is reached at `host`, where the engine publishes it."""
    steps = [
        verdict.run.reproduce(repro_dir) if verdict.run else None,
        verdict.reproduce,
        # On the port the server it went to listens on (SAGEMAKER_BIND_TO_PORT's, say).
        verdict.request.curl(repro_dir, host, getattr(verdict.run, "port", 8080)) if verdict.request else None,
    ]
    return "\n".join(step for step in steps if step) or None


def describe(verdict: Verdict, heading: str, reproduce: str | None) -> str:
    lines = [heading]
    if verdict.expected:
        lines.append(f"  expected: {verdict.expected}")
    lines.append(f"  observed: {verdict.observed}")
    if verdict.request:
        lines.append(f"  request: {verdict.request.summary()}")
    if verdict.run is not None:
        tail = verdict.run.logs.rstrip("\n").splitlines()[-LOG_TAIL_LINES:]
        carrying = error_lines(verdict.run.logs)
        if carrying and not set(carrying) <= set(tail):
            lines.append(f"  lines of the {verdict.run.label}'s log that carry the error:")
            lines += [f"    | {line}" for line in carrying]
        if tail:
            lines.append(f"  last {len(tail)} log lines of the {verdict.run.label}:")
            lines += [f"    | {line}" for line in tail]
        else:
            lines.append(f"  the {verdict.run.label} printed nothing")
    if reproduce:
        lines.append("  reproduce:")
        lines += [f"    {line}" for line in reproduce.splitlines()]
    return "\n".join(lines)
