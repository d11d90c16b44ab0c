"""gunicorn settings, read by any `gunicorn wsgi:app` started here and by `make run`."""

# Callback tokens are credentials: mask them in the access and error logs.
logger_class = "apg.logs.MaskingGunicornLogger"
