"""An iris-style scikit-learn script for SageMaker script mode (after AWS's iris example).

Training (`python train.py --max_depth 5 ...`, run by the framework's `train`): a random forest on
label-first CSV (label 0, 1 or 2 in column 0, features after it) from the `training` channel, scored on
the optional `validation` channel; the model goes to SM_MODEL_DIR/model.joblib.
Serving: model_fn loads it; the framework's defaults parse CSV/JSON, predict and encode the answer.
"""
import argparse
import csv
import math
import os
import sys

import joblib
import numpy as np
from sklearn.ensemble import RandomForestClassifier

CLASSES = 3


def integer(name, value, low, high):
    try:
        number = float(value)
    except ValueError:
        raise ValueError(f"{name} must be an integer between {low} and {high}, got {value!r}") from None
    if not number.is_integer() or not low <= number <= high:
        raise ValueError(f"{name} must be an integer between {low} and {high}, got {value!r}")
    return int(number)


def categorical(name, value, allowed):
    if value not in allowed:
        raise ValueError(f"{name} must be one of {', '.join(allowed)}, got {value!r}")
    return value


def read_channel(name, directory):
    """Label-first numeric CSV from every file of the channel: (features, labels)."""
    if not directory or not os.path.isdir(directory):
        raise ValueError(f"the {name} channel is missing (no directory {directory})")
    rows, width = [], None
    # File mode mirrors the channel's S3 key tree: objects under a prefix are in subdirectories.
    paths = sorted(os.path.join(folder, file) for folder, _, files in os.walk(directory) for file in files)
    for path in paths:
        file = os.path.relpath(path, directory)
        if os.path.basename(file).startswith(".") or not os.path.isfile(path):
            continue
        with open(path, newline="") as f:
            for number, row in enumerate(csv.reader(f), 1):
                if not row or not any(field.strip() for field in row):
                    continue
                where = f"{name} channel, {file} line {number}"
                try:
                    values = [float(field) for field in row]
                except ValueError:
                    bad = next(field for field in row if not _is_number(field))
                    raise ValueError(f"{where}: {bad!r} is not a number") from None
                if not all(math.isfinite(v) for v in values):
                    raise ValueError(f"{where}: not a finite number")
                width = width or len(values)
                if len(values) != width or width < 2:
                    raise ValueError(f"{where}: {len(values)} fields, expected {width} (label then features)")
                label = values[0]
                if not label.is_integer() or not 0 <= label < CLASSES:
                    raise ValueError(f"{where}: label {row[0]!r} is not a class 0-{CLASSES - 1}")
                rows.append(values)
    if not rows:
        raise ValueError(f"the {name} channel ({directory}) has no data rows")
    data = np.array(rows)
    return data[:, 1:], data[:, 0].astype(int)


def _is_number(field):
    try:
        float(field)
        return True
    except ValueError:
        return False


def main():
    parser = argparse.ArgumentParser()
    # Hyperparameters arrive as `--name value`; they are validated here, naming the one at fault.
    parser.add_argument("--max_depth", default="5")
    parser.add_argument("--n_estimators", default="10")
    parser.add_argument("--criterion", default="gini")
    parser.add_argument("--model-dir", default=os.environ.get("SM_MODEL_DIR", "/opt/ml/model"))
    parser.add_argument("--train", default=os.environ.get("SM_CHANNEL_TRAINING"))
    parser.add_argument("--validation", default=os.environ.get("SM_CHANNEL_VALIDATION"))
    # Unknown arguments (sagemaker_* entries, _tuning_objective_metric, ...) are ignored.
    args, unknown = parser.parse_known_args()
    if unknown:
        print(f"ignoring unknown arguments: {' '.join(unknown)}")

    max_depth = integer("max_depth", args.max_depth, 1, 20)
    n_estimators = integer("n_estimators", args.n_estimators, 1, 100)
    criterion = categorical("criterion", args.criterion, ("gini", "entropy"))

    x, y = read_channel("training", args.train)
    model = build_model(max_depth, n_estimators, criterion)
    model.fit(x, y)
    print(f"train_accuracy={model.score(x, y):.4f};")
    if args.validation:
        vx, vy = read_channel("validation", args.validation)
        if vx.shape[1] != x.shape[1]:
            raise ValueError(f"validation channel: {vx.shape[1]} features, training has {x.shape[1]}")
        print(f"validation_accuracy={model.score(vx, vy):.4f};")
    save(model, args.model_dir)


def build_model(max_depth, n_estimators, criterion):
    # A fixed random_state: the same data and hyperparameters give the same model, byte for byte.
    return RandomForestClassifier(max_depth=max_depth, n_estimators=n_estimators, criterion=criterion,
                                  random_state=0, n_jobs=1)


def save(model, model_dir):
    joblib.dump(model, os.path.join(model_dir, "model.joblib"))
    print(f"model saved to {model_dir}/model.joblib")


def model_fn(model_dir):
    """Serving: load the model that training saved."""
    return joblib.load(os.path.join(model_dir, "model.joblib"))


if __name__ == "__main__":
    main()
