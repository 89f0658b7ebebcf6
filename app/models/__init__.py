"""SQLAlchemy models; importing this package registers every table on the one MetaData."""

from app.models.base import Base, metadata
from app.models.tables import (
    Agency,
    ApiToken,
    AuditEntry,
    DataState,
    Dossier,
    Procedure,
    RefusedRequests,
    SectorMapping,
    Target,
    rollup_keys,
    rollups,
)

__all__ = [
    "Agency",
    "ApiToken",
    "AuditEntry",
    "Base",
    "DataState",
    "Dossier",
    "Procedure",
    "RefusedRequests",
    "SectorMapping",
    "Target",
    "metadata",
    "rollup_keys",
    "rollups",
]
