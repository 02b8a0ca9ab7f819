"""Federated jobs: the gateway sends a model's stages to the data holders and combines them.

For each stage of the model, in order:

1. the federated catalogue says which members hold one of the stage's datasets;
2. for each holder and dataset, a live agreement for the job's purpose is reused, or one is
   negotiated over DSP (the gateway's own datasets need none: its policy decides in-process);
3. every holder gets the stage at once (`POST /compute/runs`, run id derived from the job, so a
   retry or a resumed gateway never starts a second run), and is polled until its signed
   partial is ready, it fails, or it stays unreachable;
4. each partial's Ed25519 signature is checked against the holder's key on the trust list;
5. the k-of-n rule: with at least k partials the stage is combined (marked partial when a
   holder is missing, with its reason); with fewer the job fails and says why.

The job row is saved after every step, so a restarted gateway resumes where it stopped.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import uuid
from dataclasses import dataclass
from typing import Any

import httpx
from sqlalchemy import Engine
from starlette.concurrency import run_in_threadpool

from connector.compute import service as compute
from connector.compute import wire
from connector.compute.schemas import PartialBody, RunRequest, RunState
from connector.contracts import consumer
from connector.errors import Conflict, GemelloError, NotFound
from connector.gateway import provenance
from connector.gateway.holders import POLL_S, Holder, HolderFailed, LocalHolder, RemoteHolder
from connector.gateway.index import refresh as refresh_index
from connector.gateway.index_repository import IndexRepository
from connector.gateway.repository import JobRepository, ShareRepository
from connector.identity.keys import SignatureInvalid, detached_kid, verify_detached
from connector.identity.peers import PeerClient
from connector.identity.schemas import Principal, Role
from connector.identity.trustlist import Member
from connector.privacy.service import Caller
from connector.storage import Session, session_scope
from connector.storage.tables import FederatedJob, utcnow
from connector.timestamps import as_utc
from models import Model, Partial, get

log = logging.getLogger("gemello.jobs")


# A holder's states while its part of a stage is under way.
BUSY = ("pending", "negotiating", "running")
# What a running job changes (the rest is fixed when it is created).
PERSISTED = ("state", "stage", "context", "holders", "result", "provenance", "error", "finished_at")


@dataclass
class Outcome:
    """One holder's part of a stage."""

    partner: str
    partial: Partial | None
    entry: dict[str, Any]


