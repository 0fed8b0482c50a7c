"""The JSON documents in specs/ (requirement catalogue, input schemas) and validation against them."""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

import jsonschema


def specs_dir() -> Path:
    # An installed wheel carries specs/ inside the package; a source checkout keeps it beside the package.
    packaged = Path(__file__).parent / "specs"
    return packaged if packaged.is_dir() else Path(__file__).parent.parent / "specs"


class SpecError(ValueError):
    """A spec file is missing, is not JSON or does not match its schema; the message says where."""


@cache
def load(name: str) -> Any:
    path = specs_dir() / name
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except OSError as error:
        raise SpecError(f"cannot read {path}: {error.strerror}") from None
    except json.JSONDecodeError as error:
        raise SpecError(f"{path} is not valid JSON: {error}") from None


def validate(document: Any, schema_name: str, what: str) -> None:
    schema = load(schema_name)
    error = jsonschema.exceptions.best_match(
        jsonschema.Draft202012Validator(schema).iter_errors(document)
    )
    if error is not None:
        raise SpecError(f"{what} does not match {schema_name} at {error.json_path}: {error.message}")
