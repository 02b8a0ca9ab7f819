"""The public algorithm register: one ATRS v3.0 record per installed model version, generated
from the running system.

What the system knows it fills: the registry (name, version, code hash, stages and the
datasets each reads), the model's card (method, assumptions, limits), the runs in this
connector's audit log (how many, by which organisations, for which purposes: aggregated, no
names), and the connector itself (who publishes, where). What people declared and reviewed
beside the model (`models/records.py`) fills the rest it can. Every other field is listed on
the record as left to people, never invented.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from connector.audit import repository as store
from connector.partnerdata.catalogmeta import META
from connector.publishing.atrs import VERSION, AtrsField
from connector.storage import Session
from models.base import Model
from models.cards import Words, card
from models.records import RECORDS, Record
from models.registry import INSTALLED

REGION = Words("Bologna, Emilia-Romagna, Italia", "Bologna, Emilia-Romagna, Italy")
ORGANISATION_TYPES = {
    "comune": Words("Ente locale", "Local government"),
    "cineca": Words("Consorzio interuniversitario di calcolo", "University computing consortium"),
    "unibo": Words("Università pubblica", "Public university"),
    "fbk": Words("Fondazione di ricerca", "Research foundation"),
}
ARCHITECTURE = Words(
    "Calcolo federato: ogni stadio del modello gira presso chi detiene i suoi dati (connettore "
    "Gemello), sotto la politica d'uso del dataset; escono solo aggregati firmati e con rumore "
    "di privacy differenziale. Il codice è identificato dalla sua impronta sha256; ogni "
    "esecuzione ha la sua provenienza W3C PROV e le sue voci nel registro di audit firmato.",
    "Federated computation: each stage of the model runs where its data is held (a Gemello "
    "connector), under the dataset's usage policy; only signed aggregates with differential-"
    "privacy noise leave. The code is identified by its sha256 hash; every run has its W3C "
    "PROV provenance and its entries in the signed audit log.",
)
ACCESS = Words(
    "I dati restano presso i detentori; nessuna riga lascia il loro connettore. Ogni rilascio "
    "spende ε dal budget dell'organizzazione richiedente, registrato nel libro mastro.",
    "The data stays with its holders; no row leaves their connector. Every release spends ε "
    "from the asking organisation's budget, recorded in the ledger.",
)
RISKS = Words(
    "Rischio di re-identificazione: mitigato da privacy differenziale, soppressione delle celle "
    "piccole e limiti per persona. Rischio di uso improprio: politiche d'uso per finalità, "
    "approvazioni, registro di audit testimoniato dagli altri membri.",
    "Re-identification risk: mitigated by differential privacy, suppression of small cells and "
    "per-person contribution limits. Misuse risk: usage policies by purpose, approvals, an "
    "audit log witnessed by the other members.",
)


@dataclass(frozen=True)
class Usage:
    """The runs of one model version in this connector's log, aggregated."""

    runs: int
    organisations: Counter[str]
    purposes: Counter[str]
    last: str  # the day of the latest run ('' if none)


def usage(session: Session) -> dict[str, Usage]:
    """model hash -> its finished federated jobs here, by organisation and purpose."""
    found: dict[str, list[Any]] = {}
    for e in store.entries(session, limit=1_000_000, filters={"action": "compute.job"}):
        if e.outcome not in ("succeeded", "partial"):
            continue
        found.setdefault(str(e.detail_map.get("model_hash") or ""), []).append(e)
    return {
        code: Usage(
            len(rows),
            Counter(r.organisation for r in rows),
            Counter(r.purpose for r in rows if r.purpose),
            max(r.at for r in rows).date().isoformat(),
        )
        for code, rows in found.items()
    }


def agreements(session: Session) -> Counter[str]:
    """dataset id -> the DSP agreements recorded in this connector's log (as provider or
    consumer), each counted once."""
    seen: dict[str, str] = {}
    for e in store.entries(session, limit=1_000_000, filters={"action": "contract.agreement"}):
        if e.outcome == "agreed":
            seen[e.correlation] = e.dataset
    return Counter(seen.values())


