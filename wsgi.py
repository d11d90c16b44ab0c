"""WSGI entry point: `gunicorn wsgi:app`, `flask --app wsgi …`. A bad config exits with one line."""

import sys

from apg import create_app
from apg.config import ConfigError

try:
    app = create_app()
except ConfigError as exc:
    print(f"APG config error: {exc}", file=sys.stderr)
    sys.exit(2)
