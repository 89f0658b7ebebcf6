"""GET /dashboard and its static files; GET / leads to the dashboard.

The page is a client of the public read API like any other: the server only hands out files, so the
page doubles as a worked example for integrators. It is not part of the API, so it stays out of the
OpenAPI document.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import FileResponse, RedirectResponse
from fastapi.staticfiles import StaticFiles

STATIC_DIR = Path(__file__).resolve().parents[2] / "dashboard" / "static"

# Everything comes from this origin: the page must work on an intranet with no internet access, and the
# policy makes any stray remote reference fail loudly in development instead of silently in production.
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; "
    "connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; "
    "frame-ancestors 'none'"
)

router = APIRouter(include_in_schema=False)


@router.get("/dashboard")
def dashboard() -> FileResponse:
    """The dashboard page (Vietnamese); its script loads every figure from /v1."""
    return FileResponse(
        STATIC_DIR / "index.html",
        media_type="text/html; charset=utf-8",
        headers={
            "Content-Security-Policy": CONTENT_SECURITY_POLICY,
            "X-Content-Type-Options": "nosniff",
            "Referrer-Policy": "same-origin",
            # The page is small and its script revalidates every figure itself; always check the file.
            "Cache-Control": "no-cache",
        },
    )


@router.get("/")
def front_door(request: Request) -> RedirectResponse:
    """The service's address opens the dashboard (a relative redirect, right behind any proxy)."""
    root = str(request.scope.get("root_path", "")).rstrip("/")
    return RedirectResponse(root + "/dashboard", status_code=302)


def install_dashboard(app: FastAPI) -> None:
    """Serve /, /dashboard and /dashboard/static/*."""
    app.include_router(router)
    app.mount("/dashboard/static", StaticFiles(directory=STATIC_DIR), name="dashboard-static")
