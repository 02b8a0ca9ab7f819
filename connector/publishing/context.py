"""What the catalogue endpoints need from the running connector: who publishes, and the shapes."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

from fastapi import Request

from catalog import CatalogValidator
from catalog.model import Publisher
from connector.identity.auth import IdentityContext
from connector.identity.trustlist import TrustListInvalid
from connector.settings import Settings


@dataclass
class CatalogContext:
    """One per app: the SHACL validator (shapes parsed once) and the publisher's identity."""

    settings: Settings
    identity: IdentityContext

    @classmethod
    def create(cls, settings: Settings, identity: IdentityContext) -> CatalogContext:
        """The context; its shapes are parsed on first use (a command that publishes nothing
        never pays for them)."""
        return cls(settings, identity)

    @cached_property
    def validator(self) -> CatalogValidator:
        """Gemello's shapes, plus the official DCAT-AP ones when present, parsed once."""
        return CatalogValidator(self.settings.official_shapes)

    @classmethod
    def offline(cls, settings: Settings) -> CatalogContext:
        """For tools that prepare a partner's data before it is a running connector (the
        harvester): the shapes, and the publisher as the trust list names it, if it does."""
        from connector.storage import make_engine
        from connector.storage.tables import utcnow

        engine = make_engine(settings.db_url)
        try:
            return cls.create(settings, IdentityContext.create(settings, engine, utcnow))
        finally:
            engine.dispose()  # only the trust list and keys are read from here on

    def publisher(self) -> Publisher:
        """This connector as a publisher."""
        return publisher_for(self.settings, self.identity)


def publisher_for(settings: Settings, identity: IdentityContext) -> Publisher:
    """A connector as a publisher: ids and URL from the trust list when it verifies."""
    try:
        member = identity.own_member()
        pid, url = member.participant_id, member.connector_url
    except TrustListInvalid:
        pid, url = (
            f"urn:gemello:local:{settings.partner}",
            f"http://{settings.host}:{settings.port}",
        )
    return Publisher(
        participant_id=pid, name=settings.legal_name or settings.partner, connector_url=url
    )


def catalog_context(request: Request) -> CatalogContext:
    """The app's catalogue context."""
    ctx: CatalogContext = request.app.state.connector.catalog
    return ctx
