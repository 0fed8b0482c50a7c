"""The checks, one module per contract area; importing this package registers them all."""

from ..registry import CHECKS, Check
from . import (  # noqa: F401
    asynchronous,
    batch,
    declaration,
    hosting,
    image,
    metrics,
    multi_model,
    pipeline,
    script,
    serverless,
    streaming,
    training,
    validation,
)


def all_checks() -> list[Check]:
    """Every registered check, in the order of registration."""
    return list(CHECKS.values())