class JobRunner:
    """Drives federated jobs as asyncio tasks of the connector's event loop."""

    def __init__(
        self,
        engine: Engine,
        peers: PeerClient,
        contracts: Any,
        compute_rt: compute.ComputeRuntime,
        holder_timeout_s: float,
    ) -> None:
        self.engine = engine
        self.peers = peers
        self.contracts = contracts
        self.compute = compute_rt
        self.holder_timeout_s = holder_timeout_s
        self.tasks: dict[str, asyncio.Task[None]] = {}
        self._locks: dict[str, asyncio.Lock] = {}
        self._pending: dict[str, set[asyncio.Task[None]]] = {}  # progress writes under way
        # fields of a progress write that waits for the lock (it stores their latest values)
        self._queued: dict[str, set[str]] = {}

    # --- lifecycle -----------------------------------------------------------------------------

    def create(
        self,
        model: Model,
        params: dict[str, Any],
        purpose: str,
        epsilon: float,
        principal: Principal,
    ) -> FederatedJob:
        """Store a new job (the scenario already validated); `start` then drives it."""
        job = FederatedJob(
            id=f"job-{uuid.uuid4()}",
            model=model.name,
            model_hash=model.hash,
            params=params,
            purpose=purpose,
            epsilon=epsilon,
            requested_by=principal.subject,
            requested_role=principal.role.value,
            state="running",
        )
        with session_scope(self.engine, write=True) as session:
            JobRepository(session).add(job)
            session.flush()
            session.expunge(job)
        return job

    def start(self, job_id: str) -> None:
        """Drive a job in the background (once); call on the event loop."""
        if job_id in self.tasks and not self.tasks[job_id].done():
            return
        self.tasks[job_id] = asyncio.create_task(self.drive(job_id), name=job_id)

    def resume_all(self) -> list[str]:
        """Start every job a previous process left running."""
        with session_scope(self.engine) as session:
            ids = [j.id for j in JobRepository(session).unfinished()]
        for job_id in ids:
            log.info("resuming job %s", job_id)
            self.start(job_id)
        return ids

    async def stop(self) -> None:
        """Cancel the tasks (the jobs stay `running` in the database, to be resumed)."""
        for task in self.tasks.values():
            task.cancel()
        for task in self.tasks.values():
            try:
                await task
            except (asyncio.CancelledError, Exception):
                pass

    async def dismiss(self, job_id: str, principal: Principal) -> FederatedJob:
        """Dismiss one of the caller's jobs. A running job is stopped everywhere: its task
        here, and its runs at every holder (each gives its held ε back). A finished job's
        stored outputs are erased, unless it was shared (the recipients read them). Either
        way it ends `dismissed`; its audit entries and provenance stay."""
        with session_scope(self.engine) as session:
            job = my_job(session, job_id, principal)
            if job.state != "running" and job.state != "dismissed":
                shared = ShareRepository(session).of_job(job_id)
                if shared:
                    raise Conflict(
                        f"job {job_id} is shared ({len(shared)} share(s)); its results stay for "
                        "the recipients and it cannot be dismissed"
                    )
            session.expunge(job)
        if job.state == "dismissed":
            return job
        running = job.state == "running"
        task = self.tasks.get(job_id)
        if task is not None and not task.done():
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        if running:
            job = self._load(job_id)  # the holders as the task left them
            busy = [h for h in job.holders if h.get("state") in BUSY]
            await asyncio.gather(*(self._cancel_run(job, h) for h in busy))
        changes: dict[str, Any] = {"state": "dismissed", "finished_at": job.finished_at or utcnow()}
        if running:  # the resume point goes: nothing is to be resumed
            changes |= {"error": "dismissed by the requester while running", "context": {}}
        else:  # the released figures the requester no longer wants
            changes["result"] = None
        await asyncio.to_thread(self._write, job_id, changes, True)
        return self._load(job_id)

    async def _cancel_run(self, job: FederatedJob, entry: dict[str, Any]) -> None:
        """Stop one holder's run of a dismissed job (an unreachable holder ends it by its own
        timeout)."""
        trust = self.contracts.trust()
        member = trust.by_handle.get(str(entry.get("partner")))
        if member is None:
            return
        path = f"/compute/runs/{entry['run_id']}"
        if member.participant_id == self.peers.ctx.own_member().participant_id:
            own = self.peers.ctx.own_member().participant_id
            with contextlib.suppress(GemelloError):
                await run_in_threadpool(
                    compute.cancel, self.engine, self.compute, entry["run_id"], own
                )
            return
        with contextlib.suppress(httpx.HTTPError):
            await self.peers.request("DELETE", member, path, self._principal(job), timeout=10)

    # --- the job -------------------------------------------------------------------------------

    def _load(self, job_id: str) -> FederatedJob:
        with session_scope(self.engine) as session:
            job = JobRepository(session).get(job_id)
            if job is None:
                raise NotFound(f"no job '{job_id}'")
            session.expunge(job)
        return job

    async def _save(self, job: FederatedJob, *, progress: bool = False, **changes: Any) -> None:
        """Change the job in memory at once, and in the database from a worker thread: a
        write on the event loop could wait for a lock held by a request whose transaction
        only the loop can close (FastAPI ends yield-dependencies there) — a deadlock. Writes
        of one job are serialised and each stores the latest value of the fields it changed:
        a holder's progress does not rewrite the context or the result, which can be
        megabytes. A `progress` write (a holder's state) is not waited for, so it does not
        delay the job; every other write first waits for those and stores the holders too, so
        a stage's context or the result is never stored ahead of the holder states it rests
        on."""
        for key, value in changes.items():
            setattr(job, key, value)
        keys = tuple(k for k in PERSISTED if k in changes)
        pending = self._pending.setdefault(job.id, set())
        if progress:
            # One progress write waiting for the lock is enough: it stores the fields' values
            # of when it runs. Without this, a stage at 16 members queued ~50 writes of the
            # whole holder list, one after another (a write per holder change: quadratic).
            queued = self._queued.get(job.id)
            if queued is not None:
                queued.update(keys)
                return
            self._queued[job.id] = set(keys)
            task = asyncio.create_task(self._persist(job, (), queued=True))
            pending.add(task)
            task.add_done_callback(pending.discard)
            return
        for failed in await asyncio.gather(*pending, return_exceptions=True):
            if isinstance(failed, Exception):  # rewritten just below: holders go with every write
                log.warning("job %s: a progress write failed: %s", job.id, failed)
        await self._persist(job, tuple(dict.fromkeys((*keys, "holders"))))

    async def _persist(
        self, job: FederatedJob, keys: tuple[str, ...], queued: bool = False
    ) -> None:
        lock = self._locks.setdefault(job.id, asyncio.Lock())
        async with lock:
            if queued:  # later progress changes now need a write of their own
                keys = (*keys, *sorted(self._queued.pop(job.id, set())))
            state = {k: getattr(job, k) for k in keys}
            await asyncio.to_thread(self._write, job.id, state)

    def _write(self, job_id: str, state: dict[str, Any], dismissing: bool = False) -> None:
        with session_scope(self.engine, write=True) as session:
            repo = JobRepository(session)
            row = repo.get(job_id)
            if row is None or (row.state == "dismissed" and not dismissing):
                return  # a dismissed job stays so, whichever process still drives it
            for key, value in state.items():
                setattr(row, key, value)
            row.updated_at = utcnow()
            repo.save(row)

    async def drive(self, job_id: str) -> None:
        """Run the job's remaining stages, then finish it (never raises)."""
        job = self._load(job_id)
        try:
            model = get(job.model)
            if model.hash != job.model_hash:
                raise HolderFailed(
                    f"the installed {job.model} changed since the job started ({job.model_hash})"
                )
            params = model.parse(job.params)
            ctx: dict[str, Any] = wire.decode_value(job.context) if job.context else {}
            encoded: dict[str, Any] = job.context or {}  # ctx as it is sent and stored
            for index in range(job.stage, len(model.stages)):
                stage = model.stages[index]
                outcomes = await self._stage(job, model, index, encoded)
                partials = [o.partial for o in outcomes if o.partial is not None]
                if len(partials) < stage.min_holders:
                    reasons = "; ".join(
                        f"{o.partner}: {o.entry.get('error', '?')}"
                        for o in outcomes
                        if o.partial is None
                    )
                    raise HolderFailed(
                        f"stage {stage.name}: {len(partials)} of {len(outcomes)} holder(s) "
                        f"answered, the model needs {stage.min_holders}"
                        + (f" ({reasons})" if reasons else "")
                    )
                ctx = await run_in_threadpool(stage.combine, partials, params, ctx)
                encoded = await run_in_threadpool(wire.encode_value, ctx)  # once a stage
                if index + 1 < len(model.stages):  # the last one's is stored as the result
                    await self._save(job, stage=index + 1, context=encoded)
            missing = [h for h in job.holders if h.get("state") != "succeeded"]
            result = {
                "summary": wire.encode_value(model.summary(ctx)),
                "outputs": encoded,
            }
            state = "partial" if missing else "succeeded"
            finished = utcnow()
            prov = provenance.for_job(job, model, self.peers.ctx.own_member(), finished)
            await self._save(
                job,
                state=state,
                stage=len(model.stages),
                context={},  # the resume point is no longer needed; the outputs are the result
                result=result,
                provenance=prov,
                finished_at=finished,
                error="; ".join(f"{h['partner']}: {h.get('error', '')}" for h in missing),
            )
            log.info("job %s %s", job.id, state)
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # the job records why; nothing is left running
            reason = exc.detail if isinstance(exc, GemelloError) else str(exc)
            log.warning("job %s failed: %s", job.id, reason)
            await self._save(job, state="failed", error=reason[:4000], finished_at=utcnow())
        finally:  # the job's writes are done (a final write waits for the progress ones)
            if not self._pending.get(job.id):
                self._pending.pop(job.id, None)
                self._queued.pop(job.id, None)
                self._locks.pop(job.id, None)

    def _principal(self, job: FederatedJob) -> Principal:
        me = self.peers.ctx.own_member()
        return Principal(
            kind="user",
            organisation=me.participant_id,
            partner=me.id,
            subject=job.requested_by,
            role=Role(job.requested_role),
            credential=f"job:{job.id}",
        )

    async def _holders(self, datasets: tuple[str, ...]) -> dict[str, dict[str, str]]:
        """member handle -> {dataset id: dataset IRI} for the members holding these datasets."""

        def read() -> dict[str, dict[str, str]]:
            with session_scope(self.engine) as session:
                entries = IndexRepository(session).holders_of(datasets)
                out: dict[str, dict[str, str]] = {}
                for e in entries:
                    out.setdefault(e.partner, {})[e.dataset_id] = e.dataset_iri
                return out

        found = await run_in_threadpool(read)
        if not found:  # an empty index (a fresh gateway): crawl once
            await refresh_index(self.engine, self.peers)
            found = await run_in_threadpool(read)
        return found

    async def _stage(
        self, job: FederatedJob, model: Model, index: int, encoded_ctx: dict[str, Any]
    ) -> list[Outcome]:
        stage = model.stages[index]
        holders = await self._holders(stage.datasets)
        if not holders:
            raise HolderFailed(
                f"stage {stage.name}: no member lists any of {', '.join(stage.datasets)}"
            )
        trust = self.contracts.trust()
        entries = [h for h in job.holders if h.get("stage") != stage.name]
        for partner, datasets in sorted(holders.items()):
            entries.append(
                {
                    "stage": stage.name,
                    "partner": partner,
                    "run_id": f"{job.id}:{stage.name}:{partner}",
                    "datasets": datasets,
                    "state": "pending",
                }
            )
        await self._save(job, progress=True, holders=entries)
        tasks = [
            self._at_holder(
                job, model, stage.name, trust.by_handle.get(partner), partner, encoded_ctx
            )
            for partner in sorted(holders)
        ]
        return list(await asyncio.gather(*tasks))

    async def _update(
        self, job: FederatedJob, stage: str, partner: str, **changes: Any
    ) -> dict[str, Any]:
        holders = [dict(h) for h in job.holders]
        entry: dict[str, Any] = {}
        for h in holders:
            if h.get("stage") == stage and h.get("partner") == partner:
                h.update(changes)
                entry = h
        await self._save(job, progress=True, holders=holders)
        return entry

    async def _at_holder(
        self,
        job: FederatedJob,
        model: Model,
        stage: str,
        member: Member | None,
        partner: str,
        context: dict[str, Any],
    ) -> Outcome:
        try:
            if member is None:
                raise HolderFailed(f"'{partner}' is no longer a member of the dataspace")
            me = self.peers.ctx.own_member()
            own = member.participant_id == me.participant_id
            entry = next(h for h in job.holders if h["stage"] == stage and h["partner"] == partner)
            agreements: dict[str, str] = {}
            if not own:
                await self._update(job, stage, partner, state="negotiating")
                for dataset in entry["datasets"]:
                    agreements[dataset] = await self._agreement(job, member, dataset)
            request = RunRequest(
                run_id=entry["run_id"],
                job_id=job.id,
                model=model.name,
                model_hash=model.hash,
                stage=stage,
                params=job.params,
                context=context,
                agreements=agreements,
                epsilon=job.epsilon,
            )
            await self._update(
                job,
                stage,
                partner,
                state="running",
                agreements=agreements,
                request_bytes=len(wire.canonical(request.model_dump(mode="json"))),
            )
            started = time.monotonic()
            holder = self._holder(job, member, own)
            view, size = await holder.run(request, self.holder_timeout_s)
            partial, envelope, digest = self._verify(member, model, entry["run_id"], stage, view)
            done = await self._update(
                job,
                stage,
                partner,
                state="succeeded",
                seconds=round(time.monotonic() - started, 3),
                bytes=size,
                decisions=envelope.decisions,
                dataset_versions=envelope.datasets,
                privacy=[p.model_dump(mode="json") for p in envelope.privacy],
                suppressed=envelope.suppressed_cells,
                digest=digest,
                holder=member.participant_id,
            )
            return Outcome(partner, partial, done)
        except (HolderFailed, GemelloError, httpx.HTTPError) as exc:
            reason = exc.detail if isinstance(exc, GemelloError) else str(exc)
            if isinstance(exc, httpx.HTTPError):
                reason = f"unreachable: {exc}"
            log.warning("job %s stage %s at %s: %s", job.id, stage, partner, reason)
            return Outcome(
                partner, None, await self._update(job, stage, partner, state="failed", error=reason)
            )

    async def _agreement(self, job: FederatedJob, member: Member, dataset: str) -> str:
        """A live agreement for the job's purpose: reused, or negotiated now."""

        def existing() -> str | None:
            with session_scope(self.engine) as session:
                row = consumer.live_agreement(session, member.participant_id, dataset, job.purpose)
                return row.id if row is not None else None

        found = await run_in_threadpool(existing)
        if found is not None:
            return found
        neg = await consumer.open_negotiation(
            self.contracts, self._principal(job), member, dataset, job.purpose
        )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            with session_scope(self.engine) as session:
                state, agreement, reason = consumer.negotiation_outcome(session, neg.id)
            if state == "FINALIZED" and agreement:
                return agreement
            if state == "TERMINATED":
                raise HolderFailed(f"no agreement on '{dataset}': {reason}")
            await asyncio.sleep(POLL_S)
        raise HolderFailed(f"the negotiation for '{dataset}' did not finish in 60 s")

    def _holder(self, job: FederatedJob, member: Member, own: bool) -> Holder:
        """Where the stage runs: the gateway's own organisation in process, another member
        over signed HTTP."""
        if own:
            me = self.peers.ctx.own_member()
            caller = Caller(me.participant_id, job.requested_by, job.requested_role)
            return LocalHolder(
                self.engine, self.compute, self.contracts.policies, caller, job.purpose
            )
        return RemoteHolder(self.peers, member, self._principal(job))

    def _verify(
        self, member: Member, model: Model, run_id: str, stage: str, view: RunState
    ) -> tuple[Partial, PartialBody, str]:
        """The partial, once its signature and its claims check out; with the signed body and
        its digest (what the signature covers)."""
        if view.state != "succeeded":
            raise HolderFailed(f"run {view.state}: {view.error or 'no reason given'}")
        if view.result is None:
            raise HolderFailed("the run succeeded without a signed partial")
        body, signature = view.result.body, view.result.signature
        try:
            trusted = self.contracts.trust().by_kid.get(detached_kid(signature))
            if trusted is None or trusted.member.participant_id != member.participant_id:
                raise SignatureInvalid("not signed with a key of the holder")
            digest = wire.digest_of(wire.canonical(body.model_dump(mode="json")))
            verify_detached(
                signature, digest.encode(), trusted.public, compute.PARTIAL_SIGNATURE_TYPE
            )
        except SignatureInvalid as exc:
            raise HolderFailed(f"partial signature: {exc}") from exc
        claims = {"run_id": run_id, "model_hash": model.hash, "stage": stage}
        wrong = [k for k, v in claims.items() if getattr(body, k) != v]
        if wrong:
            raise HolderFailed(f"the signed partial names another {', '.join(wrong)}")
        try:
            partial = wire.decode_partial(body.partial)
        except (KeyError, ValueError) as exc:
            raise HolderFailed(f"unreadable partial: {exc}") from exc
        return partial, body, digest


