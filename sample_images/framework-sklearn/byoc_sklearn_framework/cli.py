"""`serve` (console script). Kept apart from serving.py, which loads the model when imported."""
import os
import sys

THREADS = 4


def workers():
    value = os.environ.get("SAGEMAKER_MODEL_SERVER_WORKERS")
    try:
        return max(1, int(value)) if value else max(1, os.cpu_count() or 1)
    except ValueError:
        return max(1, os.cpu_count() or 1)


def serve():
    """Exec gunicorn, so that it is PID 1 and SIGTERM reaches its arbiter: a graceful stop that waits at
    most --graceful-timeout seconds for requests in flight, well within SageMaker's 30 s."""
    port = os.environ.get("SAGEMAKER_BIND_TO_PORT", "8080")
    timeout = os.environ.get("SAGEMAKER_MODEL_SERVER_TIMEOUT", "60")
    argv = [
        "gunicorn", "--bind", "0.0.0.0:%s" % port,
        "--worker-class", "gthread", "--workers", str(workers()), "--threads", str(THREADS),
        "--timeout", timeout, "--graceful-timeout", "5", "--keep-alive", "5",
        "--access-logfile", "-", "--error-logfile", "-", "--log-level", "info",
        "--chdir", "/", "byoc_sklearn_framework.serving:app",
    ]
    print("serve: " + " ".join(argv), flush=True)
    os.execvp(argv[0], argv)
