"""The checks, one module per contract area; importing this package registers them all."""

from . import batch, hosting, image, training  # noqa: F401
