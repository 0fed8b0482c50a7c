"""The checks, one module per contract area; importing this package registers them all."""

from . import batch, declaration, hosting, image, metrics, multi_model, script, training  # noqa: F401
