"""A request's transaction commits before its response is sent.

FastAPI ends a dependency with `yield` after the response by default: a client told `201` for a new
token could find it missing on its next request, and a commit that failed then would lose a write
the client was told had succeeded. Contract fuzzing found the first (a token revoked at once → 404).
"""

from __future__ import annotations

import typing

from fastapi.testclient import TestClient

from app.api.deps import SessionDep, WriteSessionDep, get_session, get_write_session


def test_request_sessions_end_before_the_response() -> None:
    for alias, factory in ((SessionDep, get_session), (WriteSessionDep, get_write_session)):
        depends = typing.get_args(alias)[1]
        assert depends.dependency is factory
        assert depends.scope == "function"


def test_a_new_token_works_on_the_very_next_request(client: TestClient) -> None:
    for i in range(20):
        created = client.post("/v1/tokens", json={"label": f"t{i}", "scopes": ["read"]}).json()
        assert client.delete(f"/v1/tokens/{created['id']}").status_code == 204