# Who may run federated jobs (the API and the console admit the same roles).
JOB_USERS = (Role.researcher, Role.steward, Role.admin)


def my_job(session: Session, job_id: str, principal: Principal) -> FederatedJob:
    """A job of this caller's: jobs belong to who asked for them (another's is a 404, as an
    unknown one: its existence is not disclosed either)."""
    job = JobRepository(session).get(job_id)
    if job is None or job.requested_by != principal.subject:
        raise NotFound(f"no job '{job_id}' of yours")
    return job


def my_finished_job_exists(session: Session, job_id: str, principal: Principal) -> bool:
    """Whether a job is the caller's and has ended (a cheap check: its result is not read)."""
    found = JobRepository(session).owner_and_state(job_id)
    return found is not None and found[0] == principal.subject and found[1] != "running"


HOLDER_DONE = {"succeeded": 1.0, "failed": 1.0, "running": 0.5, "negotiating": 0.2}


def progress(job: FederatedJob, now: Any) -> dict[str, Any]:
    """How far a job is: a percentage (stages done, and the current stage's holders), the
    elapsed seconds, and each stage's holders with their states."""
    try:
        stages = [s.name for s in get(job.model).stages]
    except KeyError:  # a model no longer installed: the holders' entries still tell
        stages = list(dict.fromkeys(str(h.get("stage")) for h in job.holders))
    n = max(len(stages), 1)
    rows = []
    current = 0.0
    for i, name in enumerate(stages):
        holders = [h for h in job.holders if h.get("stage") == name]
        if job.state == "dismissed" and i >= job.stage:
            state = "stopped"  # dismissed while this stage ran, or before it began
        elif job.state != "running" or i < job.stage:
            state = "done" if holders or job.state != "failed" else "skipped"
        elif i == job.stage:
            state = "running"
            if holders:
                current = sum(HOLDER_DONE.get(h.get("state", ""), 0.0) for h in holders) / len(
                    holders
                )
        else:
            state = "waiting"
        rows.append(
            {
                "name": name,
                "state": state,
                "holders": [
                    {k: h.get(k) for k in ("partner", "state", "seconds", "error")} for h in holders
                ],
            }
        )
    finished = as_utc(job.finished_at) if job.finished_at else None
    elapsed = ((finished or as_utc(now)) - as_utc(job.created_at)).total_seconds()
    percent = 100.0 if job.state != "running" else 100.0 * (job.stage + current) / n
    if job.state == "dismissed":  # as far as it got
        percent = 100.0 * min(job.stage, n) / n
    return {
        "id": job.id,
        "state": job.state,
        "percent": round(min(percent, 99.0) if job.state == "running" else percent, 1),
        "elapsed_s": round(max(elapsed, 0.0), 1),
        "stage": job.stage,
        "stages": rows,
        "error": job.error,
    }


def my_jobs(session: Session, subject: str, limit: int = 50) -> list[FederatedJob]:
    """A person's latest jobs on this connector, newest first."""
    return list(JobRepository(session).recent(limit, subject))


def job_view(job: FederatedJob, with_result: bool = False) -> dict[str, Any]:
    """A job as the API shows it."""
    out: dict[str, Any] = {
        "id": job.id,
        "model": job.model,
        "model_hash": job.model_hash,
        "params": job.params,
        "purpose": job.purpose,
        "epsilon": job.epsilon,
        "state": job.state,
        "stage": job.stage,
        "holders": job.holders,
        "error": job.error,
        "created_at": as_utc(job.created_at).isoformat(),
        "finished_at": as_utc(job.finished_at).isoformat() if job.finished_at else None,
        "summary": (job.result or {}).get("summary"),
    }
    if with_result:
        out["outputs"] = (job.result or {}).get("outputs")
    return out
