"""gunicorn's settings for ValuePulse in production (README "Running in production").

    gunicorn config.wsgi:application          # reads this file from the working directory

Each value comes from the environment, with a default for a small server:
BIND (or PORT: 0.0.0.0:$PORT), WEB_CONCURRENCY (worker processes; 2 per CPU core + 1),
GUNICORN_THREADS, GUNICORN_TIMEOUT, GUNICORN_MAX_REQUESTS. Access log to stdout.
"""

import logging
import multiprocessing
import os
import shutil
import sys

bind = os.environ.get("BIND") or f"0.0.0.0:{os.environ.get('PORT', '8000')}"
workers = int(os.environ.get("WEB_CONCURRENCY") or 2 * multiprocessing.cpu_count() + 1)
threads = int(os.environ.get("GUNICORN_THREADS", "1"))
# A request still running after this many seconds has its worker killed and restarted;
# longer than any page or API call takes (the bulk API calls included).
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "30"))
graceful_timeout = 30
keepalive = 5
# A worker is replaced after this many requests (with jitter), so a slow leak never grows.
max_requests = int(os.environ.get("GUNICORN_MAX_REQUESTS", "1000"))
max_requests_jitter = max_requests // 10
accesslog = "-"
errorlog = "-"
loglevel = os.environ.get("LOG_LEVEL", "info").lower()
# X-Forwarded-For is read by Django (TRUSTED_PROXY_HOPS). gunicorn believes a client's
# X-Forwarded-Proto only from FORWARDED_ALLOW_IPS (its own variable; default 127.0.0.1).
# Load the app before forking: one import, shared memory, errors found at start-up.
preload_app = True
# No control socket (gunicornc): nothing uses it, and its default path is one per user,
# shared by every gunicorn of that user on the machine; stopping its thread took up to 2 s.
control_socket_disable = True


def on_starting(server):
    """Multiprocess metrics (PROMETHEUS_MULTIPROC_DIR): start from an empty directory."""
    directory = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if directory:
        shutil.rmtree(directory, ignore_errors=True)
        os.makedirs(directory, exist_ok=True)


def child_exit(server, worker):
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(worker.pid)


def worker_exit(server, worker):
    """A worker stopping cleanly (shutdown, restart, max_requests) ends here rather than
    through Python's teardown: unwinding the app preloaded in the master writes to every
    object it shares with it (reference counts), which took each worker seconds of CPU and
    kept a restart waiting 5–18 s. What the teardown would still do that matters is done
    first: the database told, Sentry's queue and the logs flushed. A worker failing (a boot
    error, whose status tells the master to halt) exits the usual way."""
    stopping = sys.exc_info()[1]
    if not isinstance(stopping, SystemExit) or stopping.code not in (0, None):
        return
    from django.db import connections

    connections.close_all()
    sentry = sys.modules.get("sentry_sdk")  # imported only where it was configured
    if sentry is not None:
        sentry.flush(timeout=2)
    logging.shutdown()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)
