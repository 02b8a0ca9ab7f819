"""Model stage runs at the holder: decide, reserve, run, protect, sign, record.

A run is three units of work, so no database lock is held while a model computes:

1. **admit** (one transaction): the installed model must have the requested code hash; for
   every dataset of the stage held here, the PDP decides `compute` under the caller's agreement
   with the model hash and the purpose stated; datasets that need noise (personal data, or a
   policy with epsilon terms) get their epsilon reserved. The run is stored as `running`.
   A refusal of any dataset gives back what the others took and refuses the whole run.
2. **run**, through the Executor port (inline, a process, or Dask), time-limited, cancellable.
3. **release** (one transaction each): small groups suppressed, noise added against the
   reservation, the partial signed with the connector's key and stored; or, on any failure,
   the reservations refunded and the run stored as failed with its reason.

A server process that dies mid-run leaves the row `running` with its owner's pid: the next
look at it (or the next start) sees the owner gone and reports the run failed.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import threading
import uuid
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

import numpy as np
from pydantic import ValidationError
from sqlalchemy import Engine

from catalog.model import DatasetDescription, Governance, PrivacyClass, SpatialUnit
from connector.compute import wire
from connector.compute.executor import Executor, RunAborted, RunSpec, make_executors
from connector.compute.repository import RunRepository
from connector.compute.schemas import (
    PartialBody,
    PrivacyRecord,
    RunRequest,
    RunState,
    SignedPartial,
)
from connector.contracts import uses
from connector.contracts.uses import authorise_use
from connector.errors import Conflict, DatasetNotFound, GemelloError, NotFound, UsageDenied
from connector.identity.keys import Signer, sign_detached
from connector.policies.service import PolicyRuntime, authorise_own_use
from connector.privacy.service import (
    BudgetExhausted,
    Caller,
    refund,
    refund_now,
    release_outputs,
    reserve_for_run,
)
from connector.publishing.service import dataset_description, dataset_stamp
from connector.settings import Settings
from connector.storage import Session, session_scope
from connector.storage.tables import ComputeRun, aware, utcnow
from models import Model, Partial, Stage, get
from policy import Decision
from privacy import suppress_small_groups

log = logging.getLogger("gemello.compute")

PARTIAL_SIGNATURE_TYPE = "gemello-partial+jws"
OWNER = f"{socket.gethostname()}:{os.getpid()}"


class ModelRefused(GemelloError):
    """The model, stage or scenario cannot run here."""

    title, status, slug = "Model refused", 422, "model-refused"


@dataclass
class Protected:
    """A dataset whose outputs get noise: its held charge and contribution limit."""

    charge_id: str
    max_rows: int
    epsilon: float


@dataclass
class ComputeRuntime:
    """The holder's compute layer: executors, limits and the runs in flight here."""

    data_dir: Path
    light: Executor
    heavy: Executor
    timeout_s: float
    noise: bool
    min_group: int
    default_epsilon_total: float
    signer: Signer
    holder: str
    cancels: dict[str, threading.Event] = field(default_factory=dict)
    # long polls waiting for a run of this process to end: run id -> (their loop, their event)
    _watchers: dict[str, list[tuple[asyncio.AbstractEventLoop, asyncio.Event]]] = field(
        default_factory=dict
    )
    _watch_lock: threading.Lock = field(default_factory=threading.Lock)

    def watch(self, run_id: str) -> asyncio.Event:
        """An event set when the run ends in this process (call on the event loop, before
        reading the run's state, so an end between the two is not missed)."""
        event = asyncio.Event()
        with self._watch_lock:
            self._watchers.setdefault(run_id, []).append((asyncio.get_running_loop(), event))
        return event

    def unwatch(self, run_id: str, event: asyncio.Event) -> None:
        """Stop watching (the long poll answered)."""
        with self._watch_lock:
            left = [w for w in self._watchers.get(run_id, []) if w[1] is not event]
            if left:
                self._watchers[run_id] = left
            else:
                self._watchers.pop(run_id, None)

    def ended(self, run_id: str) -> None:
        """Wake the long polls of a run whose final state is stored (any thread)."""
        with self._watch_lock:
            watchers = self._watchers.pop(run_id, [])
        for loop, event in watchers:
            loop.call_soon_threadsafe(event.set)

    @classmethod
    def from_settings(cls, settings: Settings, signer: Signer, holder: str) -> ComputeRuntime:
        """The runtime a connector's settings describe."""
        slurm = None
        if settings.compute_executor == "slurm":
            from connector.compute.slurm import SlurmOptions

            slurm = SlurmOptions(
                partition=settings.slurm_partition,
                account=settings.slurm_account,
                walltime=settings.slurm_walltime,
                cores=settings.slurm_cores,
                memory=settings.slurm_memory,
                max_workers=settings.slurm_max_workers,
                scheduler_host=settings.slurm_scheduler_host,
                python=settings.slurm_python,
                job_extra=tuple(settings.slurm_job_extra),
                log_dir=settings.resolved_data_dir / "slurm",
            )
        light, heavy = make_executors(
            settings.compute_executor, settings.compute_dask_address, slurm
        )
        return cls(
            settings.resolved_data_dir,
            light,
            heavy,
            settings.compute_timeout_seconds,
            settings.compute_noise,
            settings.privacy_min_group_size,
            settings.privacy_default_epsilon_total,
            signer,
            holder,
        )


