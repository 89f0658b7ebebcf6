"""Schemathesis hooks for the contract fuzz run (loaded through SCHEMATHESIS_HOOKS)."""

from __future__ import annotations

import json
from typing import Any

import schemathesis


@schemathesis.serializer("application/x-ndjson")
def ndjson(_ctx: Any, value: Any) -> bytes:
    """The NDJSON body is documented as text; send generated text as is, anything else as one JSON line."""
    if isinstance(value, bytes):
        return value
    if isinstance(value, str):
        return value.encode("utf-8", "surrogatepass")
    return json.dumps(value).encode() + b"\n"


# How schemathesis writes a boolean or a null into a query string.
_LITERALS = {"true", "false", "null"}


def _literal(value: Any) -> bool:
    """A value whose type is lost in a query string: a boolean, a null or a number."""
    if isinstance(value, list):
        return any(_literal(v) for v in value)
    if isinstance(value, str):
        return value in _LITERALS
    return value is None or isinstance(value, bool | int | float)


@schemathesis.hook
def filter_case(_ctx: Any, case: Any) -> bool:
    """Drop negative cases that put a boolean, a null or a number in the query string.

    On the wire `false` is the text "false" and -6.2e+16 the text "-6.2e+16", both valid procedure
    codes: such a case is no longer negative once sent, and its 200 is no finding.
    """
    meta = case.meta
    if meta is None or not meta.generation.mode.is_negative:
        return True
    return not any(_literal(v) for v in (case.query or {}).values())
