"""The app factory. No import-time state: `app.state.connector` holds the one Connector."""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import gc
import logging
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
from fastapi import FastAPI
from fastapi_offline import FastAPIOffline
from sqlalchemy import Engine

from connector import __version__
from connector.audit import endpoints as audit_api
from connector.audit import recorder
from connector.audit import repository as audit_store
from connector.audit.runtime import keep_auditing, keep_sequencing
from connector.compute import endpoints as compute_api
from connector.compute.service import reap
from connector.contracts import dsp_endpoints as contract_dsp
from connector.contracts import endpoints as contracts_api
from connector.datasets import endpoints as datasets
from connector.datasets.service import sync_register
from connector.errors import GemelloError, install_problem_handlers
from connector.gateway import catalog_endpoints as federated_catalog
from connector.gateway import endpoints as federation
from connector.gateway import jobs_endpoints as jobs_api
from connector.gateway import ogc_endpoints as ogc_api
from connector.gateway.index import refresh as refresh_index
from connector.gateway.jobs import JobRunner
from connector.identity import endpoints as identity
from connector.identity.keys import Clock
from connector.identity.peers import PeerClient
from connector.identity.trustlist import TrustListInvalid
from connector.partnerdata.prepare import read_manifest
from connector.policies import endpoints as policies_api
from connector.privacy import endpoints as privacy_api
from connector.publishing import dsp_endpoints as dsp
from connector.publishing import endpoints as dcat
from connector.publishing.service import sync_catalog
from connector.runtime import Connector, build_connector
from connector.settings import Settings
from connector.storage import session_scope
from connector.storage.tables import utcnow
from connector.system import endpoints as system
from connector.system import running
from connector.system.recycling import RecycleConnections
from connector.web import pages as web_console

log = logging.getLogger("gemello.connector")

DESCRIPTION = """\
A partner connector of the Gemello data space for the Bologna city digital twin.

Every error is an RFC 9457 `application/problem+json` document.

**Authentication.** Local users send `Authorization: Bearer gmo_...` (an API token from
`gemello user add`). Other connectors send a short-lived Ed25519-signed JWT whose key is on the
dataspace trust list. Each endpoint lists the roles it accepts.
"""


async def keep_index_fresh(engine: Engine, peers: PeerClient, every_s: float) -> None:
    """Refresh the federated catalogue every `every_s` seconds (first after one interval)."""
    while True:
        await asyncio.sleep(every_s)
        try:
            reports = await refresh_index(engine, peers)
            log.info("federated catalogue refreshed: %s", {r.partner: r.status for r in reports})
        except GemelloError as exc:  # e.g. the trust list does not verify right now
            log.warning("federated catalogue not refreshed: %s", exc.detail)


