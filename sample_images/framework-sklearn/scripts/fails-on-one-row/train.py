"""BROKEN SAMPLE (SERVE-07, BATCH-05): its predict_fn fails (HTTP 500) on a request of a single row, as code that
assumes a batch does; single-record batch transform sends one row per request, so it fails there too.

Training and model_fn are the iris script's, which travels beside it: --byoc-dependencies scripts/iris (the SDK's
`dependencies` argument) puts it at iris/ in the source archive."""
from iris import train as iris
from iris.train import model_fn  # noqa: F401  (serving)


def predict_fn(input_data, model):
    if input_data.shape[0] == 1:  # BROKEN
        raise RuntimeError("expected a batch of rows")
    return model.predict(input_data)


if __name__ == "__main__":
    iris.main()
