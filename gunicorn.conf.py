"""gunicorn settings (gunicorn reads ./gunicorn.conf.py; `make run` and the README pass it with -c)."""
import os
import shutil
import tempfile

from oxnack_admin.web.http_connection import remember_gunicorn_request

# /metrics sums every worker's figures from files here (prometheus_client's multiprocess mode);
# set before any worker imports the client. An operator may name their own directory.
os.environ.setdefault("PROMETHEUS_MULTIPROC_DIR", os.path.join(tempfile.gettempdir(), f"oxnack-metrics-{os.getpid()}"))
from prometheus_client import multiprocess


def on_starting(server):
    # Figures of an earlier run (its dead workers' files) would be counted again: start clean.
    folder = os.environ["PROMETHEUS_MULTIPROC_DIR"]
    shutil.rmtree(folder, ignore_errors=True)
    os.makedirs(folder, exist_ok=True)


def child_exit(server, worker):
    multiprocess.mark_process_dead(worker.pid)  # its live gauges go; its counters stay in the sums


def pre_request(worker, req):
    # gunicorn ignores a Connection header set by the app: the app marks this request to close instead.
    remember_gunicorn_request(req)