def _sensitive(model: Model, lang: str) -> str:
    """The model's inputs that hold personal data (from the datasets' descriptions), with the
    column that identifies a person, and how they leave."""
    out = []
    for d in dict.fromkeys(model.datasets):
        meta = META.get(d)
        if meta is None or not meta.personal_data:
            continue
        who = meta.contribution.column if meta.contribution else ""
        if lang == "it":
            out.append(f"{d}: dati personali (pseudonimi{f', colonna «{who}»' if who else ''}); "
                       "escono solo aggregati con privacy differenziale")  # fmt: skip
        else:
            out.append(f"{d}: personal data (pseudonymous{f', column “{who}”' if who else ''}); "
                       "only differentially private aggregates leave")  # fmt: skip
    if not out:
        return (
            "Nessun dato personale tra gli ingressi."
            if lang == "it"
            else "No personal data among the inputs."
        )
    return "; ".join(out) + "."


def _purposes(model: Model, lang: str) -> str:
    """How each dataset is used: as the input of which stage (no model is trained)."""
    used: dict[str, list[str]] = {}
    for s in model.stages:
        for d in s.datasets:
            used.setdefault(d, []).append(s.name)
    word = "ingresso dello stadio" if lang == "it" else "input of the stage"
    return "; ".join(f"{d}: {word} {', '.join(stages)}" for d, stages in used.items()) + "."


def _agreement_words(model: Model, counted: Counter[str], lang: str) -> str:
    per = ", ".join(f"{d} ({counted.get(d, 0)})" for d in dict.fromkeys(model.datasets))
    if lang == "it":
        return (
            "Ogni uso avviene sotto un contratto DSP tra chi chiede e chi detiene il dataset, "
            "con la politica ODRL del dataset; contratti registrati qui per dataset: " + per + "."
        )
    return (
        "Every use is made under a DSP contract agreement between the asker and the dataset's "
        "holder, under the dataset's ODRL policy; agreements recorded here per dataset: "
        + per + "."
    )  # fmt: skip


@dataclass(frozen=True)
class Publisher:
    """Who publishes the register, and where."""

    handle: str
    legal_name: str
    portal_url: str  # the register's base URL, e.g. https://…/public
    names: Mapping[str, str]  # participant id -> member handle


def _usage_words(u: Usage | None, names: Mapping[str, str], lang: str) -> str:
    if u is None or not u.runs:
        return "Nessuna esecuzione finora." if lang == "it" else "No runs so far."
    orgs = ", ".join(f"{names.get(o, o)} ({n})" for o, n in u.organisations.most_common())
    purposes = ", ".join(f"{p} ({n})" for p, n in u.purposes.most_common())
    if lang == "it":
        return f"{u.runs} esecuzioni federate, l'ultima il {u.last}; da {orgs}; per {purposes}."
    return f"{u.runs} federated runs, the latest on {u.last}; by {orgs}; for {purposes}."


def _inputs(model: Model, lang: str) -> str:
    stages = "; ".join(
        f"{s.name}: {', '.join(s.datasets) or ('nessun dataset' if lang == 'it' else 'no dataset')}"
        for s in model.stages
    )
    fields = ", ".join(model.params.model_fields)
    label = ("stadi e dataset", "parametri dello scenario") if lang == "it" else (
        "stages and datasets", "scenario parameters")  # fmt: skip
    return f"{label[0]}: {stages}. {label[1]}: {fields}."


