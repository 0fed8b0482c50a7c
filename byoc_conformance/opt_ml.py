"""Synthetic /opt/ml/input trees, written the way SageMaker writes them for a training job (TRAIN-03..10)."""

from __future__ import annotations

import json
import random
from dataclasses import dataclass, field

from . import specs

CURRENT_HOST = "algo-1"
TRAINING_CHANNEL = "training"
FEATURES = 4  # columns after the label in the generated training data, and in /invocations payloads


@dataclass(frozen=True)
class TrainingInput:
    """What goes under /opt/ml/input: config files and, per channel, the files in its directory."""

    channels: dict[str, dict[str, bytes]]
    hyperparameters: dict[str, str] = field(default_factory=dict)
    content_types: dict[str, str] = field(default_factory=dict)

    def config_files(self) -> dict[str, dict]:
        inputdataconfig = {
            channel: {
                **({"ContentType": self.content_types[channel]} if channel in self.content_types else {}),
                "TrainingInputMode": "File",
                "S3DistributionType": "FullyReplicated",
                "RecordWrapperType": "None",
            }
            for channel in self.channels
        }
        resourceconfig = {
            "current_host": CURRENT_HOST,
            "hosts": [CURRENT_HOST],
            "network_interface_name": "eth0",
            "current_group_name": "homogeneousCluster",
            "current_instance_type": "local",
            "instance_groups": [
                {"instance_group_name": "homogeneousCluster", "instance_type": "local", "hosts": [CURRENT_HOST]}
            ],
        }
        return {
            "hyperparameters.json": self.hyperparameters,
            "inputdataconfig.json": inputdataconfig,
            "resourceconfig.json": resourceconfig,
        }

    def files(self) -> dict[str, bytes]:
        """Relative to /opt/ml/input. Every config file is checked against its schema in specs/ first."""
        files = {}
        for name, document in self.config_files().items():
            specs.validate(document, name.replace(".json", ".schema.json"), f"the harness's {name}")
            files[f"config/{name}"] = json.dumps(document, indent=2).encode()
        for channel, channel_files in self.channels.items():
            files.update({f"data/{channel}/{path}": content for path, content in channel_files.items()})
        return files

    def directories(self) -> tuple[str, ...]:
        # Channel directories exist even when empty, as in File mode.
        return ("config", "data", *(f"data/{channel}" for channel in self.channels))


def training_csv(rows: int = 120, features: int = FEATURES, seed: int = 0) -> bytes:
    """Label-first numeric CSV without a header, the layout of SageMaker's built-in CSV algorithms."""
    rng = random.Random(seed)
    weights = [rng.uniform(-2, 2) for _ in range(features)]
    lines = []
    for _ in range(rows):
        x = [rng.uniform(-10, 10) for _ in range(features)]
        label = sum(w * v for w, v in zip(weights, x)) + rng.gauss(0, 0.1)
        lines.append(",".join(f"{v:.6g}" for v in [label, *x]))
    return ("\n".join(lines) + "\n").encode()


def good_input() -> TrainingInput:
    return TrainingInput(
        channels={TRAINING_CHANNEL: {"train.csv": training_csv()}},
        content_types={TRAINING_CHANNEL: "text/csv"},
    )


def empty_channel_input() -> TrainingInput:
    return TrainingInput(channels={TRAINING_CHANNEL: {}}, content_types={TRAINING_CHANNEL: "text/csv"})


def corrupt_csv_input() -> TrainingInput:
    # Valid rows, then a non-numeric field and a row with a column missing, then valid rows again.
    good = training_csv(rows=20).decode().splitlines()
    corrupt = good[:10] + ["0.5,1.25,abc,2.0,3.5", "1.0,2.0,3.0"] + good[10:]
    return TrainingInput(
        channels={TRAINING_CHANNEL: {"train.csv": ("\n".join(corrupt) + "\n").encode()}},
        content_types={TRAINING_CHANNEL: "text/csv"},
    )