def _resolve(req: RunRequest) -> tuple[Model, Stage]:
    try:
        model = get(req.model)
    except KeyError as exc:
        raise ModelRefused(str(exc.args[0])) from None
    if model.hash != req.model_hash:
        raise UsageDenied(
            f"model {req.model} with code hash {req.model_hash} is not installed here "
            f"(the installed version has {model.hash}); the holder runs only approved code"
        )
    try:
        stage = model.stage(req.stage)
        model.parse(req.params)
    except KeyError as exc:
        raise ModelRefused(str(exc.args[0])) from None
    except ValidationError as exc:
        raise ModelRefused(f"invalid scenario for {req.model}: {exc}") from None
    return model, stage


def _governance(description: dict[str, Any]) -> Governance | None:
    """A dataset's Gemello profile; None when its catalogue entry cannot be read."""
    try:
        return DatasetDescription.model_validate(description).governance
    except ValidationError:
        return None


def _needs_noise(gov: Governance | None, decision: Decision) -> tuple[bool, int]:
    """Whether a dataset is protected — its outputs leave only with DP noise, charged to the
    caller's budget (decision 0018) — and its per-contributor row limit. Every dataset whose
    rows may not be read is protected (aggregate-only, compute-only), as is personal data and
    any dataset whose policy sets epsilon terms; open data is not."""
    if gov is None:
        return True, 1  # unreadable metadata: the strict reading
    epsilon_terms = any(o.get("type") == "epsilon-budget" for o in decision.obligations)
    limit = gov.contribution_limit.max_rows if gov.contribution_limit else 1
    protected = gov.privacy_class is not PrivacyClass.open or gov.personal_data or epsilon_terms
    return protected, limit


def public_meta(meta: dict[str, Any], keys: tuple[str, ...]) -> dict[str, Any]:
    """The facts of a partial's meta a stage declares public; nested dicts filtered alike."""
    return {
        k: public_meta(v, keys) if isinstance(v, dict) else v for k, v in meta.items() if k in keys
    }


# Records that stand for people or their homes: outputs resting on few of them are suppressed.
PEOPLE_UNITS = {SpatialUnit.person, SpatialUnit.building}


def _about_people(gov: Governance | None) -> bool:
    """Whether small groups of this dataset's records could single out people or households."""
    if gov is None:
        return True  # unreadable metadata: the strict reading
    return gov.personal_data or gov.spatial_unit in PEOPLE_UNITS


@dataclass
class _Admission:
    run: ComputeRun
    spec: RunSpec
    protected: dict[str, Protected]
    suppress: bool


