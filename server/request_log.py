"""One log line per request, and a request id that ties it to the client's own logs.

The line goes to the `helpdesk.access` logger at INFO, which only `helpdesk serve` turns on
(`configure_server_logging`): in-process CLI commands stay quiet. It replaces gunicorn's access
log (off in cli/serving.py), which knows neither the user nor the request id.
"""

from __future__ import annotations

import json
import logging
import re
import sys
import time
import uuid
from datetime import UTC, datetime

from flask import Flask, g, has_request_context, request

ACCESS_LOGGER = "helpdesk.access"
log = logging.getLogger(ACCESS_LOGGER)
log.setLevel(logging.WARNING)  # silent in-process, even with `helpdesk -v`; serve turns it on
# A client's id is kept when it is short and plain (it ends up in log lines and headers).
SANE_REQUEST_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:-]{0,127}")
# What the JSON line carries besides time, level, logger and message.
ACCESS_FIELDS = ("method", "path", "status", "duration_ms", "user_id", "client", "request_id")
READABLE = (
    "%(client)s %(method)s %(path)s %(status)s %(duration_ms)s ms"
    " user=%(user_id)s id=%(request_id)s"
)


def request_id() -> str:
    """The client's X-Request-Id when it looks sane, else a new one."""
    given = request.headers.get("X-Request-Id", "")
    return given if SANE_REQUEST_ID.fullmatch(given) else uuid.uuid4().hex


def logged_path() -> str:
    """The path without its query string, and with any token in it (account and survey links)
    masked: a log is read by more people than the token was meant for."""
    path = request.path
    for name, value in (request.view_args or {}).items():
        if "token" in name and value:
            path = path.replace(str(value), "***")
    return path


def init_request_log(app: Flask) -> None:
    """Register first, so the id and the start time exist before any other hook can fail, and
    the line is written last, with the status that was sent."""

    @app.before_request
    def start_request():
        g.request_started = time.perf_counter()
        g.request_id = request_id()

    @app.after_request
    def log_request(response):
        if "request_id" not in g:  # a hook before ours failed
            start_request()
        response.headers["X-Request-Id"] = g.request_id
        if log.isEnabledFor(logging.INFO):
            user = g.get("user") or g.get("portal_user")
            fields = {
                "method": request.method,
                "path": logged_path(),
                "status": response.status_code,
                "duration_ms": round((time.perf_counter() - g.request_started) * 1000, 1),
                "user_id": user.id if user is not None else None,
                "client": request.remote_addr,
                "request_id": g.request_id,
            }
            log.info(READABLE, {**fields, "user_id": fields["user_id"] or "-"}, extra=fields)
        return response


class JsonLines(logging.Formatter):
    """One JSON object per line: time, level, logger, message, the request's fields when the
    record has them, and a traceback as one string."""

    def format(self, record: logging.LogRecord) -> str:
        line = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        for name in ACCESS_FIELDS:
            if hasattr(record, name):
                line[name] = getattr(record, name)
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        return json.dumps(line, default=str)


def configure_server_logging(log_format: str, stream=None) -> None:
    """What `helpdesk serve` logs: a line per request, and with "json" every helpdesk log line
    (errors, mail sender) as JSON on stderr; "text" keeps the CLI's readable handler."""
    logging.getLogger(ACCESS_LOGGER).setLevel(logging.INFO)
    if log_format == "json" or stream is not None:
        handler = logging.StreamHandler(stream or sys.stderr)
        if log_format == "json":
            handler.setFormatter(JsonLines())
            handler.addFilter(_with_request_id)
        logging.getLogger("helpdesk").handlers = [handler]


def _with_request_id(record: logging.LogRecord) -> bool:
    """An error logged during a request carries its id: the traceback meets its log line."""
    if not hasattr(record, "request_id") and has_request_context() and "request_id" in g:
        record.request_id = g.request_id
    return True
