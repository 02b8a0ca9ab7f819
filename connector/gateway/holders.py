"""The Holder port: where the gateway runs one stage of a job, and how it waits for the result.

`RemoteHolder` is another member, reached over signed HTTP (`POST /compute/runs`, then long
polls); `LocalHolder` is the gateway's own organisation, whose data the stage uses in process
through the same admission (policy decision, budget, signature). The job runner drives both
with the same code: it sends a `RunRequest` and gets a `RunState` back, with the size of what
travelled.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from typing import Protocol

import httpx
from sqlalchemy import Engine
from starlette.concurrency import run_in_threadpool

from connector.compute import service as compute
from connector.compute import wire
from connector.compute.schemas import RunRequest, RunState
from connector.identity.peers import PeerClient
from connector.identity.schemas import Principal
from connector.identity.trustlist import Member
from connector.policies.service import PolicyRuntime
from connector.privacy.service import Caller

POLL_S = 0.25
LONG_POLL_S = 10.0  # a holder answers as soon as its run ends, or after this long
UNREACHABLE_S = 12.0  # a holder silent this long is given up
POST_ATTEMPTS = 3


class HolderFailed(Exception):
    """One holder produced no partial; the message says why (it goes into the job)."""


class Holder(Protocol):
    """Runs one stage and waits until it ends (or `timeout_s` passes)."""

    async def run(self, request: RunRequest, timeout_s: float) -> tuple[RunState, int]:
        """The run's final state and the bytes that travelled (the signed body's, in
        process)."""
        ...


def _detail(resp: httpx.Response) -> str:
    try:
        doc = resp.json()
    except ValueError:
        return resp.text[:300]
    return str(doc.get("detail") or doc.get("title") or doc)[:500]


@dataclass(frozen=True)
class RemoteHolder:
    """Another member's connector."""

    peers: PeerClient
    member: Member
    principal: Principal  # the researcher the gateway acts for

    async def run(self, request: RunRequest, timeout_s: float) -> tuple[RunState, int]:
        """Start (or find) the run at the member, then long-poll it until it ends; a run that
        outlives `timeout_s` is cancelled there."""
        body = request.model_dump(mode="json", exclude_none=True)
        for attempt in range(POST_ATTEMPTS):
            try:
                resp = await self.peers.request(
                    "POST", self.member, "/compute/runs", self.principal, json=body,
                    timeout=60, params={"wait": LONG_POLL_S},
                )  # fmt: skip
            except httpx.HTTPError:
                if attempt == POST_ATTEMPTS - 1:
                    raise
                await asyncio.sleep(0.5 * 2**attempt)
                continue
            if resp.status_code in (200, 202):
                break
            if resp.status_code >= 500 and attempt < POST_ATTEMPTS - 1:
                await asyncio.sleep(0.5 * 2**attempt)
                continue
            raise HolderFailed(
                f"{self.member.id} refused the run ({resp.status_code}): {_detail(resp)}"
            )
        state, size = RunState.model_validate_json(resp.content), len(resp.content)
        deadline = time.monotonic() + timeout_s
        silent_since: float | None = None
        path = f"/compute/runs/{request.run_id}"
        while state.state == "running":
            if time.monotonic() > deadline:
                await self._cancel(path)
                raise HolderFailed(f"no partial within {timeout_s:g} s (cancelled)")
            try:
                resp = await self.peers.request(
                    "GET", self.member, path, self.principal, timeout=LONG_POLL_S + 30,
                    params={"wait": LONG_POLL_S},
                )  # fmt: skip
            except httpx.HTTPError as exc:
                silent_since = silent_since or time.monotonic()
                if time.monotonic() - silent_since > UNREACHABLE_S:
                    raise HolderFailed(f"unreachable for {UNREACHABLE_S:g} s: {exc}") from exc
                await asyncio.sleep(POLL_S)
                continue
            silent_since = None
            if resp.status_code != 200:
                raise HolderFailed(f"{self.member.id} answered {resp.status_code}: {_detail(resp)}")
            state, size = RunState.model_validate_json(resp.content), len(resp.content)
        return state, size

    async def _cancel(self, path: str) -> None:
        try:
            await self.peers.request("DELETE", self.member, path, self.principal, timeout=10)
        except httpx.HTTPError:
            pass


@dataclass(frozen=True)
class LocalHolder:
    """The gateway's own organisation: the same admission and run, in process."""

    engine: Engine
    runtime: compute.ComputeRuntime
    policies: PolicyRuntime
    caller: Caller
    purpose: str  # no agreement with oneself: the policy decides with the job's purpose

    async def run(self, request: RunRequest, timeout_s: float) -> tuple[RunState, int]:
        """Admit and execute here, then wait for the run's final state."""
        run, admission = await run_in_threadpool(
            compute.admit, self.engine, self.runtime, self.policies, self.caller, request,
            self.purpose,
        )  # fmt: skip
        if admission is not None:
            await asyncio.get_running_loop().run_in_executor(
                None, compute.execute_admitted, self.engine, self.runtime, admission
            )
        deadline = time.monotonic() + timeout_s
        while True:
            run = await run_in_threadpool(
                compute.get_run, self.engine, request.run_id, self.caller.organisation
            )
            if run.state != "running" or time.monotonic() > deadline:
                state = compute.run_view(run)
                signed = state.result.body.model_dump(mode="json") if state.result else {}
                return state, len(wire.canonical(signed))
            await asyncio.sleep(0.02)