def admit(
    engine: Engine,
    rt: ComputeRuntime,
    policies: PolicyRuntime,
    caller: Caller,
    req: RunRequest,
    own_purpose: str | None = None,
) -> tuple[ComputeRun, _Admission | None]:
    """Decide and reserve (one transaction). Returns the stored run and, for a new admitted
    run, what executing it needs; an existing run id returns that run (idempotent).
    `own_purpose` is set only in process, when the gateway's own organisation holds the data:
    no agreement, the policy decides with this purpose (policies.service.authorise_own_use)."""
    model, stage = _resolve(req)
    denial: GemelloError | None = None
    with session_scope(engine, write=True) as session:
        runs = RunRepository(session)
        existing = runs.get(req.run_id)
        if existing is not None:
            if (
                existing.organisation != caller.organisation
                or existing.model_hash != req.model_hash
            ):
                raise Conflict(f"run id '{req.run_id}' is taken by another request")
            return refresh(session, existing), None
        stamps = {d: dataset_stamp(session, d) for d in stage.datasets}
        held = {d: s for d, s in stamps.items() if s is not None}
        profiles_of = {d: _governance(dataset_description(session, d)) for d in held}
        if not held:
            raise DatasetNotFound(
                f"this connector holds none of {', '.join(stage.datasets)} for stage {stage.name}"
            )
        protected: dict[str, Protected] = {}
        decisions: list[dict[str, Any]] = []
        taken: list[str] = []  # agreements whose use was counted, to give back on a refusal
        for dataset in held:
            agreement_id = req.agreements.get(dataset)
            purpose = own_purpose or ""
            if own_purpose is None:
                if agreement_id is None:
                    denial = UsageDenied(f"the request names no agreement for dataset '{dataset}'")
                    break
                agreement = uses.agreement(session, agreement_id)
                if agreement is not None and agreement.dataset_id != dataset:
                    denial = UsageDenied(
                        f"agreement {agreement_id} covers '{agreement.dataset_id}', not '{dataset}'"
                    )
                    break
                purpose = agreement.purpose if agreement is not None else ""

            def gate(
                decision: Decision, dataset: str = dataset, purpose: str = purpose
            ) -> str | None:
                needs, max_rows = _needs_noise(profiles_of[dataset], decision)
                if not needs:
                    return None
                charge_id = f"urn:gemello:charge:{uuid.uuid4()}"
                try:
                    reserve_for_run(
                        session, caller, dataset, req.epsilon, decision,
                        rt.default_epsilon_total, charge_id, purpose,
                        {"model": req.model, "stage": req.stage, "run_id": req.run_id,
                         "job_id": req.job_id},
                    )  # fmt: skip
                except BudgetExhausted as exc:
                    return exc.detail
                protected[dataset] = Protected(charge_id, max_rows, req.epsilon)
                return None

            if own_purpose is not None:
                outcome = authorise_own_use(
                    session,
                    policies,
                    dataset,
                    "compute",
                    caller.organisation,
                    own_purpose,
                    subject=caller.subject,
                    role=caller.role,
                    extra={"model_hash": req.model_hash},
                    context="compute",
                    gate=gate,
                )
            else:
                assert agreement_id is not None
                outcome = authorise_use(
                    session,
                    policies,
                    agreement_id,
                    "compute",
                    caller.organisation,
                    subject=caller.subject,
                    role=caller.role,
                    extra={"model_hash": req.model_hash},
                    context="compute",
                    gate=gate,
                )
            decisions.append(
                {"dataset": dataset, "decision_id": outcome.decision.decision_id,
                 "allowed": outcome.allowed, "reasons": list(outcome.reasons)}
            )  # fmt: skip
            if not outcome.allowed:
                denial = UsageDenied(
                    f"dataset '{dataset}': " + "; ".join(outcome.reasons),
                    decision_id=outcome.decision.decision_id,
                )
                break
            if agreement_id is not None and own_purpose is None:
                taken.append(agreement_id)
        if denial is not None:
            # Decision records stay; what the allowed datasets took is given back.
            for agreement_id in taken:
                uses.give_back_use(session, agreement_id)
            for p in protected.values():
                refund(session, p.charge_id, "another dataset of the run was refused")
            protected.clear()
        else:
            now = utcnow()
            timeout = min(req.timeout_s or rt.timeout_s, rt.timeout_s)
            run = ComputeRun(
                id=req.run_id,
                job_id=req.job_id,
                organisation=caller.organisation,
                requested_by=caller.subject or "",
                model=model.name,
                model_hash=model.hash,
                stage=stage.name,
                params=req.params,
                datasets={d: s[1] for d, s in held.items()},
                agreements={d: req.agreements.get(d, "own data") for d in held},
                decisions=decisions,
                charges=[{"dataset": d, "charge_id": p.charge_id} for d, p in protected.items()],
                state="running",
                owner=OWNER,
                created_at=now,
                deadline=now + timedelta(seconds=timeout),
            )
            runs.add(run)
            limits: dict[str, tuple[str, int]] = {}
            for dataset, p in protected.items():
                gov = profiles_of[dataset]
                if gov is not None and gov.contribution_limit is not None:
                    limits[dataset] = (gov.contribution_limit.column, p.max_rows)
            spec = RunSpec(
                model=model.name,
                stage=stage.name,
                tables={d: str(rt.data_dir / s[0]) for d, s in held.items()},
                params=req.params,
                context=wire.decode_value(req.context),
                limits=limits,
            )
            suppress = any(_about_people(profiles_of[d]) for d in held)
            admission = _Admission(run, spec, dict(protected), suppress)
    if denial is not None:
        raise denial
    return admission.run, admission


