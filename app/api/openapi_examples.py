"""Examples of every operation's success response, for the served OpenAPI document.

Integrators read these before they call anything, and generated clients show them, so they are built
from the same names the service uses (every count, every rate) and a test validates each against its
operation's response schema.
"""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from app.core.calculator import rates
from app.core.definitions import COUNTS, INDEX_COUNTS, RATES
from app.core.feed_rules import WARNING_RULES
from app.dossiers.schemas import EXAMPLE_RECORD, INGEST_REPORT_EXAMPLE
from app.index.schemas import DECLARED_EXAMPLE, INDEX_EXAMPLE, JOB_EXAMPLE, RULE_SET_EXAMPLE
from app.integrations.dvcqg.schemas import DvcqgIngestReport
from app.reports.service import LEVEL_NAMES
from app.reports.targets import BY_NAME, set_for_year

AGENCY = "000.00.07.H41"
AGENCY_NAME = "Sở Xây dựng"

# One agency's quarter: figures that add up the way the contract says they do.
COUNTS_EXAMPLE: dict[str, int] = {
    "received": 120,
    "received_online": 84,
    "received_full_online": 40,
    "fee_required": 50,
    "paid_online": 31,
    "digitised_intake": 110,
    "reused_digital_data": 12,
    "finished": 100,
    "finished_early": 60,
    "finished_on_time": 35,
    "finished_late": 5,
    "digitised_result": 90,
    "rated": 70,
    "satisfied": 66,
    "withdrawn": 2,
    "carried_over": 30,
    "pending": 48,
    "pending_overdue": 3,
    "late_apologised": 6,
    # The form's balance: 120 received + 30 carried over = 102 closed + 48 pending; of the two
    # withdrawn, one ended before its deadline's day and one on it.
    "received_total": 150,
    "closed": 102,
    "closed_early": 61,
    "closed_on_time": 36,
    "closed_late": 5,
}
FIGURES: dict[str, Any] = {"counts": COUNTS_EXAMPLE, "rates": rates(COUNTS_EXAMPLE)}
DATA_AS_OF = "2025-10-01T08:00:00+07:00"

DOSSIER_OUT: dict[str, Any] = {**EXAMPLE_RECORD, "outcome": "early"}
# The drill-down's listing of the same dossier: resolved Friday 25 July, deadline Monday 28 July, so
# one working day early (the weekend between does not count).
DRILLDOWN_OUT: dict[str, Any] = {
    **DOSSIER_OUT,
    "agency_name": AGENCY_NAME,
    "commune_name": "Xã Anh Sơn",
    "deadline_at": EXAMPLE_RECORD["due_at"],
    "deadline_source": "due_at",
    "working_days_overdue": None,
    "working_days_early": 1,
}

_TARGET_VALUES = {
    "on_time": (0.95, 95, 100, True),
    "online": (0.7, 84, 120, True),
    "satisfaction": (66 / 70, 66, 70, True),
    "satisfaction_land_construction_investment": (0.9, 27, 30, True),
    "apology": (0.75, 6, 8, False),
    "pending_overdue": (3, 3, None, False),
}


# The examples judge 2025 by its built-in set, as the service would.
_SET_2025 = set_for_year(2025)


def _target_results() -> list[dict[str, Any]]:
    out = []
    for t in _SET_2025.targets:
        value, num, den, passed = _TARGET_VALUES[t.name]
        out.append(
            {
                "name": t.name,
                "value": value,
                "comparator": t.comparator,
                "threshold": t.threshold,
                "passed": passed,
                "numerator": num,
                "denominator": den,
            }
        )
    return out


def _targets_out() -> list[dict[str, Any]]:
    return [
        {
            "name": t.name,
            "comparator": t.comparator,
            "threshold": t.threshold,
            "default": True,
            "source": t.source,
            "label_vi": BY_NAME[t.name].label_vi,
            "description": BY_NAME[t.name].description,
        }
        for t in _SET_2025.targets
    ]


def _definitions() -> dict[str, Any]:
    # As the endpoint writes them.
    return {
        "counts": [asdict(COUNTS[0])],
        "rates": [asdict(RATES[0])],
        "index_counts": [asdict(INDEX_COUNTS[0])],
    }


