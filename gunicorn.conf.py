"""gunicorn settings, read by any `gunicorn wsgi:app` started here and by `make run`."""

from apg.logs import ACCESS_LOG_FORMAT

# The app's log format (apg/logs.py), callback tokens masked, credentials never logged.
logger_class = "apg.logs.MaskingGunicornLogger"
accesslog = "-"  # stdout; the error log and the app's records go to stderr
access_log_format = ACCESS_LOG_FORMAT
# One control socket path per user: each new gunicorn (make run, tests) would take the last's.
control_socket_disable = True
