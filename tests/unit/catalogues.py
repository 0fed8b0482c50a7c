"""The shipped catalogue, edited for one test and loaded from a directory of its own."""

import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from byoc_conformance import specs


@contextmanager
def edited_catalogue(tmp_path, monkeypatch, edit: Callable[[dict], None]) -> Iterator[None]:
    """specs/requirements.json with `edit` applied to each entry, in effect inside the block."""
    document = json.loads((specs.specs_dir() / "requirements.json").read_text())
    for entry in document["requirements"]:
        edit(entry)
    (tmp_path / "requirements.json").write_text(json.dumps(document))
    (tmp_path / "requirements.schema.json").write_text((specs.specs_dir() / "requirements.schema.json").read_text())
    monkeypatch.setattr(specs, "specs_dir", lambda: tmp_path)
    specs.load.cache_clear()
    try:
        yield
    finally:
        specs.load.cache_clear()
