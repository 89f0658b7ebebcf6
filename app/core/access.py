"""Who may do what: a token's scopes and the agencies it may write for (contract §6). Pure."""

from __future__ import annotations

from dataclasses import dataclass

SCOPES = ("ingest", "read", "admin")


@dataclass(frozen=True, slots=True)
class Principal:
    """Who is calling: the token's id, its scopes and the agencies it may write for (None: all)."""

    token_id: str | None
    scopes: frozenset[str]
    agencies: frozenset[str] | None

    def may_write(self, agency_code: str) -> bool:
        return self.agencies is None or agency_code in self.agencies

    def has(self, scope: str) -> bool:
        return scope in self.scopes or "admin" in self.scopes


ANONYMOUS = Principal(token_id=None, scopes=frozenset(), agencies=None)