TOKEN_INFO: dict[str, Any] = {
    "id": "3f9c2a7d1b8e4c60",
    "label": "one-stop system of Sở Xây dựng",
    "scopes": ["ingest"],
    "agencies": [AGENCY],
    "expires_at": None,
    "created_at": "2025-07-01T09:00:00+07:00",
    "revoked_at": None,
}
SECTOR_OUT: dict[str, Any] = {
    "code": "XAYDUNG",
    "slug": "xay_dung",
    "name": "Hoạt động xây dựng",
    "updated_at": "2025-07-01T09:00:00+07:00",
}
AGENCY_OUT: dict[str, Any] = {
    "code": AGENCY,
    "name": AGENCY_NAME,
    "level": "province",
    "commune_code": None,
    "commune_name": None,
}


def _feed_quality() -> dict[str, Any]:
    """Eight rejected records of one day, two reasons shown; a unit resolving on days off."""
    token = TOKEN_INFO["id"]
    warnings = []
    for rule in WARNING_RULES:
        n = 2 if rule.code == "resolved_on_day_off" else 0
        units = (
            [{"agency_code": AGENCY, "count": 2, "base_count": 6, "share": 0.3333, "flagged": True}]
            if n
            else []
        )
        warnings.append(
            {
                "rule": rule.code,
                "field": rule.field,
                "description": rule.description,
                "base": rule.base,
                "count": n,
                "base_count": 6 if rule.base != "received" else 12,
                "share": round(n / (6 if rule.base != "received" else 12), 4),
                "threshold": 0.1 if rule.by_share else None,
                "flagged_units": 1 if n else 0,
                "by_unit": units,
            }
        )
    return {
        "from": "2025-09-02",
        "to": "2025-10-01",
        "rejected": {
            "total": 8,
            "by_rule": [
                {
                    "field": "due_at",
                    "rule": "due_at is before received_at",
                    "type": "value_error",
                    "count": 5,
                },
                {
                    "field": "agency_code",
                    "rule": "agency_code is not a registered agency",
                    "type": "unknown_agency",
                    "count": 3,
                },
            ],
            "by_unit": [{"agency_code": AGENCY, "count": 5}, {"agency_code": "unknown", "count": 3}],
            "by_day": [{"day": "2025-10-01", "count": 8}],
            "by_token": [{"token_id": token, "count": 8}],
        },
        "warnings": warnings,
        "examples": [
            {
                "agency_code": AGENCY,
                "kind": "rejected",
                "field": "due_at",
                "rule": "due_at is before received_at",
                "type": "value_error",
                "codes": [
                    {
                        "code": EXAMPLE_RECORD["code"],
                        "token_id": token,
                        "day": "2025-10-01",
                        "seen_at": "2025-10-01T08:02:00+07:00",
                    }
                ],
            }
        ],
        "truncated": [],
    }


CLOSING_EXAMPLE: dict[str, Any] = {
    "id": 7,
    "period": "2025-Q3",
    "basis": "reporting",
    "unit": "agency",
    "filters": {},
    "closed_at": "2025-10-01T08:00:00+07:00",
    "closed_by": "482daf95e7b97ea4",
    "data_version": 1234,
    "size": 41230,
    "files": [
        {"format": "csv", "dialect": None, "bytes": 3120},
        {"format": "csv", "dialect": "excel-vi", "bytes": 3118},
        {"format": "json", "dialect": None, "bytes": 9870},
        {"format": "xlsx", "dialect": None, "bytes": 25122},
    ],
    "superseded_by": None,
}


RESTATEMENT_EXAMPLE: dict[str, Any] = {
    "closing": CLOSING_EXAMPLE,
    "period": "2025-Q3",
    "basis": "reporting",
    "from": "2025-06-15",
    "to": "2025-09-14",
    "unit": "agency",
    "filters": {},
    "data_as_of": "2025-10-05T08:00:00+07:00",
    "figures": [
        {
            "row": {"agency": "000.00.07.H41"},
            "count": "finished_late",
            "filed": 0,
            "current": 1,
            "dossiers_total": 1,
            "dossiers": ["D-ontime"],
            "reference": [],
        }
    ],
    "dossiers": [
        {
            "code": "D-ontime",
            "change": "updated",
            "changes": 1,
            "first_change_at": "2025-10-05T08:00:00+07:00",
            "last_change_at": "2025-10-05T08:00:00+07:00",
            "filed": None,
            "current": None,
        }
    ],
    "reference": [],
    "limits": {"dossiers_per_figure": 100, "dossiers_listed": 20000},
}


