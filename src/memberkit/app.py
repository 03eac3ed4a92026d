"""The web application: REST API under /api/v1, its docs at /docs, static files at /static."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from anyio import to_thread
from fastapi import FastAPI
from sqlalchemy import text

from memberkit import background, demo
from memberkit.admin import jobs as admin_jobs
from memberkit.admin import views as admin_views
from memberkit.analytics import views as analytics_views
from memberkit.analytics.endpoints import member_router as member_rfm_router
from memberkit.analytics.endpoints import router as rfm_router
from memberkit.api import docs, problems
from memberkit.auth import views as apikey_views
from memberkit.auth.endpoints import router as apikey_router
from memberkit.benefit import views as benefit_views
from memberkit.benefit.endpoints import router as benefit_router
from memberkit.config import settings
from memberkit.coupon import views as coupon_views
from memberkit.coupon.endpoints import router as coupon_router
from memberkit.db import get_database
from memberkit.faces import assets, web
from memberkit.faces.headers import SecurityHeaders
from memberkit.forecast import views as forecast_views
from memberkit.forecast.endpoints import member_router as member_forecast_router
from memberkit.forecast.endpoints import router as forecast_router
from memberkit.growth.endpoints import router as growth_router
from memberkit.ledger import views as ledger_views
from memberkit.ledger.endpoints import liability_router
from memberkit.ledger.endpoints import program_router as program_points_router
from memberkit.ledger.endpoints import router as points_router
from memberkit.member import views as member_views
from memberkit.member.endpoints import router as member_router
from memberkit.order import views as order_views
from memberkit.order.endpoints import router as order_router
from memberkit.pos import benefits as pos_benefits
from memberkit.pos import views as pos_views
from memberkit.pos import wallet as pos_wallet
from memberkit.program import service as program_service
from memberkit.program import views as program_views
from memberkit.program.endpoints import router as program_router
from memberkit.program.endpoints import settings_router
from memberkit.report import views as report_views
from memberkit.report.endpoints import router as report_router
from memberkit.reward import views as reward_views
from memberkit.reward.endpoints import router as reward_router
from memberkit.segment import views as segment_views
from memberkit.segment.endpoints import router as segment_router
from memberkit.staff import views as staff_views
from memberkit.store import views as store_views
from memberkit.store.endpoints import router as store_router
from memberkit.tier import views as tier_views
from memberkit.tier.endpoints import router as tier_router
from memberkit.wallet import views as wallet_views
from memberkit.wallet.endpoints import router as wallet_router
from memberkit.webhook import views as webhook_views
from memberkit.webhook.endpoints import router as webhook_router


def create_app(*, scheduler: bool | None = None, outbox_worker: bool | None = None) -> FastAPI:
    """Build the application; the background services run inside unless disabled.

    ``scheduler`` and ``outbox_worker`` turn the background services (:mod:`memberkit.background`:
    the daily scheduler, the outbox worker) on or off; by default ``settings`` decide.
    """

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        # Requests run in this many threads; the database pool holds as many connections.
        to_thread.current_default_thread_limiter().total_tokens = settings.threads
        database = get_database()
        with database.session_scope() as session:
            program_service.ensure_default(session)
        with background.running(database, scheduler=scheduler, outbox_worker=outbox_worker):
            yield

    app = FastAPI(
        title="Memberkit API",
        version="1",
        description="Membership and loyalty (会员管理系统): members, stores, points, orders, "
        "refunds. "
        "Authenticate with `Authorization: Bearer <key>` (create one with `memberkit apikey "
        "create`). Money is a decimal string with two places, points are integers, times are "
        "ISO 8601 with offset. Errors are RFC 9457 problem+json with a stable `code`.",
        lifespan=lifespan,
        # Swagger UI from our own files (api/docs.py); FastAPI's pages load it from a CDN.
        docs_url=None,
        redoc_url=None,
    )
    problems.install(app)
    web.install(app)  # after problems: it wraps their handler for pages
    app.add_middleware(problems.RefuseNulInUrls)
    app.add_middleware(problems.LimitBodySize)
    app.add_middleware(SecurityHeaders)  # outermost: refusals get the headers too
    assets.mount(app)
    app.include_router(docs.router)
    app.include_router(staff_views.router)
    app.include_router(admin_views.router)
    app.include_router(tier_views.router)
    app.include_router(wallet_views.router)
    app.include_router(pos_wallet.pos_router)
    app.include_router(benefit_views.router)
    app.include_router(pos_benefits.pos_router)
    app.include_router(coupon_views.router)
    app.include_router(segment_views.router)
    app.include_router(ledger_views.router)
    app.include_router(forecast_views.router)
    app.include_router(analytics_views.router)
    app.include_router(order_views.router)
    app.include_router(member_views.router)
    app.include_router(reward_views.router)
    app.include_router(pos_views.router)
    app.include_router(tier_views.thresholds_router)
    app.include_router(program_views.router)
    app.include_router(admin_jobs.router)
    app.include_router(store_views.router)
    app.include_router(apikey_views.router)
    app.include_router(webhook_views.router)
    app.include_router(report_views.router)

    @app.get("/health", tags=["health"])
    def health() -> dict[str, object]:
        """Tell whether the service and its database answer (no key needed).

        While ``memberkit serve --demo-if-empty`` loads the demo, ``demo`` tells how far it
        is: ``{"state": "loading", "stage": "orders", "done": 1200, "total": 60000,
        "percent": 2}``, then ``loaded`` (or ``interrupted``).
        """
        with get_database().read_engine.connect() as connection:
            connection.execute(text("SELECT 1"))
        found: dict[str, object] = {"status": "ok", "database": "ok"}
        loading = demo.status()
        if loading is not None:
            found["demo"] = loading
        return found

    for router in (
        program_router,
        settings_router,
        store_router,
        member_router,
        segment_router,
        order_router,
        points_router,
        program_points_router,
        liability_router,
        report_router,
        rfm_router,
        member_rfm_router,
        tier_router,
        growth_router,
        wallet_router,
        benefit_router,
        reward_router,
        coupon_router,
        apikey_router,
        webhook_router,
        forecast_router,
        member_forecast_router,
    ):
        app.include_router(router, responses=problems.RESPONSES)
    return app


def create_worker_app() -> FastAPI:
    """Build the app of one of ``memberkit serve --workers N``'s processes: no background services.

    The serving parent runs them once for all workers (see :mod:`memberkit.background`).
    """
    return create_app(scheduler=False, outbox_worker=False)
