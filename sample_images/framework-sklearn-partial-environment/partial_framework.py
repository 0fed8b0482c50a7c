"""A training module that filters the toolkit's environment before the script sees it (the defect)."""
import signal

from byoc_sklearn_framework.training import _forward_sigterm
from sagemaker_training import entry_point, environment, runner

KEPT = ("SM_MODEL_DIR", "SM_OUTPUT_DATA_DIR")


def main():
    signal.signal(signal.SIGTERM, _forward_sigterm)
    env = environment.Environment()
    variables = {name: value for name, value in env.to_env_vars().items()
                 if name in KEPT or name.startswith("SM_CHANNEL_")}
    entry_point.run(uri=env.module_dir, user_entry_point=env.user_entry_point, args=env.to_cmd_args(),
                    env_vars=variables, runner_type=runner.ProcessRunnerType, capture_error=True)
