"""The checks, one module per contract area; importing this package registers them all."""

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
)
