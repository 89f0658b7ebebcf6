"""The service's app with one more route that says who the app thinks the client is: served by
app.server.serve in tests/test_http_edges.py, to see which forwarded headers the server believed."""

from __future__ import annotations

from fastapi import Request

from app.main import create_app

app = create_app()


@app.get("/test/peer", include_in_schema=False)
def peer(request: Request) -> dict[str, str | None]:
    """The client's address and the scheme, as uvicorn set them from the connection or the proxy."""
    return {"client": request.client.host if request.client else None, "scheme": request.url.scheme}