def values(
    model: Model,
    number: int,
    u: Usage | None,
    pub: Publisher,
    lang: str,
    today: date,
    counted: Counter[str] | None = None,
) -> tuple[dict[str, Any], dict[str, str]]:
    """The record's values by ATRS attribute, and where each came from ('system' or
    'declared'); attributes not given are left to people."""
    c = card(model.name)
    r: Record | None = RECORDS.get(model.name)
    url = f"{pub.portal_url}/algorithms/{model.name}"
    owner = ORGANISATION_TYPES.get(pub.handle)
    system: dict[str, Any] = {
        "id": number,
        "standard_version": VERSION,
        "date_updated": today.isoformat(),
        "date_archived": "",
        "title": c.title(lang),
        "organisation_name": pub.legal_name,
        "region": REGION(lang),
        "one_sentence_description": c.method(lang).split(". ")[0].rstrip(".") + ".",
        "name": f"{model.name} {model.version}",
        "description": c.method(lang),
        "website_url": url,
        "organisation_or_department": pub.legal_name,
        "external_supplier_involvement": "No",
        "detailed_description": f"{c.method(lang)} {_inputs(model, lang)}",
        "scope": " ".join(w(lang) for w in (*c.assumptions, *c.limits)),
        "frequency_and_scale_of_usage": _usage_words(u, pub.names, lang),
        "system_architecture": ARCHITECTURE(lang),
        "models": f"{model.name} {model.version} ({model.hash})",
        "model_name": model.name,
        "model_version": f"{model.version} ({model.hash})",
        "model_task": c.title(lang),
        "model_input": _inputs(model, lang),
        "model_architecture": c.method(lang),
        "datasets": ", ".join(dict.fromkeys(model.datasets)),
        "source_data_name": ", ".join(dict.fromkeys(model.datasets)),
        "data_modality": "Tabellare" if lang == "it" else "Tabular",
        "source_data_url": f"{pub.portal_url}/data-use",
        "data_access_and_storage": ACCESS(lang),
        "risks_and_mitigations": RISKS(lang),
        "sensitive_attributes": _sensitive(model, lang),
        "dataset_purposes": _purposes(model, lang),
        "data_sharing_agreements": _agreement_words(model, counted or Counter(), lang),
    }
    if owner is not None:
        system["organisation_type"] = owner(lang)
    declared: dict[str, Any] = {}
    if r is not None:
        declared = {
            "function": r.function(lang),
            "capability": "Simulazione di scenari" if lang == "it" else "Scenario simulation",
            "task": r.purpose(lang),
            "tags": ", ".join(r.tags),
            "date_of_completion": r.reviewed_on,
            "phase": r.phase,
            "contact_email": r.contact_email,
            "team": r.team(lang),
            "benefit": r.purpose(lang),
            "process_integration": r.integration(lang),
            "provided_information": r.outputs(lang),
            "human_decisions_and_review": r.oversight(lang),
            "maintenance": r.maintenance(lang),
            "model_output": r.outputs(lang),
            "model_performance": r.validation(lang),
            "data_completeness_and_representativeness": r.data_caveats(lang),
        }
    out = {**declared, **system}
    sources = {k: "system" for k in system} | {k: "declared" for k in declared}
    return out, sources


@dataclass(frozen=True)
class Entry:
    """One model version's record: the ATRS values, where each came from, what people must
    still write, its code hash, and its use."""

    model: str
    version: str
    code_hash: str
    atrs: dict[str, Any]
    sources: dict[str, str]
    left_to_people: tuple[str, ...]
    usage: Usage | None


def register(
    session: Session, fields: Sequence[AtrsField], pub: Publisher, lang: str, today: date
) -> list[Entry]:
    """Every installed model version's record, in registry order. Each record has every ATRS
    attribute: a field no one has written is an empty string and is named in
    `left_to_people`."""
    used = usage(session)
    counted = agreements(session)
    out = []
    for number, (model, _example) in enumerate(INSTALLED, start=1):
        known, sources = values(model, number, used.get(model.hash), pub, lang, today, counted)
        atrs = {f.attribute: known.get(f.attribute, "") for f in fields}
        left = tuple(f.attribute for f in fields if f.attribute not in known)
        out.append(Entry(model.name, model.version, model.hash, atrs, sources, left,
                         used.get(model.hash)))  # fmt: skip
    return out
