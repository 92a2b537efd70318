"""Flask + Prometheus: the seed README's Flask example, runnable.

The WSGI metrics app is mounted at /metrics with werkzeug's DispatcherMiddleware; everything
else goes to the Flask app.

    gunicorn --chdir examples -b 127.0.0.1:8000 flask_app:app_dispatch
    uwsgi --http 127.0.0.1:8000 --wsgi-file examples/flask_app.py --callable app_dispatch
    python examples/flask_app.py --port 8000        # werkzeug's development server

Then visit http://localhost:8000/ (counted) and http://localhost:8000/metrics.
"""

from __future__ import annotations

import argparse

from flask import Flask
from werkzeug.middleware.dispatcher import DispatcherMiddleware

from prometheus_client import Counter, make_wsgi_app

HELLOS = Counter("flask_hello_requests", "Requests to the hello page")

# Create my app
app = Flask(__name__)


@app.route("/")
def hello() -> str:
    HELLOS.inc()
    return "Hello from Flask\n"


# Add prometheus wsgi middleware to route /metrics requests
app_dispatch = DispatcherMiddleware(app, {"/metrics": make_wsgi_app()})


if __name__ == "__main__":
    from werkzeug.serving import run_simple

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument("--host", default="127.0.0.1")
    args = parser.parse_args()
    run_simple(args.host, args.port, app_dispatch, threaded=True)
