"""Conformance harness for Amazon SageMaker "bring your own container" images."""

__version__ = "0.1.0"