_KIND_COUNTS = {
    "due_soon": 3,
    "overdue": 1,
    "late_without_apology": 2,
    "supplement_repeated": 0,
    "unpaid_online": 4,
    "no_electronic_result": 7,
    "awaiting_supplement": 1,
}
WORKLIST_PAGE_EXAMPLE: dict[str, Any] = {
    "kind": "overdue",
    "as_of": "2026-02-25T09:00:00+07:00",
    "from": "2026-01-01",
    "to": "2026-12-31",
    "due_within": 2,
    "items": [
        {
            "code": "000.00.07.H41-260210-0001",
            "procedure_code": "1.004227",
            "procedure_name": "Cấp giấy phép xây dựng",
            "agency_code": "000.00.07.H41",
            "agency_name": "Sở Xây dựng",
            "commune_code": "17329",
            "commune_name": "Xã Anh Sơn",
            "sector": "xay_dung",
            "status": "processing",
            "received_at": "2026-02-10T08:00:00+07:00",
            "deadline_at": "2026-02-13T17:00:00+07:00",
            "deadline_source": "due_at",
            "resolved_at": None,
            "clock": "agency",
            "working_days_left": None,
            "working_days_late": 3,
            "supplement_requests": 0,
            "apology_issued": False,
            "apology_owed": True,
            "weighs_on": {"rates": ["on_time", "apology"], "index": ["2.1"]},
        }
    ],
    "next_cursor": None,
}
WORKLIST_SUMMARY_EXAMPLE: dict[str, Any] = {
    "unit": "agency",
    "as_of": "2026-02-25T09:00:00+07:00",
    "from": "2026-01-01",
    "to": "2026-12-31",
    "due_within": 2,
    "rows": [{"agency": "000.00.07.H41", "agency_name": "Sở Xây dựng", "counts": _KIND_COUNTS}],
    "totals": _KIND_COUNTS,
}
_WEBHOOK_INFO: dict[str, Any] = {
    "id": "3f9c2a7e5b1d0c94",
    "url": "https://motcua.nghean.gov.vn/hooks/tthc",
    "label": "Bộ phận một cửa Sở Xây dựng",
    "kinds": ["due_soon", "overdue"],
    "scope": {"agency": ["000.00.07.H41"]},
    "created_at": "2026-02-01T08:00:00+07:00",
    "next_digest_at": "2026-02-26T07:00:00+07:00",
}
DELIVERY_PAGE_EXAMPLE: dict[str, Any] = {
    "items": [
        {
            "id": 12,
            "day": "2026-02-25",
            "created_at": "2026-02-25T07:00:00+07:00",
            "status": "delivered",
            "attempts": 2,
            "items": 4,
            "next_attempt_at": None,
            "last_attempt_at": "2026-02-25T07:01:00+07:00",
            "last_status_code": 200,
            "last_error": None,
            "delivered_at": "2026-02-25T07:01:00+07:00",
        }
    ],
    "next_cursor": None,
}


