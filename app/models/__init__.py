"""SQLAlchemy models; importing this package registers every table on the one MetaData."""

from app.models.base import Base, metadata
from app.models.tables import (
    Agency,
    ApiToken,
    AuditEntry,
    DataState,
    Dossier,
    FeedQualityCount,
    FeedQualityExample,
    IndexDeclared,
    IndexJob,
    IndexRuleSet,
    Procedure,
    RefusedRequests,
    SectorMapping,
    Target,
    index_rollups,
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
    "FeedQualityCount",
    "FeedQualityExample",
    "IndexDeclared",
    "IndexJob",
    "IndexRuleSet",
    "Procedure",
    "RefusedRequests",
    "SectorMapping",
    "Target",
    "index_rollups",
    "metadata",
    "rollup_keys",
    "rollups",
]
