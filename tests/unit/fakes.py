"""Stand-ins for Hosting in unit tests: any attributes, and Hosting's payloads (generated CSV, or a sample)."""

from types import SimpleNamespace

from byoc_conformance.declaration import DEFAULT_CSV
from byoc_conformance.hosting import Probing
from byoc_conformance.payloads import Traffic


class FakeHosting(SimpleNamespace, Probing):
    def __init__(self, **attributes):
        super().__init__(**{"csv": DEFAULT_CSV, "traffic": Traffic(), **attributes})
