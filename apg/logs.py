"""One log format for the app, werkzeug and gunicorn, with no credential and no full phone
number in any line."""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

from gunicorn.glogging import Logger as GunicornLogger

# Every line: the app's records, gunicorn's error log and its access log (whose message is
# ACCESS_LOG_FORMAT). The pid tells gunicorn's workers apart.
LOG_FORMAT = "%(asctime)s [%(process)d] %(levelname)s %(name)s: %(message)s"

# gunicorn's access line: client, request line, status, bytes, seconds, user agent, and the
# X-Request-ID the app answered with (as in error bodies). No %(u)s: after `curl -u KEY:` the
# basic-auth user is an API key.
ACCESS_LOG_FORMAT = '%(h)s "%(r)s" %(s)s %(b)s %(L)ss "%(a)s" req=%({x-request-id}o)s'

# The access line's fields in JSON mode (gunicorn atoms; masked by MaskingGunicornLogger.atoms).
ACCESS_JSON_FIELDS = {
    "remote": "h",
    "method": "m",
    "path": "U",
    "query": "q",
    "status": "s",
    "bytes": "B",
    "agent": "a",
    "pid": "p",
    "request_id": "{x-request-id}o",
}

REDACTED = "[redacted]"

# Whatever sits in the token slot of /webhooks/daraja/<token>/<kind>: the token alone lets
# anyone post callbacks as Safaricom for that tenant, so access logs must not keep it.
_TOKEN_IN_PATH = re.compile(r"(/webhooks/daraja/)([^/?#\s\"]{4})[^/?#\s\"]+")

# A Kenyan mobile number standing alone: 2547…/2541…, +2547…, 07…/01…. Digits, letters, "_"
# or "+" on either side make it part of something else: a 14-digit timestamp, a receipt, an id.
_PHONE = re.compile(r"(?<![\w+])(?:\+?254|0)[17]\d{8}(?!\w)")

# Secrets by shape, wherever a message carries them: an Authorization value, an OAuth token
# in a JSON body or a query string, a Fernet ciphertext (what the database keeps secrets as).
_SECRETS = (
    (re.compile(r"\b(Bearer|Basic)(\s+)[\w.~+/=-]{6,}", re.IGNORECASE), rf"\1\2{REDACTED}"),
    (re.compile(r"(access_token[\"']?\s*[:=]\s*[\"']?)[^\"'\s,&;}]+"), rf"\1{REDACTED}"),
    (re.compile(r"\bgAAAAA[\w-]+=*"), REDACTED),
)

# gunicorn atoms that hold credentials: u (the basic-auth user) and any header or environ
# variable named like {authorization}i, {http_authorization}e, {cookie}i.
_CREDENTIAL_ATOM = re.compile(r"u|\{.*(authorization|cookie).*\}[ioe]")


def configure_logging(level: str | int, log_format: str = "text") -> None:
    """Send the app's records to stderr in LOG_FORMAT (or as JSON lines) at `level`, masked by
    a PrivacyFilter; mask werkzeug's request lines.

    Safe to call many times (create_app may run many times per process): like
    logging.basicConfig, it leaves a root logger that already has handlers as it is, so a host's
    own logging setup (pytest, a gunicorn logconfig) wins, and masking there is the host's.
    """
    root = logging.getLogger()
    if not root.handlers:
        logging.basicConfig(level=level, format=LOG_FORMAT)
        for handler in root.handlers:  # a handler's filter sees every record it writes
            install_privacy_filter(handler)
            handler.addFilter(ContextFilter())
            if log_format == "json":
                handler.setFormatter(JsonFormatter())
    # werkzeug's request lines (`flask run`, tests' live servers) carry the path, never the
    # basic-auth user.
    install_privacy_filter(logging.getLogger("werkzeug"))


def mask_callback_tokens(text: str) -> str:
    """Return text with each callback token cut to its first 4 characters and "…"."""
    return _TOKEN_IN_PATH.sub("\\1\\2…", text)


def mask_phone_numbers(text: str) -> str:
    """Return text with every digit of each Kenyan mobile number but the last 3 as "*"
    (`+254708374149` → `+*********149`); other digits (amounts, timestamps, ids) as they are."""
    return _PHONE.sub(lambda m: re.sub(r"\d", "*", m[0][:-3]) + m[0][-3:], text)


def mask_private(text: str) -> str:
    """Return text with callback tokens, phone numbers and credential-shaped values masked."""
    text = mask_phone_numbers(mask_callback_tokens(text))
    for pattern, replacement in _SECRETS:
        text = pattern.sub(replacement, text)
    return text


