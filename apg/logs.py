"""Mask tenants' callback tokens in log lines: werkzeug's request log and gunicorn's logs."""

from __future__ import annotations

import logging
import re
from typing import Any

from gunicorn.glogging import Logger as GunicornLogger

# Whatever sits in the token slot of /webhooks/daraja/<token>/<kind>: the token alone lets
# anyone post callbacks as Safaricom for that tenant, so access logs must not keep it.
_TOKEN_IN_PATH = re.compile(r"(/webhooks/daraja/)([^/?#\s\"]{4})[^/?#\s\"]+")


def mask_callback_tokens(text: str) -> str:
    """Return text with each callback token cut to its first 4 characters and "…"."""
    return _TOKEN_IN_PATH.sub("\\1\\2…", text)


class CallbackTokenFilter(logging.Filter):
    """Masks callback tokens in a record's message and string arguments; drops nothing."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg = _masked(record.msg)
        if isinstance(record.args, tuple):
            record.args = tuple(_masked(arg) for arg in record.args)
        return True


def install_token_filter(*loggers: logging.Logger) -> None:
    """Give each logger one CallbackTokenFilter (create_app may run many times per process)."""
    for logger in loggers:
        if not any(isinstance(f, CallbackTokenFilter) for f in logger.filters):
            logger.addFilter(CallbackTokenFilter())


class MaskingGunicornLogger(GunicornLogger):
    """gunicorn's logger, with callback tokens masked in access-log atoms and error lines.

    Enabled by gunicorn.conf.py: `logger_class = "apg.logs.MaskingGunicornLogger"`.
    """

    def setup(self, cfg: Any) -> None:
        super().setup(cfg)
        install_token_filter(self.error_log)  # e.g. "Error handling request <uri>"

    def atoms(self, resp: Any, req: Any, environ: Any, request_time: Any) -> dict[str, Any]:
        # r (request line), U (path), {raw_uri}e, {path_info}e, headers: every one may hold it.
        atoms = super().atoms(resp, req, environ, request_time)
        return {key: _masked(value) for key, value in atoms.items()}


def _masked(value: Any) -> Any:
    return mask_callback_tokens(value) if isinstance(value, str) else value
