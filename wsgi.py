"""WSGI entry point: `gunicorn wsgi:app`, `flask --app wsgi …`; a bad config exits 2."""

from apg import create_app
from apg.config import exit_on_config_error

with exit_on_config_error():  # every problem on its own line, exit status 2, no traceback
    app = create_app()