class PrivacyFilter(logging.Filter):
    """Masks (mask_private) a record's whole message, traceback and stack; drops nothing.

    The message is formatted here, so arguments of any type are covered; the record then
    carries the masked text and no arguments."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:
            return True
        record.msg, record.args = mask_private(message), None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = mask_private(record.exc_text)
        if record.stack_info:
            record.stack_info = mask_private(record.stack_info)
        return True


CallbackTokenFilter = PrivacyFilter  # its name when it masked callback tokens alone


def install_privacy_filter(*filterers: logging.Logger | logging.Handler) -> None:
    """Give each logger or handler one PrivacyFilter (create_app may run many times per
    process). On a logger it sees the records logged there; on a handler, all it writes."""
    for filterer in filterers:
        if not any(isinstance(f, PrivacyFilter) for f in filterer.filters):
            filterer.addFilter(PrivacyFilter())


install_token_filter = install_privacy_filter  # its name when the filter masked tokens alone


# The operation (payment, payout, …) the current request or pass is about, for JSON lines.
current_operation: ContextVar[str | None] = ContextVar("apg_operation_id", default=None)


@contextmanager
def operation_logged(operation_id: str) -> Iterator[None]:
    """Records logged inside carry operation_id (JSON lines show it)."""
    token = current_operation.set(operation_id)
    try:
        yield
    finally:
        current_operation.reset(token)


class ContextFilter(logging.Filter):
    """Adds request_id and tenant_id (from the Flask request, if any) and operation_id."""

    def filter(self, record: logging.LogRecord) -> bool:
        from flask import g, has_app_context

        if has_app_context():
            record.request_id = g.get("request_id")
            tenant = g.get("tenant")
            record.tenant_id = getattr(tenant, "id", None)
        record.operation_id = current_operation.get()
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object a line: time, level, logger, pid, message, and the request, tenant and
    operation ids when known; an exception as its (masked) traceback text."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": self.formatTime(record),
            "level": record.levelname,
            "logger": record.name,
            "pid": record.process,
            "message": record.getMessage(),
        }
        for key in ("request_id", "tenant_id", "operation_id"):
            value = getattr(record, key, None)
            if value:
                entry[key] = value
        if record.exc_info and not record.exc_text:
            record.exc_text = self.formatException(record.exc_info)
        if record.exc_text:
            entry["exception"] = record.exc_text
        return json.dumps(entry, ensure_ascii=False, default=str)


class MaskingGunicornLogger(GunicornLogger):
    """gunicorn's logger writing LOG_FORMAT, its error and access lines masked by a
    PrivacyFilter and credentials dropped.

    Whatever access_log_format is given, the basic-auth user and Authorization/Cookie headers
    log as "-". Enabled by gunicorn.conf.py: `logger_class = "apg.logs.MaskingGunicornLogger"`.
    """

    error_fmt = access_fmt = LOG_FORMAT
    datefmt = None  # logging's default, as in the app's lines

    def setup(self, cfg: Any) -> None:
        super().setup(cfg)
        # e.g. "Error handling request <uri>"; access lines whose query string holds a phone
        install_privacy_filter(self.error_log, self.access_log)
        self.json = _log_format() == "json"  # the app's lines are JSON too (configure_logging)
        if self.json:
            for handler in self.error_log.handlers:
                handler.setFormatter(JsonFormatter())
            for handler in self.access_log.handlers:  # access() writes the whole object
                handler.setFormatter(logging.Formatter("%(message)s"))

    def access(self, resp: Any, req: Any, environ: Any, request_time: Any) -> None:
        """As gunicorn's; in JSON mode one object a line, named fields, masked as in text."""
        if not getattr(self, "json", False):
            super().access(resp, req, environ, request_time)
            return
        if not self.access_log_enabled:
            return
        atoms = self.atoms_wrapper_class(self.atoms(resp, req, environ, request_time))
        entry = {field: atoms[atom] for field, atom in ACCESS_JSON_FIELDS.items()}
        entry["time"], entry["duration_ms"] = self.now(), round(int(atoms["D"]) / 1000, 1)
        self.access_log.info(json.dumps(entry, ensure_ascii=False, default=str))

    def atoms(self, resp: Any, req: Any, environ: Any, request_time: Any) -> dict[str, Any]:
        # r (request line), U (path), {raw_uri}e, {path_info}e, headers: every one may hold a
        # callback token or a phone number.
        atoms = super().atoms(resp, req, environ, request_time)
        return {
            key: "-" if _CREDENTIAL_ATOM.fullmatch(key) else _masked(value)
            for key, value in atoms.items()
        }


def _log_format() -> str:
    """monitoring.log_format as the app will read it (gunicorn's logger starts first)."""
    from apg.config import ConfigError, load_settings

    try:
        return load_settings().monitoring.log_format
    except ConfigError:  # the app will refuse to start and say why; log that as text
        return "text"


def _masked(value: Any) -> Any:
    return mask_private(value) if isinstance(value, str) else value
