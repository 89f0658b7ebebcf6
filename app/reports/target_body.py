"""The body of PUT /v1/targets/{year}: a list of {name, threshold[, comparator][, source]} or a map
name -> threshold, checked against each target's catalogue entry, every error named by where it is."""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError

from app.core.errors import ValidationFailed
from app.reports.schemas import TargetIn
from app.reports.targets import BY_NAME, Override, threshold_error


def _entries(raw: Any) -> tuple[list[tuple[list[str | int], TargetIn]], list[dict[str, Any]]]:
    """The body's entries, each with where it is; a map entry's errors are reported at its name."""
    if isinstance(raw, dict):
        items: list[tuple[list[str | int], Any, bool]] = [
            (["body", str(k)], {"name": k, "threshold": v}, True) for k, v in raw.items()
        ]
    elif isinstance(raw, list):
        items = [(["body", i], item, False) for i, item in enumerate(raw)]
    else:
        msg = "a list of {name, threshold} or an object mapping names to thresholds"
        return [], [{"loc": ["body"], "msg": msg, "type": "type_error"}]
    out: list[tuple[list[str | int], TargetIn]] = []
    errors: list[dict[str, Any]] = []
    for loc, item, from_map in items:
        try:
            out.append((loc, TargetIn.model_validate(item)))
        except ValidationError as exc:
            for e in exc.errors():
                where = loc if from_map else [*loc, *e["loc"]]
                msg = (
                    "not a target name; one of " + ", ".join(BY_NAME)
                    if e["loc"][:1] == ("name",) and from_map
                    else e["msg"]
                )
                errors.append({"loc": where, "msg": msg, "type": e["type"]})
    return out, errors


def parse_thresholds(raw: Any) -> dict[str, Override]:
    """A PUT /v1/targets body as name -> override, each checked against its target (one of the three
    comparators, a rate in [0, 1], a count a whole number, a source of at most 500 characters);
    errors name the entry."""
    entries, errors = _entries(raw)
    out: dict[str, Override] = {}
    for loc, t in entries:
        d = BY_NAME[t.name]
        thr_loc = [*loc, "threshold"] if isinstance(loc[-1], int) else loc
        if t.name in out:
            errors.append({"loc": [*loc, "name"], "msg": "each target at most once", "type": "value_error"})
        err = threshold_error(d.kind, t.threshold)
        if err:
            errors.append({"loc": thr_loc, "msg": err, "type": "value_error"})
        out[t.name] = Override(t.threshold, t.comparator, t.source.strip() if t.source else None)
    if errors:
        where = ", ".join(".".join(str(p) for p in e["loc"][1:]) or "body" for e in errors)
        raise ValidationFailed(f"Invalid targets: {where}", errors=errors)
    return out
