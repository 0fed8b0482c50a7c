"""BROKEN SAMPLE (TRAIN-23): validates max_depth but never passes it to the estimator, so tuning it changes
nothing.

Everything else is the iris script, which travels beside it: --byoc-dependencies scripts/iris (the SDK's
`dependencies` argument) puts it at iris/ in the source archive."""
from sklearn.ensemble import RandomForestClassifier

from iris import train as iris
from iris.train import model_fn  # noqa: F401  (serving)


def build_model(max_depth, n_estimators, criterion):
    # BROKEN: max_depth is validated by the iris script but never reaches the estimator.
    return RandomForestClassifier(n_estimators=n_estimators, criterion=criterion, random_state=0, n_jobs=1)


iris.build_model = build_model

if __name__ == "__main__":
    iris.main()
