"""The FastAPI application: routers, error handlers, lifespan (engine made here, disposed on exit)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import datetime

from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware
from sqlalchemy import Engine
from starlette.types import ASGIApp

from app.api.audit import AuditMiddleware
from app.api.body_limit import BodyLimitMiddleware
from app.api.http_edges import HttpEdgesMiddleware
from app.api.observability import ObservabilityMiddleware, ObservedCache, process_stopping, watch_pools
from app.api.openapi_docs import install_docs, install_openapi
from app.api.problems import install_error_handlers
from app.api.routers import calendar as calendar
from app.api.routers import closings as closings
from app.api.routers import dossiers as dossiers
from app.api.routers import dvcqg as dvcqg
from app.api.routers import feed_quality, health, monitoring, tokens
from app.api.routers import index as index
from app.api.routers import metrics as metrics
from app.api.routers import procedures as procedures
from app.api.routers import reference as reference
from app.api.routers import reports as reports
from app.api.routers import webhooks as webhooks
from app.api.routers import worklists as worklists
from app.api.routers.dashboard import install_dashboard
from app.api.state import AppState
from app.config import Settings, get_settings
from app.core.index_rules import RuleSet
from app.core.timeutil import utcnow
from app.dossiers.schemas import DossierIn
from app.index.schemas import DeclaredIn
from app.integrations.dvcqg.schemas import DvcqgEnvelope, DvcqgRecord
from app.logs import configure_logging
from app.metrics.guard import HeavySlots
from app.migrate import head_revision
from app.reference.procedures import ProcedureEntryIn
from app.store.engine import Engines, open_engines
from app.webhooks.jobs import JobRunner, run_forever

DESCRIPTION = """\
Administrative-procedure (TTHC) dossier metrics for a Vietnamese province: the one-stop system pushes
dossier records; dashboards read on-time, online, online-payment, digitisation, apology and satisfaction
rates and the backlog, per agency, commune, sector and period, each rate beside its numerator and
denominator. Errors are `application/problem+json`.
"""


class ObservedApp(FastAPI):
    """FastAPI with the observability middleware outside all others, Starlette's error middleware
    included, so that a 500 also carries its request id and is counted."""

    def build_middleware_stack(self) -> ASGIApp:
        return ObservabilityMiddleware(super().build_middleware_stack())


def create_app(
    settings: Settings | None = None, *, engine: Engine | None = None, clock: Callable[[], datetime] = utcnow
) -> FastAPI:
    """Build the app; tests pass their own settings, engine and clock."""
    settings = settings or get_settings()
    configure_logging(settings.log_level, settings.log_format)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        engines = open_engines(settings, engine)
        state.engines = engines
        watch_pools(engines)
        # The job runner (digests, deliveries, pruning) in every worker; the lease lets one work.
        jobs = (
            asyncio.create_task(
                run_forever(JobRunner(engines.write, settings, clock), settings.jobs_interval)
            )
            if settings.jobs_in_server
            else None
        )
        try:
            yield
        finally:
            if jobs is not None:
                jobs.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await jobs
            engines.dispose()
            process_stopping()

    app = ObservedApp(
        title="tthc-metrics",
        version="1.0.0",
        description=DESCRIPTION,
        lifespan=lifespan,
        # Served by install_docs, with their assets from this service rather than a CDN.
        docs_url=None,
        redoc_url=None,
        openapi_tags=[
            {"name": n}
            for n in (
                "dossiers",
                "integrations",
                "metrics",
                "reports",
                "index",
                "reference",
                "access",
                "webhooks",
                "health",
            )
        ],
    )
    state = AppState(
        settings=settings,
        clock=clock,
        alembic_head=head_revision(),
        response_cache=ObservedCache(settings.cache_bytes, settings.cache_max_body),
        heavy_slots=HeavySlots(settings.heavy_reads, settings.heavy_read_wait),
    )
    if engine is not None:
        # Available before the lifespan runs too, for tests that skip it.
        state.engines = Engines(write=engine, read=engine, probe=engine, owned=[])
    app.state.tthc = state
    if settings.cors_origin_list:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=settings.cors_origin_list,
            allow_methods=["GET"],
            allow_headers=["Authorization", "If-None-Match"],
            expose_headers=["ETag", "X-Request-ID"],
        )
    app.add_middleware(BodyLimitMiddleware)
    # Added last, so outermost: it also records the writes refused for their body.
    app.add_middleware(AuditMiddleware)
    # Outermost: HEAD as GET for everything inside, relative redirects and nosniff on every answer.
    app.add_middleware(HttpEdgesMiddleware)
    install_error_handlers(app)
    app.include_router(dossiers.router)
    app.include_router(metrics.router)
    app.include_router(reports.router)
    app.include_router(closings.router)
    app.include_router(dvcqg.router)
    app.include_router(reference.router)
    app.include_router(calendar.router)
    app.include_router(procedures.router)
    app.include_router(index.router)
    app.include_router(worklists.router)
    app.include_router(dvcqg.sectors_router)
    app.include_router(tokens.router)
    app.include_router(feed_quality.router)
    app.include_router(webhooks.router)
    webhooks.install_digest_webhook(app)
    app.include_router(health.router)
    app.include_router(monitoring.router)
    install_dashboard(app)
    install_docs(app)
    install_openapi(app, [DossierIn, DvcqgEnvelope, DvcqgRecord, ProcedureEntryIn, RuleSet, DeclaredIn])
    return app
