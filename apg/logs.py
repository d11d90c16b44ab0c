"""One log format for the app, werkzeug and gunicorn, with no credentials in any line."""

from __future__ import annotations

import logging
import re
from typing import Any

from gunicorn.glogging import Logger as GunicornLogger

# Every line: the app's records, gunicorn's error log and its access log (whose message is
# ACCESS_LOG_FORMAT). The pid tells gunicorn's workers apart.
LOG_FORMAT = "%(asctime)s [%(process)d] %(levelname)s %(name)s: %(message)s"

# gunicorn's access line: client, request line, status, bytes, seconds, user agent, and the
# X-Request-ID the app answered with (as in error bodies). No %(u)s: after `curl -u KEY:` the
# basic-auth user is an API key.
ACCESS_LOG_FORMAT = '%(h)s "%(r)s" %(s)s %(b)s %(L)ss "%(a)s" req=%({x-request-id}o)s'

# Whatever sits in the token slot of /webhooks/daraja/<token>/<kind>: the token alone lets
# anyone post callbacks as Safaricom for that tenant, so access logs must not keep it.
_TOKEN_IN_PATH = re.compile(r"(/webhooks/daraja/)([^/?#\s\"]{4})[^/?#\s\"]+")

# gunicorn atoms that hold credentials: u (the basic-auth user) and any header or environ
# variable named like {authorization}i, {http_authorization}e, {cookie}i.
_CREDENTIAL_ATOM = re.compile(r"u|\{.*(authorization|cookie).*\}[ioe]")


def configure_logging(level: str | int) -> None:
    """Send the app's records to stderr in LOG_FORMAT at `level`; mask werkzeug's request lines.

    Safe to call many times (create_app may run many times per process): like
    logging.basicConfig, it leaves a root logger that already has handlers as it is, so a host's
    own logging setup (pytest, a gunicorn logconfig) wins.
    """
    logging.basicConfig(level=level, format=LOG_FORMAT)
    # werkzeug's request lines (`flask run`, tests' live servers) carry the path, never the
    # basic-auth user.
    install_token_filter(logging.getLogger("werkzeug"))


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
    """gunicorn's logger writing LOG_FORMAT, with callback tokens masked and credentials dropped.

    Whatever access_log_format is given, the basic-auth user and Authorization/Cookie headers
    log as "-". Enabled by gunicorn.conf.py: `logger_class = "apg.logs.MaskingGunicornLogger"`.
    """

    error_fmt = access_fmt = LOG_FORMAT
    datefmt = None  # logging's default, as in the app's lines

    def setup(self, cfg: Any) -> None:
        super().setup(cfg)
        install_token_filter(self.error_log)  # e.g. "Error handling request <uri>"

    def atoms(self, resp: Any, req: Any, environ: Any, request_time: Any) -> dict[str, Any]:
        # r (request line), U (path), {raw_uri}e, {path_info}e, headers: every one may hold a
        # callback token.
        atoms = super().atoms(resp, req, environ, request_time)
        return {
            key: "-" if _CREDENTIAL_ATOM.fullmatch(key) else _masked(value)
            for key, value in atoms.items()
        }


def _masked(value: Any) -> Any:
    return mask_callback_tokens(value) if isinstance(value, str) else value