def success_examples() -> dict[str, Any]:
    """operationId -> an example body of its success response."""
    ingest_report = INGEST_REPORT_EXAMPLE
    # The portal report's model carries its own example; reuse it rather than keep two.
    extra = DvcqgIngestReport.model_config.get("json_schema_extra")
    dvcqg_example = extra["examples"][0] if isinstance(extra, dict) else None  # type: ignore[index]
    shipped = {"shipped": True, "created_at": None, "created_by": None}
    added = {"shipped": False, "created_at": "2026-06-20T08:00:00+00:00", "created_by": "482daf95e7b97ea4"}
    return {
        "close_dossier_processing_report": CLOSING_EXAMPLE,
        "get_worklist": WORKLIST_PAGE_EXAMPLE,
        "get_worklist_summary": WORKLIST_SUMMARY_EXAMPLE,
        "list_webhooks": [_WEBHOOK_INFO],
        "create_webhook": {**_WEBHOOK_INFO, "secret": "whsec_5b1f0c9e8d7a6b5c4d3e2f1a0b9c8d7e"},
        "list_webhook_deliveries": DELIVERY_PAGE_EXAMPLE,
        "list_dossier_processing_closings": {"items": [CLOSING_EXAMPLE], "next_before": None},
        "get_dossier_processing_restatements": RESTATEMENT_EXAMPLE,
        "get_index": INDEX_EXAMPLE,
        "list_index_rule_sets": {"items": [{**RULE_SET_EXAMPLE, **shipped}]},
        "put_index_rule_set": {**RULE_SET_EXAMPLE, **added},
        "list_index_declared": {"items": [DECLARED_EXAMPLE]},
        "put_index_declared": {"stored": 1},
        "start_index_job": JOB_EXAMPLE,
        "list_index_jobs": {"items": [JOB_EXAMPLE]},
        "get_index_job": JOB_EXAMPLE,
        "ingest_dossiers": ingest_report,
        "list_dossiers": {"items": [DRILLDOWN_OUT], "next_cursor": "MDAwLjAwLjA3Lkg0MC0yNTA3MTQtMDAwMQ"},
        "put_dossier": {"result": "updated", "dossier": DOSSIER_OUT},
        "get_dossier": DOSSIER_OUT,
        "get_metrics": {
            "from": "2025-07-01",
            "to": "2025-09-30",
            "group_by": ["agency", "month"],
            "data_as_of": DATA_AS_OF,
            "rows": [{"agency": AGENCY, "agency_name": AGENCY_NAME, "month": "2025-07", **FIGURES}],
            "totals": FIGURES,
        },
        "get_metric_definitions": _definitions(),
        "get_dossier_processing_report": {
            "period": "2025-09",
            "basis": "reporting",
            "from": "2025-08-15",
            "to": "2025-09-14",
            "unit": "agency",
            "group_by": ["agency"],
            "data_as_of": DATA_AS_OF,
            "rows": [{"agency": AGENCY, "agency_name": AGENCY_NAME, "level": "province", **FIGURES}],
            "subtotals": [{"level": "province", "level_name": LEVEL_NAMES["province"], **FIGURES}],
            "totals": FIGURES,
        },
        "get_scorecard": {
            "year": 2025,
            "basis": "calendar",
            "from": "2025-01-01",
            "to": "2025-12-31",
            "unit": "agency",
            "targets_year": 2025,
            "target_set_year": 2025,
            "data_as_of": DATA_AS_OF,
            "rows": [
                {
                    "agency": AGENCY,
                    "agency_name": AGENCY_NAME,
                    "rank": 1,
                    **FIGURES,
                    "targets": _target_results(),
                    "passed": 4,
                    "failed": 2,
                }
            ],
        },
        "list_targets": {"year": 2025, "target_set_year": 2025, "targets": _targets_out()},
        "put_targets": {"year": 2025, "target_set_year": 2025, "targets": _targets_out()},
        "ingest_dvcqg_dossiers": dvcqg_example,
        "list_communes": {
            "province_code": 40,
            "province_name": "Tỉnh Nghệ An",
            "count": 1,
            "items": [{"code": "17329", "name": "Xã Anh Sơn", "division_type": "xã"}],
        },
        "list_agencies": [AGENCY_OUT],
        "put_agency": AGENCY_OUT,
        "list_sectors": [SECTOR_OUT],
        "put_sector": SECTOR_OUT,
        "list_tokens": [TOKEN_INFO],
        "create_token": {"id": TOKEN_INFO["id"], "token": "tthc_8dJ2kQ0v7yXb3nW5pL1sR9tU4eZ6cA0mH2gF8iK3oVw"},
        "list_audit": {
            "items": [
                {
                    "id": 42,
                    "at": "2025-10-01T08:00:00+07:00",
                    "token_id": TOKEN_INFO["id"],
                    "method": "POST",
                    "path": "/v1/dossiers",
                    "status_code": 200,
                    "counts": {
                        k: v
                        for k, v in ingest_report.items()
                        if k not in ("errors", "errors_omitted", "errors_summary")
                    },
                    "duration_ms": 12.5,
                }
            ],
            "next_cursor": None,
            "total": 1,
        },
        "list_refused_requests": {
            "items": [
                {"token_id": TOKEN_INFO["id"], "day": "2025-10-01", "status": 403, "count": 300},
                {"token_id": None, "day": "2025-10-01", "status": 401, "count": 12},
            ],
            "next_cursor": None,
            "total": 2,
        },
        "get_feed_quality": _feed_quality(),
        "healthz": {"status": "ok"},
        "readyz": {"status": "ok", "database": "postgresql", "revision": "0001"},
    }


# Path parameters per operation, so operations without a response body carry an example too.
PATH_EXAMPLES: dict[str, dict[str, Any]] = {
    "delete_webhook": {"webhook_id": _WEBHOOK_INFO["id"]},
    "list_webhook_deliveries": {"webhook_id": _WEBHOOK_INFO["id"]},
    "get_worklist": {"kind": "overdue"},
    "put_dossier": {"code": EXAMPLE_RECORD["code"]},
    "get_dossier": {"code": EXAMPLE_RECORD["code"]},
    "delete_dossier": {"code": EXAMPLE_RECORD["code"]},
    "put_targets": {"year": 2025},
    "put_agency": {"code": AGENCY},
    "put_sector": {"code": SECTOR_OUT["code"]},
    "delete_sector": {"code": SECTOR_OUT["code"]},
    "delete_procedure": {"code": "1.004227"},
    "revoke_token": {"token_id": TOKEN_INFO["id"]},
}
