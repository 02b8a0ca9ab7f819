"""The composition root: one typed, frozen `Connector` built from settings and a clock.

It holds every runtime piece of one partner's connector — the database, the policy engine,
identity, the catalogue, and each vertical's runtime — wired once, the same way for the app
factory, the command line, the benchmarks and the tests. The app keeps exactly this object in
`app.state.connector`; endpoints take their pieces through the typed dependencies below. What
lives only while a server runs (the HTTP client to other members, the job runner) is added by
the app with `Connector.serving`.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from functools import cached_property
from typing import TYPE_CHECKING, Annotated

from fastapi import Depends, Request
from sqlalchemy import Engine

from connector.audit import recorder
from connector.audit.runtime import AuditRuntime
from connector.contracts.worker import ContractsRuntime
from connector.identity.auth import IdentityContext
from connector.identity.keys import Clock, KeyRing
from connector.identity.peers import PeerClient
from connector.policies.service import PolicyRuntime
from connector.publishing.context import CatalogContext
from connector.settings import ConfigError, Settings
from connector.storage import open_database
from connector.storage.tables import utcnow
from policy import PolicyDecisionPoint, make_pdp

if TYPE_CHECKING:  # built on first use: a command that needs neither skips numba and sklearn
    from connector.compute.service import ComputeRuntime
    from connector.gateway.jobs import JobRunner
    from connector.privacy.service import PrivacyRuntime

LAZY = ("privacy", "compute")  # the pieces built on first use, kept by `serving`


@dataclass(frozen=True)
class Connector:
    """Everything one connector runs on; built by `build_connector`, never by hand."""

    settings: Settings
    clock: Clock
    engine: Engine
    pdp: PolicyDecisionPoint
    identity: IdentityContext
    catalog: CatalogContext
    policies: PolicyRuntime
    contracts: ContractsRuntime
    audit: AuditRuntime
    peers: PeerClient | None = None  # while serving: signed calls to the other members
    jobs: JobRunner | None = None  # while serving: the federated jobs it drives

    @cached_property
    def privacy(self) -> PrivacyRuntime:
        """The DP query engine and ledger settings (loads diffprivlib on first use)."""
        from connector.privacy.service import PrivacyRuntime

        return PrivacyRuntime.from_settings(self.settings)

    @cached_property
    def compute(self) -> ComputeRuntime:
        """The holder's model runner (loads the models and numba on first use)."""
        from connector.compute.service import ComputeRuntime

        return ComputeRuntime.from_settings(
            self.settings, self.identity.signer, self.settings.partner
        )

    def peer_client(self) -> PeerClient:
        """The signed client for calls to the other members (it exists while serving)."""
        if self.peers is None:
            raise RuntimeError("the connector calls its peers only while it serves")
        return self.peers

    def serving(self, peers: PeerClient, jobs: JobRunner) -> Connector:
        """The same connector with its server-lifetime pieces (and the lazy pieces already
        built, so there is one of each)."""
        new = replace(self, peers=peers, jobs=jobs)
        for name in LAZY:
            if name in self.__dict__:
                new.__dict__[name] = self.__dict__[name]
        return new


def build_connector(settings: Settings, clock: Clock = utcnow) -> Connector:
    """Open (and migrate) the database and wire every piece from the settings. A data dir
    without the partner's key is refused: it is not this connector's (ConfigError); a database
    that cannot be opened raises DatabaseUnreachable."""
    if not KeyRing.exists(settings.resolved_data_dir):
        raise ConfigError(
            f"{settings.resolved_data_dir} holds no signing key of {settings.partner}: "
            f"run `gemello init --partner {settings.partner}` (is data_dir right?)"
        )
    engine = open_database(settings.db_url)
    try:
        pdp = make_pdp(settings.pdp_backend, **settings.pdp_options())
        identity = IdentityContext.create(settings, engine, clock, audit=recorder.LogSink())
        catalog = CatalogContext.create(settings, identity)
        policies = PolicyRuntime(pdp, catalog.publisher)
        return Connector(
            settings=settings,
            clock=clock,
            engine=engine,
            pdp=pdp,
            identity=identity,
            catalog=catalog,
            policies=policies,
            contracts=ContractsRuntime(engine, identity, policies),
            audit=AuditRuntime(engine, identity),
        )
    except BaseException:
        engine.dispose()
        raise


@contextmanager
def connector_for(settings: Settings, clock: Clock = utcnow) -> Iterator[Connector]:
    """A connector for a command-line tool or a test working on a partner's database and keys
    (a running server, if any, delivers what it queues); its engine is closed on the way out."""
    recorder.install()
    connector = build_connector(settings, clock)
    try:
        yield connector
    finally:
        connector.engine.dispose()


def get_connector(request: Request) -> Connector:
    """The connector serving this request."""
    connector: Connector = request.app.state.connector
    return connector


ConnectorDep = Annotated[Connector, Depends(get_connector)]
