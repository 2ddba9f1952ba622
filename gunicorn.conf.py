"""gunicorn's settings for Pearl in production (`make serve`, or
`gunicorn -c gunicorn.conf.py` from the checkout). The environment overrides the defaults:

    PEARL_BIND=127.0.0.1:8000  where to listen (the reverse proxy forwards here)
    WEB_CONCURRENCY=2          worker processes (one or two per core)
    PEARL_THREADS=4            threads per worker

Threads: the gthread worker saved notes at twice the sync worker's rate on SQLite, with no
note lost or duplicated under 50 writers (a note save mostly waits on the disk). Workers share
nothing but the database: sessions are signed cookies, and rate limits live in Redis when
RATELIMIT_STORAGE_URI is set (in memory, each worker counts alone).
"""

import os

wsgi_app = "app:create_app()"
bind = os.environ.get("PEARL_BIND", "127.0.0.1:8000")
workers = int(os.environ.get("WEB_CONCURRENCY", "2"))
worker_class = "gthread"
threads = int(os.environ.get("PEARL_THREADS", "4"))
timeout = 60  # an import's write lock can hold a note save for seconds, never a minute
graceful_timeout = 30

accesslog = "-"
errorlog = "-"
# Sign-in tokens and feed keys travel in URLs: the logger hides them (access_log.py).
logger_class = "access_log.RedactingLogger"
access_log_format = '%(h)s %(t)s "%(r)s" %(s)s %(b)s %(M)sms "%(f)s" "%(a)s"'