def claim_background(settings: Settings) -> int | bool:
    """Whether this process runs the background work. With one server process, always; with
    several (`serve_workers`), the one that takes the data dir's background lock (the lock's
    file descriptor is returned and held until shutdown)."""
    if settings.serve_workers <= 1:
        return True
    fd = os.open(settings.resolved_data_dir / "background.lock", os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        log.info("%s: another server process runs the background work", settings.partner)
        return False
    return fd


def register(connector: Connector) -> None:
    """Register the data dir's tables and publish their catalogue entries (start-up)."""
    settings, engine, catalog = connector.settings, connector.engine, connector.catalog
    entries = read_manifest(settings.resolved_data_dir)
    if not entries:
        log.warning(
            "%s: no tables in %s; run `gemello init`", settings.partner, settings.resolved_data_dir
        )
    with session_scope(engine, write=True) as session:
        report = sync_register(session, entries)
    with session_scope(engine, write=True) as session:
        published = sync_catalog(
            session,
            entries,
            settings.resolved_data_dir,
            catalog.publisher(),
            settings.partner,
            catalog.validator,
        )
    log.info("%s: datasets %s; catalogue %s", settings.partner, report, published)


def background_tasks(
    connector: Connector, peers: PeerClient, jobs: JobRunner
) -> list[asyncio.Task[None]]:
    """What the process that runs the background work starts: the contracts worker, resumed
    jobs, the audit sequencer, checkpoints and witnessing, the catalogue crawler."""
    settings, engine = connector.settings, connector.engine
    tasks = [asyncio.create_task(connector.contracts.run())]
    jobs.resume_all()
    audit_store.integrate_all(engine)  # events queued by a process that stopped, first
    tasks.append(asyncio.create_task(keep_sequencing(engine, settings.audit_sequence_seconds)))
    if settings.audit_checkpoint_seconds or settings.audit_witness_seconds:
        tasks.append(
            asyncio.create_task(
                keep_auditing(
                    connector.audit,
                    peers,
                    settings.audit_checkpoint_seconds,
                    settings.audit_witness_seconds,
                )
            )
        )
    if settings.catalog_refresh_seconds > 0:
        tasks.append(
            asyncio.create_task(keep_index_fresh(engine, peers, settings.catalog_refresh_seconds))
        )
    return tasks


def served_app() -> FastAPI:
    """The app of one `connector serve --workers N` process (uvicorn imports this factory);
    the parent passes the partner and home in GEMELLO_SERVE_PARTNER / GEMELLO_HOME."""
    from connector.settings import load_settings

    settings = load_settings(os.environ["GEMELLO_SERVE_PARTNER"])
    return create_app(settings, freeze_heap=True, serving=True)


def create_app(
    settings: Settings, clock: Clock = utcnow, freeze_heap: bool = False, serving: bool = False
) -> FastAPI:
    """Build one connector's app. Start-up migrates the database and registers the datasets.

    `clock` is injectable so tests can move time (token expiry, key retirement). `freeze_heap`
    (for a server process, not for tests that build many apps) moves everything alive after
    start-up out of the garbage collector's reach: the loaded shapes, graphs and modules made
    every full collection a ~170 ms pause that hit one request in twelve (docs/benchmarks.md).
    `serving` (a `connector serve` process) records the process and its database in the data
    dir while it runs, so the CLI can refuse to work on another database (system.running).
    """

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        # Background work started here (worker, job runner, reaper) is the connector's act.
        recorder.current.set(recorder.connector_actor(settings.partner, settings.partner))
        connector = build_connector(settings, clock)
        engine, ctx = connector.engine, connector.identity
        if serving:
            running.mark(settings)
        try:
            me = ctx.own_member()
            recorder.current.set(recorder.connector_actor(settings.partner, me.participant_id))
        except TrustListInvalid as exc:
            # Not fatal: /ready says so, and the connector follows the file once it is fixed.
            log.warning("%s: trust list not usable (%s); run `gemello init`", settings.partner, exc)
        register(connector)
        failed = reap(engine)
        if failed:
            log.warning(
                "%s: %d model run(s) left by a stopped process marked failed",
                settings.partner,
                failed,
            )
        if freeze_heap:
            gc.collect()
            gc.freeze()
        background = claim_background(settings)
        async with httpx.AsyncClient() as http:
            peers = PeerClient(ctx, http)
            connector.contracts.peers = peers
            jobs = JobRunner(
                engine,
                peers,
                connector.contracts,
                connector.compute,
                settings.job_holder_timeout_seconds,
            )
            app.state.connector = connector.serving(peers, jobs)
            tasks = background_tasks(connector, peers, jobs) if background else []
            try:
                yield
            finally:
                await jobs.stop()
                for task in tasks:
                    task.cancel()
                    with contextlib.suppress(asyncio.CancelledError):
                        await task
                engine.dispose()
                if serving:
                    running.unmark(settings)
                if not isinstance(background, bool):
                    os.close(background)  # the background lock goes with the process's work

    recorder.install()
    app = FastAPIOffline(
        title=f"Gemello connector — {settings.legal_name or settings.partner}",
        version=__version__,
        description=DESCRIPTION,
        lifespan=lifespan,
    )
    install_problem_handlers(app)
    if settings.serve_workers > 1 and settings.serve_requests_per_connection:
        app.add_middleware(RecycleConnections, every=settings.serve_requests_per_connection)
    # Starlette tries routes in order and FastAPI's matching costs ~15 µs a route: the data
    # plane other members call all the time (DP queries, DSP) goes first, admin pages last.
    for router in (
        privacy_api.queries,
        compute_api.runs,
        audit_api.proofs,
        contract_dsp.negotiations,
        contract_dsp.transfers,
        contract_dsp.callbacks,
        contract_dsp.data,
        dsp.version_router,
        dsp.router,
        system.router,
        identity.keys_router,
        identity.identity_router,
        identity.admin_router,
        datasets.router,
        datasets.steward_router,
        dcat.router,
        dcat.steward_router,
        federation.router,
        federated_catalog.router,
        federated_catalog.refresh_router,
        policies_api.router,
        policies_api.steward_router,
        policies_api.audit_router,
        contracts_api.router,
        contracts_api.consumer_router,
        contracts_api.steward_router,
        contracts_api.shares_router,
        contracts_api.publications_router,
        federation.shares_router,
        privacy_api.ledger,
        privacy_api.steward_ledger,
        compute_api.catalogue,
        compute_api.ledger,
        jobs_api.router,
        ogc_api.docs,
        ogc_api.jobs,
        audit_api.auditors,
        audit_api.witnesses,
        audit_api.members,
    ):
        app.include_router(router)
    web_console.mount(app)  # /console: the same services, as pages
    return app
