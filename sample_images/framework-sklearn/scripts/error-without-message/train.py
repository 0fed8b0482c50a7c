"""BROKEN SAMPLE (TRAIN-16): on bad input (a corrupt CSV, an empty channel) it exits 1 without a word, so the
toolkit's failure file says only `ErrorMessage ""`.

Everything else is the iris script, which travels beside it: --byoc-dependencies scripts/iris (the SDK's
`dependencies` argument) puts it at iris/ in the source archive."""
import sys

from iris import train as iris
from iris.train import model_fn  # noqa: F401  (serving)

read_channel = iris.read_channel


def swallowed(name, directory):
    try:
        return read_channel(name, directory)
    except ValueError:
        sys.exit(1)  # BROKEN: the cause is swallowed


iris.read_channel = swallowed

if __name__ == "__main__":
    iris.main()
