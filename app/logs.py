"""Logging of a server process: JSON lines (or plain text for development), each with its request id.

One configuration, `logging_config`, serves both ways of starting the app: `tthc-metrics serve` hands
it to uvicorn (which applies it in every worker, before the app is imported, and to its own loggers),
and `create_app` applies it when nothing has configured logging yet (`uvicorn app.asgi:app`, scripts).

A line never carries a secret or a record's values: the access log names the route template, never
the path or the query (a path holds a dossier's code), and an exception is logged as its type and its
stack of frames, never its message, which may quote the value that failed (pydantic's errors do).
"""

from __future__ import annotations

import logging
import logging.config
import traceback
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Any

import orjson

# The id of the request being served, set by the observability middleware; worker threads started
# with run_in_threadpool copy the context, so their lines carry it too.
REQUEST_ID: ContextVar[str | None] = ContextVar("tthc_request_id", default=None)
ACCESS_LOGGER = "tthc.access"
FORMATS = ("json", "text")


def _exception(record: logging.LogRecord) -> dict[str, str]:
    """The exception of a record without its message: its type and the frames it passed through."""
    if not record.exc_info or record.exc_info[0] is None:
        return {}
    kind, _value, tb = record.exc_info
    return {"exception": kind.__name__, "stack": "".join(traceback.format_tb(tb)).rstrip()}


class JsonFormatter(logging.Formatter):
    """One JSON object a line: time, level, logger, message, request_id, and the access fields."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "request_id": getattr(record, "request_id", None) or REQUEST_ID.get(),
        }
        access = getattr(record, "access", None)
        if access is not None:
            entry.update(access)
        entry.update(_exception(record))
        return orjson.dumps(entry, default=str).decode()


class TextFormatter(logging.Formatter):
    """`time level logger [request id] message` for a terminal; exceptions as in JSON (no message)."""

    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        record.request_id = getattr(record, "request_id", None) or REQUEST_ID.get() or "-"
        exc_info, record.exc_info, record.exc_text = record.exc_info, None, None
        try:
            line = super().format(record)
        finally:
            record.exc_info = exc_info
        failure = _exception(record)
        if failure:
            line += f"\n{failure['exception']} raised at:\n{failure['stack']}"
        return line


def logging_config(level: str, fmt: str) -> dict[str, Any]:
    """The dictConfig of a process: one stderr handler on the root; uvicorn's loggers propagate to
    it, and uvicorn's own access log is off (the app's middleware writes the access lines)."""
    if fmt not in FORMATS:
        raise ValueError(f"log format must be one of {FORMATS}, not {fmt!r}")
    level = level.upper()
    formatter = JsonFormatter if fmt == "json" else TextFormatter
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"tthc": {"()": f"{formatter.__module__}.{formatter.__qualname__}"}},
        "handlers": {
            "tthc": {"class": "logging.StreamHandler", "stream": "ext://sys.stderr", "formatter": "tthc"}
        },
        "root": {"level": level, "handlers": ["tthc"]},
        "loggers": {
            "uvicorn": {"level": level, "handlers": [], "propagate": True},
            "uvicorn.error": {"level": level, "handlers": [], "propagate": True},
            "uvicorn.access": {"level": "WARNING", "handlers": [], "propagate": False},
        },
    }


def configure_logging(level: str, fmt: str) -> None:
    """Apply `logging_config` unless logging is configured already (by uvicorn with the same
    configuration, or by a test harness); like logging.basicConfig, a second call changes nothing."""
    if logging.getLogger().handlers:
        return
    logging.config.dictConfig(logging_config(level, fmt))
