"""Building records for tests: a valid record by default, any field overridden."""

from __future__ import annotations

from typing import Any

AGENCY = "000.00.07.H41"  # Sở Xây dựng (seed)
OTHER_AGENCY = "000.00.03.H41"  # Sở Tài chính (seed)
COMMUNE = "17329"  # Xã Anh Sơn
COMMUNE_AGENCY = "UBND-17329"


def rec(code: str = "D-1", **over: Any) -> dict[str, Any]:
    """A valid, finished record; override any field (None removes nothing: it sets null)."""
    base: dict[str, Any] = {
        "code": code,
        "procedure_code": "1.004227",
        "agency_code": AGENCY,
        "channel": "in_person",
        "received_at": "2025-07-01T08:00:00+07:00",
        "due_at": "2025-07-10T17:00:00+07:00",
        "resolved_at": "2025-07-08T10:00:00+07:00",
        "status": "resolved",
        "updated_at": "2025-07-08T10:00:00+07:00",
    }
    base.update(over)
    return {k: v for k, v in base.items() if v is not ...}


def open_rec(code: str = "D-1", **over: Any) -> dict[str, Any]:
    """A valid record still in processing."""
    return rec(code, **{"status": "processing", "resolved_at": None, **over})
