"""scikit-learn defaults for sagemaker-inference's Transformer, after AWS's sagemaker_sklearn_container
handler_service.py: input via the toolkit's decoders (CSV, JSON), one row for 1-D input, model.predict,
output via the toolkit's encoders. Stricter than AWS's where a request is bad: an unparsable body, a
non-numeric or non-finite field, ragged rows or the wrong number of features is the client's error (400),
not a 500 (nor, as numpy's genfromtxt makes it, a NaN that the model happily predicts on).
"""
import csv
import io
import json
import math
import os

import joblib
import numpy as np
from six.moves import http_client
from sagemaker_inference import content_types, decoder, encoder, errors
from sagemaker_inference.default_inference_handler import DefaultInferenceHandler
from sagemaker_inference.transformer import Transformer

# What the defaults read and write (the toolkit also knows application/x-npy, but its decoder loads NPY with
# allow_pickle=True, so a request could run code: not offered here).
INPUT_TYPES = (content_types.CSV, content_types.JSON)
OUTPUT_TYPES = (content_types.CSV, content_types.JSON)
WILDCARDS = {"*/*": content_types.CSV, "text/*": content_types.CSV, "application/*": content_types.JSON}


def bad_request(message):
    return errors.GenericInferenceToolkitError(http_client.BAD_REQUEST, message)


def media_type(value):
    """`Text/CSV; charset=utf-8` -> `text/csv`."""
    return (value or "").split(";", 1)[0].strip().lower()


def accepted_types(accept):
    """The media types an Accept header asks for, best first (q-values honoured, parameters dropped)."""
    ranked = []
    for position, item in enumerate((accept or "").split(",")):
        kind, *params = [part.strip() for part in item.split(";")]
        if not kind:
            continue
        q = 1.0
        for param in params:
            name, _, value = param.partition("=")
            if name.strip().lower() == "q":
                try:
                    q = float(value)
                except ValueError:
                    q = 0.0
        if q > 0:
            ranked.append((-q, position, kind.lower()))
    return [kind for _, _, kind in sorted(ranked)]


def negotiate(accept, offered=OUTPUT_TYPES):
    """The first offered type the Accept header allows, or None."""
    for kind in accepted_types(accept):
        if kind in offered:
            return kind
        if kind in WILDCARDS and WILDCARDS[kind] in offered:
            return WILDCARDS[kind]
    return None


def _numbers(rows, where):
    matrix = []
    for number, row in enumerate(rows, 1):
        values = []
        for field in row:
            try:
                value = float(field)
            except (TypeError, ValueError):
                raise bad_request("%s %d: %r is not a number" % (where, number, field)) from None
            if not math.isfinite(value):
                raise bad_request("%s %d: %r is not a finite number" % (where, number, field))
            values.append(value)
        if not values:
            raise bad_request("%s %d is empty" % (where, number))
        if matrix and len(values) != len(matrix[0]):
            raise bad_request("%s %d has %d fields, the first has %d" % (where, number, len(values), len(matrix[0])))
        matrix.append(values)
    if not matrix:
        raise bad_request("the request has no rows")
    return np.array(matrix, dtype=np.float64)


def parse_csv(text):
    try:
        rows = [row for row in csv.reader(io.StringIO(text)) if row and any(f.strip() for f in row)]
    except csv.Error as e:  # a stray carriage return, say: the request's fault, not the server's
        raise bad_request("the body is not CSV: %s" % e) from None
    return _numbers(rows, "row")


def parse_json(text):
    try:
        data = json.loads(text)
    except ValueError as e:
        raise bad_request("the body is not JSON: %s" % e) from None
    if isinstance(data, dict):
        data = data.get("instances", data.get("features"))
    if not isinstance(data, list) or not data:
        raise bad_request('expected a list of rows, a list of numbers, or {"instances": [...]}')
    if not isinstance(data[0], list):
        data = [data]
    if not all(isinstance(row, list) for row in data):
        raise bad_request("every row must be a list of numbers")
    return _numbers(data, "instance")


def check_width(data, model):
    expected = getattr(model, "n_features_in_", None)
    if expected is not None and isinstance(data, np.ndarray) and data.ndim == 2 and data.shape[1] != expected:
        raise bad_request("each row must have %d features, got %d" % (expected, data.shape[1]))


class SKLearnInferenceHandler(DefaultInferenceHandler):
    """The defaults used where the user's module has no model_fn / input_fn / predict_fn / output_fn."""

    def default_model_fn(self, model_dir, context=None):
        # AWS's raises NotImplementedError; loading the usual file names is friendlier.
        for name in ("model.joblib", "model.pkl"):
            path = os.path.join(model_dir, name)
            if os.path.exists(path):
                return joblib.load(path)
        raise NotImplementedError("Provide a model_fn in your script (no model.joblib in %s)" % model_dir)

    def default_input_fn(self, input_data, content_type, context=None):
        if isinstance(input_data, (bytes, bytearray)):
            input_data = input_data.decode("utf-8")
        if content_type == content_types.CSV:
            array = parse_csv(input_data)
        elif content_type == content_types.JSON:
            array = parse_json(input_data)
        else:
            raise errors.UnsupportedFormatError(content_type)
        if array.ndim == 1:
            array = array.reshape(1, -1)
        return array

    def default_predict_fn(self, data, model, context=None):
        check_width(data, model)
        return model.predict(data)

    def default_output_fn(self, prediction, accept, context=None):
        kind = negotiate(accept)
        if kind is None:
            raise errors.UnsupportedFormatError(accept)
        return encoder.encode(prediction, kind), kind


class SKLearnTransformer(Transformer):
    """The toolkit's Transformer, with its UnsupportedFormatError answered as HTTP says.

    The toolkit turns every exception but its own BaseInferenceToolkitError into a 500, including its own
    UnsupportedFormatError (raised by its decoders and encoders, and by users' input_fn/output_fn that copy
    them): an unsupported Content-Type is then a server error. Here it is 415 from an input function and
    406 from an output function.
    """

    def _run_handler_function(self, func, *argv):
        if func is self._predict_fn and argv:
            # Rows of the wrong width are the client's error (400), also before a user's predict_fn.
            check_width(argv[0], argv[1] if len(argv) > 1 else None)
        try:
            return super()._run_handler_function(func, *argv)
        except errors.UnsupportedFormatError as e:
            if func is self._output_fn:
                raise errors.GenericInferenceToolkitError(http_client.NOT_ACCEPTABLE, str(e)) from e
            if func is self._input_fn:
                raise errors.GenericInferenceToolkitError(http_client.UNSUPPORTED_MEDIA_TYPE, str(e)) from e
            raise
