"""Training: run the user's script (sagemaker_program) the way AWS's scikit-learn container does.

The toolkit's `train` console script imports this module (SAGEMAKER_TRAINING_MODULE=
byoc_sklearn_framework.training:main) and calls main(); everything else (hyperparameters as `--name value`
arguments, SM_* variables, sourcedir.tar.gz extraction into /opt/ml/code, requirements.txt, the failure
file) is sagemaker-training's.
"""
import logging
import os
import signal
import threading
import time

import psutil
from sagemaker_training import entry_point, environment, errors, runner

logger = logging.getLogger(__name__)


def _forward_sigterm(signum, frame):  # pylint: disable=unused-argument
    """Pass SageMaker's stop (SIGTERM) on to the user's script and whatever else `train` started.

    Why this exists: sagemaker-training installs no SIGTERM handler, and `train` runs as PID 1 of the
    container. The kernel drops a signal sent to PID 1 when that process has no handler for it (the
    default action does not apply to an init process), so StopTrainingJob's SIGTERM would be ignored: the
    script would run on until SageMaker's SIGKILL 120 s later, losing the chance to end cleanly. Here the
    signal goes to every descendant (the script, or pip while requirements.txt is installed); the script
    dies of it (or handles it), the toolkit sees a non-zero exit and writes /opt/ml/output/failure, and
    `train` exits non-zero promptly. The stop also holds for processes started after the signal: the
    toolkit may be between two of them (a short-lived helper has ended, the script is not started yet).
    """
    children = psutil.Process().children(recursive=True)
    logger.warning("SIGTERM received: stopping %d child process(es)", len(children))
    _signal_all(children, signalled=set())
    # Also when nothing has started yet: the exception below may land in toolkit code that swallows it, and
    # the script started after it must still be stopped.
    threading.Thread(target=_keep_stopping, args=({child.pid for child in children},), daemon=True).start()
    if not children:
        # Nothing started yet (or already finished): stop here; the toolkit reports a client error.
        raise errors.ClientError("Training stopped: SIGTERM received")


def _signal_all(processes, signalled):
    for process in processes:
        if process.pid in signalled:
            continue
        signalled.add(process.pid)
        try:
            process.send_signal(signal.SIGTERM)
        except psutil.NoSuchProcess:
            pass


def _keep_stopping(signalled, interval=0.1):
    """After a stop, SIGTERM every process `train` starts, until `train` exits (this thread is a daemon)."""
    while True:
        time.sleep(interval)
        _signal_all(psutil.Process().children(recursive=True), signalled)


def train(training_environment):
    logger.info("Invoking user training script.")
    entry_point.run(
        uri=training_environment.module_dir,
        user_entry_point=training_environment.user_entry_point,
        args=training_environment.to_cmd_args(),
        env_vars=training_environment.to_env_vars(),
        runner_type=runner.ProcessRunnerType,
        # Unlike AWS's container (which leaves the default, False): capture the script's stderr so the
        # toolkit puts the error (from the first line naming a Python exception on) into
        # /opt/ml/output/failure. With False, the failure file only ever says `ErrorMessage ""`.
        capture_error=True,
    )


def main():
    signal.signal(signal.SIGTERM, _forward_sigterm)
    train(environment.Environment())
