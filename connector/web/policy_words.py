"""A usage policy in plain Italian or English, for people reading a dataset page.

The policy is compiled as the PDP compiles it (`policy.compiler.compile_policy`): the same
rules, in the same order, numbered as a steward counts them. Each becomes one sentence: who
may (or must not) do what, under which conditions, with which duties; values are shown in
words (purposes by name, members by their handle, times as dates).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from policy.compiler import Atom, Combined, compile_policy
from policy.odrl import UsagePolicy
from policy.vocabulary import LEFT_OPERANDS

W = dict[str, str]

ACTIONS: dict[str, W] = {
    "use": {"it": "usare il dataset in ogni modo", "en": "use the dataset in any way"},
    "read": {"it": "ricevere le righe (trasferimento)", "en": "receive the rows (transfer)"},
    "aggregate": {
        "it": "fare domande aggregate con privacy differenziale",
        "en": "ask differentially private aggregate questions",
    },
    "compute": {
        "it": "eseguire modelli approvati presso il detentore",
        "en": "run approved models at the holder",
    },
    "share": {
        "it": "condividere i risultati con un'altra organizzazione",
        "en": "share results with another organisation",
    },
    "publish": {
        "it": "pubblicare i risultati sul portale pubblico, per chiunque",
        "en": "publish results on the public portal, for anyone",
    },
}
OPERANDS: dict[str, W] = {
    "purpose": {"it": "la finalità", "en": "the purpose"},
    "recipient": {"it": "l'organizzazione destinataria", "en": "the recipient organisation"},
    "recipientRole": {"it": "il ruolo di chi agisce", "en": "the role of the person acting"},
    "dateTime": {"it": "la data", "en": "the date"},
    "spatial": {"it": "le aree statistiche", "en": "the statistical areas"},
    "count": {"it": "il numero di usi", "en": "the number of uses"},
    "modelHash": {"it": "il modello", "en": "the model"},
    "epsilon": {"it": "l'ε di una domanda", "en": "one question's ε"},
    "epsilonTotal": {"it": "l'ε speso in totale", "en": "the ε spent in total"},
}
OPERATORS: dict[str, W] = {
    "eq": {"it": "è", "en": "is"},
    "neq": {"it": "non è", "en": "is not"},
    "gt": {"it": "è dopo", "en": "is after"},
    "gteq": {"it": "è dal", "en": "is on or after"},
    "lt": {"it": "è prima del", "en": "is before"},
    "lteq": {"it": "è al massimo", "en": "is at most"},
    "isA": {"it": "rientra in", "en": "is a kind of"},
    "isAnyOf": {"it": "è una tra", "en": "is one of"},
    "isAllOf": {"it": "comprende tutte", "en": "includes all of"},
    "isNoneOf": {"it": "non è nessuna tra", "en": "is none of"},
    "isPartOf": {"it": "sta dentro", "en": "lies within"},
    "hasPart": {"it": "comprende", "en": "includes"},
}
NUMERIC: dict[str, W] = {
    "gt": {"it": "supera", "en": "is above"},
    "gteq": {"it": "è almeno", "en": "is at least"},
    "lt": {"it": "è sotto", "en": "is below"},
    "lteq": {"it": "è al massimo", "en": "is at most"},
}
DUTIES: dict[str, W] = {
    "obtainApproval": {
        "it": "con l'approvazione di un responsabile dei dati del detentore",
        "en": "with the approval of one of the holder's data stewards",
    },
    "attribute": {"it": "citando la fonte", "en": "crediting the source"},
}
JOIN: dict[str, W] = {
    "and": {"it": " e ", "en": " and "},
    "andSequence": {"it": " e poi ", "en": " and then "},
    "or": {"it": " oppure ", "en": " or "},
    "xone": {"it": " oppure (solo una) ", "en": " or (only one) "},
}
FIXED: dict[str, W] = {
    "may": {"it": "chi riceve può", "en": "the recipient may"},
    "must_not": {"it": "chi riceve non può", "en": "the recipient must not"},
    "if": {"it": " se ", "en": " if "},
    "permission": {"it": "Permesso", "en": "Permission"},
    "prohibition": {"it": "Divieto", "en": "Prohibition"},
    "win": {
        "it": "I divieti prevalgono sempre sui permessi.",
        "en": "Prohibitions always win over permissions.",
    },
    "deny": {
        "it": "Tutto ciò che non è permesso è negato.",
        "en": "Anything not permitted is denied.",
    },
}


def _value(left: str, value: Any, lang: str, names: Mapping[str, Mapping[str, str]]) -> str:
    if isinstance(value, list):
        return ", ".join(_value(left, v, lang, names) for v in value)
    text = str(value)
    if left == "dateTime":
        return text[:10]
    return names.get(left, {}).get(text, text)


def _atom(a: Atom, lang: str, names: Mapping[str, Mapping[str, str]]) -> str:
    kind = LEFT_OPERANDS[a.left].kind
    table = NUMERIC if kind in ("count", "number") else OPERATORS
    op = table.get(a.operator, OPERATORS.get(a.operator, {lang: a.operator}))[lang]
    left = OPERANDS.get(a.left, {lang: a.left})[lang]
    return f"{left} {op} {_value(a.left, a.right, lang, names)}"


def explain(
    policy: UsagePolicy, lang: str, names: Mapping[str, Mapping[str, str]] | None = None
) -> list[str]:
    """One sentence per rule, then the two rules every Gemello policy ends with. `names` maps
    an operand's raw values to words (e.g. purposes, members)."""
    names = names or {}
    compiled = compile_policy(policy, policy.target or "urn:gemello:dataset")
    lines = []
    for rule in compiled.rules:
        verb = FIXED["may" if rule.kind == "permission" else "must_not"][lang]
        action = ACTIONS.get(rule.action, {lang: rule.action})[lang]
        parts = []
        for p in rule.parts:
            if isinstance(p, Combined):
                inner = JOIN[p.kind][lang].join(_atom(m, lang, names) for m in p.members)
                parts.append(f"({inner})")
            else:
                parts.append(_atom(p, lang, names))
        when = FIXED["if"][lang] + JOIN["and"][lang].join(parts) if parts else ""
        duties = "".join(f", {DUTIES.get(d, {lang: d})[lang]}" for d in rule.duties)
        head = f"{FIXED[rule.kind][lang]} {rule.number}"
        lines.append(f"{head}: {verb} {action}{when}{duties}.")
    if any(r.kind == "prohibition" for r in compiled.rules):
        lines.append(FIXED["win"][lang])
    lines.append(FIXED["deny"][lang])
    return lines
