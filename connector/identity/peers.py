"""Outgoing calls to other connectors, each with a fresh signed token.

The client refuses to call anyone who is not on the verified trust list: a removed member is
unreachable from the next call on, and a list that does not verify stops all outgoing calls.
"""

from __future__ import annotations

from typing import Any

import httpx

from connector.errors import Forbidden
from connector.identity.assertions import Actor, make_assertion
from connector.identity.auth import IdentityContext
from connector.identity.schemas import Principal
from connector.identity.trustlist import Member, TrustListInvalid


class PeerClient:
    """Signed HTTP calls from this connector to a member, on behalf of a principal."""

    def __init__(self, ctx: IdentityContext, http: httpx.AsyncClient) -> None:
        self.ctx = ctx
        self.http = http

    def members(self) -> list[Member]:
        """Members of the verified trust list (Forbidden if it does not verify)."""
        try:
            return list(self.ctx.trust.current().space.members)
        except TrustListInvalid as exc:
            raise Forbidden(
                f"refusing to call other connectors: the trust list is not valid ({exc})",
                "trust_list_invalid",
            ) from exc

    def _token_for(self, member: Member, principal: Principal) -> str:
        try:
            me = self.ctx.own_member()
            trusted = self.ctx.trust.current().by_participant.get(member.participant_id)
        except TrustListInvalid as exc:
            raise Forbidden(f"the trust list is not valid: {exc}", "trust_list_invalid") from exc
        if trusted is None:
            raise Forbidden(
                f"'{member.participant_id}' is not a member of the dataspace",
                "receiver_not_member",
            )
        actor = Actor(sub=principal.subject, role=principal.role)
        return make_assertion(
            self.ctx.signer, me.participant_id, member.participant_id, actor, self.ctx.clock
        )

    async def request(
        self, method: str, member: Member, path: str, principal: Principal, **kwargs: Any
    ) -> httpx.Response:
        """One signed request to a member's connector. A GET whose pooled connection the
        member closed before answering (a keep-alive connection it timed out as the request
        left) is sent once more, on a new connection with a fresh token: it changes nothing
        at the member, and under load the race made witnessing report live members
        unreachable."""
        extra = kwargs.pop("headers", {})

        async def send() -> httpx.Response:
            headers = {"Authorization": f"Bearer {self._token_for(member, principal)}"} | extra
            return await self.http.request(
                method, member.connector_url + path, headers=headers, **kwargs
            )

        try:
            return await send()
        except httpx.RemoteProtocolError:
            if method.upper() != "GET":
                raise
        return await send()
