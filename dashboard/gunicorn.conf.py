"""gunicorn settings for `make serve-prod`; each can be overridden from the environment.

Workers are threaded (gthread) processes. preload_app stays False: a worker must import the app
after it is forked, never inherit the master's objects (a DuckDB connection inherited through a
fork silently loses writes). No worker ever opens the database for
writing except through the writer lock (pipelines/store/writer.py), so any number of them can boot.
"""

import os

bind = os.environ.get("MVH_BIND", "127.0.0.1:8050")
workers = int(os.environ.get("MVH_WORKERS", "3"))
threads = int(os.environ.get("MVH_THREADS", "4"))
worker_class = "gthread"
preload_app = False
timeout = 300  # an upload waits for the writer behind others before a deadline
graceful_timeout = 60
accesslog = "-"
errorlog = "-"
# Behind a reverse proxy on the same machine, trust its X-Forwarded-* headers (see MVH_PROXIES).
forwarded_allow_ips = os.environ.get("MVH_FORWARDED_ALLOW_IPS", "127.0.0.1")
