"""Pearl as gunicorn serves it in production, plus one bare endpoint for the serving
benchmark: `/bench/bare` answers a fixed string through the same app, middleware and the
connection each request takes from the pool: the cost of serving anything at all
(bench_serve.py)."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from app import create_app  # noqa: E402

app = create_app()


@app.get("/bench/bare")
def bare():
    """A fixed string: what a request costs before Pearl does any work."""
    return "ok", 200, {"Content-Type": "text/plain"}
