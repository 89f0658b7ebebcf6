"""Schemathesis hooks for the contract fuzz run (loaded through SCHEMATHESIS_HOOKS)."""

from __future__ import annotations

import json
import os
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


# The coverage phase's cases already sent, by what each one tests (see `_first_of_its_kind`).
_COVERED: set[tuple[str | None, ...]] = set()
# Valid variants of a whole set of parameters or a body: each optional member alone, each valid shape of
# each member (null, its enum values, its longest and near-longest arrays and strings).
_VALID_VARIANTS = {"object_required_and_optional", "valid_object", "valid_array"}


def _first_of_its_kind(case: Any) -> bool:
    """Whether this coverage case is the first sent of its kind on its operation.

    The coverage phase derives its cases from the schema with no budget (`--max-examples` does not
    apply to it): each wrong type of each field (five for a string), each valid shape of each member
    of each body, so it grows with the document, not with the budget. In `make test` it sends:

    - of a violation or boundary (a wrong type, a pattern, a bound, a missing field, a method): one
      case for each operation, parameter, schema location and description, so every field still gets
      each kind of violation, with one of its values;
    - of the valid variants of a body or a set of parameters (`_VALID_VARIANTS`): one case for each
      operation, scenario and parameter (the fuzzing phase's positive cases vary the rest).

    `make fuzz` sends every case the phase derives.
    """
    data = case.meta.phase.data
    scenario = str(data.scenario)
    key: tuple[str | None, ...] = (
        case.operation.label,
        scenario,
        str(data.parameter_location),
        data.parameter,
    )
    if scenario not in _VALID_VARIANTS or not case.meta.generation.mode.is_positive:
        key += (data.location, data.description)
    if key in _COVERED:
        return False
    _COVERED.add(key)
    return True


@schemathesis.hook
def filter_case(_ctx: Any, case: Any) -> bool:
    """Drop negative cases that put a boolean, a null or a number in the query string; in `make test`,
    send one coverage case of each kind.

    On the wire `false` is the text "false" and -6.2e+16 the text "-6.2e+16", both valid procedure
    codes: such a case is no longer negative once sent, and its 200 is no finding.
    """
    meta = case.meta
    if meta is None:
        return True
    if meta.generation.mode.is_negative and any(_literal(v) for v in (case.query or {}).values()):
        return False
    if meta.phase.name == "coverage" and os.environ.get("TTHC_FUZZ_COVERAGE") != "all":
        return _first_of_its_kind(case)
    return True
