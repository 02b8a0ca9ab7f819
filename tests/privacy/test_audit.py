"""A black-box privacy audit through the HTTP API.

Two neighbouring datasets: D, and D' = D plus one row beyond the declared upper bound (so, once
clamped, a row at the bound — the worst case for the mean). The same mean and count queries run
many times on each, with the budget lifted for the test. For events decided in advance (the
release lands above a threshold, or not), Clopper–Pearson bounds on their frequencies give a
lower bound on the privacy loss, which must not exceed the declared epsilon:

    ε̂ = ln( lower(P[M(D) ∈ E]) / upper(P[M(D') ∈ E]) ),  over E, its complement, both ways.

The negative control switches clamping off on the same connector: the extra row then shows
through, and the same estimate must exceed epsilon, so the audit is proven able to fail.
"""

from __future__ import annotations

import math
from collections.abc import AsyncIterator, Callable
from typing import Any

import httpx
import numpy as np
import pyarrow as pa
import pytest
from fastapi import FastAPI
from scipy.stats import binomtest

from catalog.model import (
    ColumnBounds,
    ContactPoint,
    DatasetDescription,
    Governance,
    LangText,
    PrivacyClass,
    Theme,
)
from connector.app import create_app
from connector.identity import service as users
from connector.identity.schemas import Role
from connector.identity.trustlist import TrustList
from connector.partnerdata.prepare import add_table, prepare_partner_data
from connector.sandbox import record_agreement
from connector.settings import Settings
from connector.storage import migrated_session
from tests.conftest import bearer, client_for, peer_headers
from tests.privacy.conftest import FBK_PUBLISHER, UNIBO

pytestmark = pytest.mark.anyio
EPSILON = 1.0
RUNS = 800  # per dataset and query
CONTROL_RUNS = 150
CONFIDENCE = 0.999  # per bound; the estimate is a lower bound at least this sure
D = np.random.default_rng(11).uniform(0.0, 1.0, 100)
D_PRIME = np.append(D, 1000.0)  # clamped to the bound 1.0 by a correct layer


def _description(dataset_id: str) -> dict[str, Any]:
    return DatasetDescription(
        id=dataset_id,
        title=LangText(en=f"privacy audit table {dataset_id}"),
        description=LangText(en="neighbouring datasets for the black-box privacy audit"),
        themes=[Theme.TRAN],
        contact_point=ContactPoint(name="audit", email="audit@fbk.gemello.example"),
        provenance="tests/privacy/test_audit.py",
        governance=Governance(
            privacy_class=PrivacyClass.aggregate_only,
            personal_data=False,
            synthetic=True,
            column_bounds=[ColumnBounds(column="x", lower=0.0, upper=1.0)],
        ),
    ).model_dump(mode="json")


@pytest.fixture
def audit_settings(make_settings: Callable[..., Settings], trust_list: TrustList) -> Settings:
    del trust_list
    s = make_settings(
        "fbk",
        privacy_default_epsilon_total=1e9,  # the budget is lifted for the audit only
        privacy_default_epsilon_per_query=EPSILON,
        privacy_min_group_size=1,
        privacy_dominance_share=1.0,
    )
    prepare_partner_data(s.partner, s.resolved_data_dir, s.bologna_dir, s.synthetic_seed)
    for dataset_id, values in (("audit-d", D), ("audit-d-prime", D_PRIME)):
        add_table(
            s.resolved_data_dir,
            dataset_id,
            pa.table({"x": values}),
            title=dataset_id,
            description="privacy audit",
            theme="TRAN",
            source="tests",
            synthetic=True,
        )
    return s


@pytest.fixture
def audit_app(audit_settings: Settings) -> FastAPI:
    return create_app(audit_settings)


