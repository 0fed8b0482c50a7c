"""BROKEN SAMPLE (TRAIN-13): saves the model in the working directory instead of SM_MODEL_DIR, so SageMaker
uploads nothing.

Everything else is the iris script, which travels beside it: --byoc-dependencies scripts/iris (the SDK's
`dependencies` argument) puts it at iris/ in the source archive."""
import os

import joblib

from iris import train as iris
from iris.train import model_fn  # noqa: F401  (serving)


def save(model, model_dir):
    joblib.dump(model, "model.joblib")  # BROKEN: not model_dir
    print(f"model saved to {os.getcwd()}/model.joblib")


iris.save = save

if __name__ == "__main__":
    iris.main()
