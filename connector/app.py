"""The app factory. No import-time state: everything hangs off `app.state`, built from Settings."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi_offline import FastAPIOffline

from connector import __version__
from connector.datasets import endpoints as datasets
from connector.datasets.service import sync_register
from connector.errors import install_problem_handlers
from connector.partnerdata.prepare import read_manifest
from connector.settings import Settings
from connector.storage import make_engine, session_scope, upgrade
from connector.system import endpoints as system
from policy import make_pdp

log = logging.getLogger("gemello.connector")

DESCRIPTION = """\
A partner connector of the Gemello data space for the Bologna city digital twin.

Every error is an RFC 9457 `application/problem+json` document.
"""


def create_app(settings: Settings) -> FastAPI:
    """Build one connector's app. Start-up migrates the database and registers the datasets."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        engine = make_engine(settings.db_url)
        upgrade(engine)
        app.state.engine = engine
        app.state.pdp = make_pdp(settings.pdp_backend)
        entries = read_manifest(settings.resolved_data_dir)
        if not entries:
            log.warning(
                "%s: no tables in %s; run `gemello init`",
                settings.partner,
                settings.resolved_data_dir,
            )
        with session_scope(engine) as session:
            report = sync_register(session, entries)
        log.info("%s: datasets %s", settings.partner, report)
        try:
            yield
        finally:
            engine.dispose()

    app = FastAPIOffline(
        title=f"Gemello connector — {settings.legal_name or settings.partner}",
        version=__version__,
        description=DESCRIPTION,
        lifespan=lifespan,
    )
    app.state.settings = settings
    install_problem_handlers(app)
    app.include_router(system.router)
    app.include_router(datasets.router)
    return app