@pytest.fixture
async def audited(
    audit_app: FastAPI, audit_settings: Settings
) -> AsyncIterator[tuple[httpx.AsyncClient, dict[str, str]]]:
    with migrated_session(audit_settings.db_url) as session:
        steward = users.add_user(session, "steward", Role.steward).token
    async for client in client_for(audit_app):
        agreements = {}
        for dataset_id in ("audit-d", "audit-d-prime"):
            put = await client.put(
                f"/dcat/datasets/{dataset_id}",
                json=_description(dataset_id),
                headers=bearer(steward),
            )
            assert put.status_code == 200, put.text
            agreements[dataset_id] = _grant(audit_settings, dataset_id)
        yield client, agreements


def _grant(settings: Settings, dataset_id: str) -> str:
    with migrated_session(settings.db_url) as session:
        return record_agreement(session, FBK_PUBLISHER, dataset_id, UNIBO, "research")


async def _releases(
    client: httpx.AsyncClient,
    settings: Settings,
    agreement: str,
    dataset_id: str,
    aggregate: str,
    runs: int,
) -> np.ndarray:
    query = {"dataset": dataset_id, "aggregate": aggregate, "epsilon": EPSILON}
    if aggregate != "count":
        query["column"] = "x"
    out = np.empty(runs)
    for i in range(runs):
        resp = await client.post(
            "/privacy/queries",
            json={"agreement_id": agreement, "query": query},
            headers=peer_headers(settings.home, "unibo", "fbk"),
        )
        assert resp.status_code == 200, resp.text
        value = resp.json()["cells"][0]["value"]
        out[i] = math.nan if value is None else value
    return out


def epsilon_lower_bound(a: np.ndarray, b: np.ndarray, threshold: float) -> float:
    """The largest privacy loss the samples prove, over {> threshold} and its complement, in
    both directions (suppressed releases, NaN, count as not above the threshold)."""
    best = 0.0
    for event in (lambda v: v > threshold, lambda v: ~(v > threshold)):
        ka, kb = int(event(a).sum()), int(event(b).sum())
        for (k1, n1), (k2, n2) in (((ka, len(a)), (kb, len(b))), ((kb, len(b)), (ka, len(a)))):
            low = binomtest(k1, n1).proportion_ci(CONFIDENCE, method="exact").low
            high = binomtest(k2, n2).proportion_ci(CONFIDENCE, method="exact").high
            if low > 0:
                best = max(best, math.log(low / high))
    return best


async def test_mean_and_count_do_not_leak_more_than_epsilon_and_the_audit_can_fail(
    audited: tuple[httpx.AsyncClient, dict[str, str]],
    audit_settings: Settings,
    audit_app: FastAPI,
) -> None:
    client, agreements = audited
    ad, adp = agreements["audit-d"], agreements["audit-d-prime"]
    clamped = np.clip(D_PRIME, 0.0, 1.0)
    mean_threshold = (D.mean() + clamped.mean()) / 2
    found: dict[str, float] = {}
    for aggregate, threshold in (("mean", mean_threshold), ("count", len(D) + 0.5)):
        on_d = await _releases(client, audit_settings, ad, "audit-d", aggregate, RUNS)
        on_dp = await _releases(client, audit_settings, adp, "audit-d-prime", aggregate, RUNS)
        found[aggregate] = epsilon_lower_bound(on_d, on_dp, threshold)
    assert found["mean"] <= EPSILON, found
    assert found["count"] <= EPSILON, found
    # The estimate is not vacuous: neighbouring datasets are told apart a little.
    assert max(found.values()) > 0.05, found

    # Negative control: the same layer without clamping leaks the extra row.
    audit_app.state.connector.privacy.clamp = False
    on_d = await _releases(client, audit_settings, ad, "audit-d", "mean", CONTROL_RUNS)
    on_dp = await _releases(client, audit_settings, adp, "audit-d-prime", "mean", CONTROL_RUNS)
    leaked = epsilon_lower_bound(on_d, on_dp, mean_threshold)
    assert leaked > EPSILON, f"the audit failed to detect an unclamped mean (ε̂={leaked:.2f})"