def execute_admitted(engine: Engine, rt: ComputeRuntime, admission: _Admission) -> None:
    """Run an admitted stage to its signed partial, or record why not (never raises); then
    wake the long polls waiting for it."""
    try:
        _execute(engine, rt, admission)
    finally:
        rt.ended(admission.run.id)


def _execute(engine: Engine, rt: ComputeRuntime, admission: _Admission) -> None:
    run_id = admission.run.id
    cancel = rt.cancels.setdefault(run_id, threading.Event())
    model = get(admission.spec.model)
    stage = model.stage(admission.spec.stage)
    executor = rt.heavy if stage.heavy else rt.light
    timeout = (aware(admission.run.deadline) - utcnow()).total_seconds()
    try:
        partial = executor.run(admission.spec, max(timeout, 0.1), cancel)
        envelope = _release(engine, rt, admission, stage, partial)
    except Exception as exc:  # every failure is recorded, none is lost
        if isinstance(exc, GemelloError):
            reason = exc.detail
        elif isinstance(exc, RunAborted):
            reason = str(exc)
        else:
            reason = f"{type(exc).__name__}: {exc}"
        state = "cancelled" if cancel.is_set() else "failed"
        log.warning("run %s %s: %s", run_id, state, reason)
        _finish_failed(engine, run_id, state, reason)
        return
    finally:
        rt.cancels.pop(run_id, None)
    try:
        with session_scope(engine, write=True) as session:
            runs = RunRepository(session)
            run = runs.get(run_id)
            if run is None:
                return
            run.state, run.result, run.finished_at = "succeeded", envelope, utcnow()
            runs.save(run)
    except Exception as exc:  # the partial could not be stored: the run failed, budget back
        log.warning("run %s: result not stored: %s", run_id, exc)
        _finish_failed(engine, run_id, "failed", f"the result could not be stored: {exc}")


def _release(
    engine: Engine, rt: ComputeRuntime, admission: _Admission, stage: Stage, partial: Partial
) -> dict[str, Any]:
    """Disclosure control, noise against the held charges, and the signed envelope."""
    arrays = {k: np.asarray(v, dtype=np.float64) for k, v in partial.arrays.items()}
    suppressed: dict[str, int] = {}
    # The threshold rule reads true counts: only where no noise is added (records about
    # buildings). Noised outputs rely on DP alone, which a data-dependent rule would weaken.
    if admission.suppress and not admission.protected:
        arrays, suppressed = suppress_small_groups(arrays, partial.support, rt.min_group)
    privacy: list[dict[str, Any]] = []
    scenario = get(admission.spec.model).parse(admission.spec.params)
    for dataset, p in admission.protected.items():
        items: dict[str, tuple[np.ndarray, float, float]] = {}
        for name, values in arrays.items():
            _, _, source = name.partition(":")
            if source and source != dataset:
                continue
            noise = stage.noise_for(name, scenario)
            if noise is None:
                if stage.is_public(name):
                    continue
                raise UsageDenied(
                    f"output '{name}' of stage {stage.name} comes from '{dataset}', which is "
                    "protected, but the model declares no sensitivity for it: not released"
                )
            items[name] = (values, noise.l1 * p.max_rows, noise.bound)
        if not items:
            raise UsageDenied(f"stage {stage.name} declares no releasable output for '{dataset}'")
        if rt.noise:
            noisy, components, _ = release_outputs(engine, p.charge_id, items)
            arrays.update(noisy)
        else:
            components = [{"output": n, "mechanism": "none (noise off)"} for n in items]
            refund_now(engine, p.charge_id, "noise turned off for this test run")
        privacy.append(
            {
                "dataset": dataset,
                "epsilon": p.epsilon if rt.noise else 0.0,
                "mechanisms": components,
            }
        )
    # From protected data only the facts the stage declares public leave (a count of visitors
    # in a partial's meta would be an exact aggregate the noise never saw).
    meta = public_meta(partial.meta, stage.public_meta) if admission.protected else partial.meta
    body = PartialBody(
        run_id=admission.run.id,
        job_id=admission.run.job_id,
        holder=rt.holder,
        model=admission.run.model,
        model_hash=admission.run.model_hash,
        stage=stage.name,
        datasets=admission.run.datasets,
        agreements=admission.run.agreements,
        decisions=[d["decision_id"] for d in admission.run.decisions],
        suppressed_cells=suppressed,
        privacy=[PrivacyRecord.model_validate(p) for p in privacy],
        partial=wire.encode_partial(Partial(arrays=arrays, meta=meta)),
        finished_at=utcnow().isoformat(),
    ).model_dump(mode="json")
    _kid, key = rt.signer.active_key()
    return {"body": body, "signature": sign_partial(body, key)}


def sign_partial(body: dict[str, Any], key: Any) -> str:
    """Detached JWS over the SHA-256 digest of the body's canonical form (JWS libraries cap
    the payload size; the digest binds every byte of it just the same)."""
    return sign_detached(wire.digest(body).encode(), key, PARTIAL_SIGNATURE_TYPE)


def _finish_failed(engine: Engine, run_id: str, state: str, reason: str) -> None:
    with session_scope(engine, write=True) as session:
        runs = RunRepository(session)
        run = runs.get(run_id)
        if run is None or run.state != "running":
            return
        _refund(session, run, reason)
        run.state, run.error, run.finished_at = state, reason[:4000], utcnow()
        runs.save(run)


def _refund(session: Session, run: ComputeRun, reason: str) -> None:
    for item in run.charges:
        refund(session, item["charge_id"], f"run {run.state}: {reason}")


def _owner_alive(owner: str) -> bool:
    host, _, pid = owner.rpartition(":")
    if host != socket.gethostname() or not pid.isdigit():
        return True  # another machine's process: not ours to judge
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:  # a killed process its parent has not reaped yet is a zombie: gone all the same
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return True
    return state not in ("Z", "X")


def refresh(session: Session, run: ComputeRun) -> ComputeRun:
    """A running run whose owner process is gone, or whose deadline passed long ago, is
    failed now (with its reservations refunded): no run stays `running` forever."""
    if run.state != "running":
        return run
    reason = None
    if not _owner_alive(run.owner):
        reason = "the connector process running it stopped (restart or crash)"
    elif utcnow() > aware(run.deadline) + timedelta(seconds=60):
        reason = "it outlived its deadline"
    if reason is not None:
        run.state, run.error, run.finished_at = "failed", reason, utcnow()
        _refund(session, run, reason)
        RunRepository(session).save(run)
    return run


def reap(engine: Engine) -> int:
    """Fail every run whose owner is gone (called at start-up)."""
    with session_scope(engine, write=True) as session:
        runs = [refresh(session, r) for r in RunRepository(session).running()]
    return sum(1 for r in runs if r.state == "failed")


def get_run(engine: Engine, run_id: str, organisation: str | None) -> ComputeRun:
    """A run, refreshed; only its caller (or a local steward, organisation None) sees it."""
    with session_scope(engine, write=True) as session:
        run = RunRepository(session).get(run_id)
        if run is None or (organisation is not None and run.organisation != organisation):
            raise NotFound(f"no run '{run_id}' for this caller")
        run = refresh(session, run)
        session.expunge(run)
    return run


def cancel(engine: Engine, rt: ComputeRuntime, run_id: str, organisation: str | None) -> ComputeRun:
    """Stop a run: its worker is killed (process / Dask) and its budget given back."""
    run = get_run(engine, run_id, organisation)
    if run.state != "running":
        return run
    event = rt.cancels.get(run_id)
    if event is not None:
        event.set()
    _finish_failed(engine, run_id, "cancelled", "cancelled by the caller")
    rt.ended(run_id)
    return get_run(engine, run_id, organisation)


def run_view(run: ComputeRun) -> RunState:
    """A run as the gateway and the API see it."""
    return RunState(
        run_id=run.id,
        job_id=run.job_id,
        model=run.model,
        model_hash=run.model_hash,
        stage=run.stage,
        state=run.state,  # type: ignore[arg-type]
        error=run.error,
        datasets=run.datasets,
        decisions=run.decisions,
        created_at=run.created_at,
        deadline=run.deadline,
        finished_at=run.finished_at,
        result=SignedPartial.model_validate(run.result) if run.result else None,
    )
