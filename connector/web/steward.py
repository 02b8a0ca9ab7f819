"""The data steward's console: each dataset's policy in words with its history, a structured
policy editor (no JSON: rules and constraints picked from the profile, test cases run against
the draft, the effect on existing agreements shown before saving), the approvals inbox, the
agreements with revocation and what each organisation may still do, and the privacy budgets
over time with raises and resets as recorded acts.

The pages call the services the API and the CLI call (`policies.service`, `contracts.approvals`,
`privacy.service`), with the same roles: a steward or an admin.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response
from starlette.datastructures import FormData

from connector.contracts import approvals
from connector.contracts.impact import AgreementImpact, draft_impact, trial_pdp
from connector.errors import BadRequest, GemelloError, NotFound
from connector.gateway.gazetteer import Gazetteer
from connector.identity.schemas import Role
from connector.policies import service as policies
from connector.privacy import service as ledger
from connector.runtime import Connector, get_connector
from connector.storage import Session, session_scope
from connector.web import i18n
from connector.web.charts import SVG_HEADERS, steps_over_time
from connector.web.policy_words import ACTIONS as ACTION_WORDS
from connector.web.policy_words import DUTIES as DUTY_WORDS
from connector.web.policy_words import NUMERIC, OPERANDS, OPERATORS, explain
from connector.web.security import PREFIX, console
from connector.web.shell import language, render
from models.registry import MODELS
from policy.drafting import ConstraintDraft, PolicyDraft, RuleDraft, from_document, to_document
from policy.odrl import PolicyInvalid, parse_policy
from policy.testing import CaseResult, parse_cases, run_on
from policy.vocabulary import ACTIONS, DUTIES, LEFT_OPERANDS, PURPOSES, ROLES, SET_OPERATORS

STEWARDS = (Role.steward, Role.admin)
pages = APIRouter(prefix=PREFIX, include_in_schema=False, dependencies=[console(*STEWARDS)])
MAX_RULES, MAX_CONSTRAINTS = 20, 12
EXAMPLE_CASES = """[[case]]
name = "unibo, research: allowed"
action = "aggregate"
purpose = "research"
organisation = "unibo"
expect = "allow"
"""


def _who(request: Request) -> str:
    principal = request.state.signed_in.principal
    return str(principal.name or principal.subject)


# --- words and choices --------------------------------------------------------------------------


def _members(conn: Connector) -> dict[str, tuple[str, str]]:
    """participant id -> (handle, legal name), for every member of the dataspace."""
    trust = conn.contracts.trust()
    return {m.participant_id: (m.id, m.legal_name) for m in trust.by_handle.values()}


def _handle_of(members: Mapping[str, tuple[str, str]]) -> Callable[[str], str]:
    """A participant id as its member's handle (the id itself for a stranger)."""
    return lambda pid: members.get(pid, (pid, ""))[0]


def _names(conn: Connector, lang: str) -> dict[str, dict[str, str]]:
    """Raw operand values in words, for policies explained in plain language."""
    return {
        "purpose": {p: i18n.purpose_label(p, lang) for p in PURPOSES},
        "recipient": {pid: handle for pid, (handle, _) in _members(conn).items()},
        "recipientRole": {r: i18n.role_label(r, lang) for r in ROLES},
        "modelHash": {m.hash: m.name for m in MODELS.values()},
    }


def _choices(conn: Connector, lang: str) -> dict[str, list[tuple[str, str]]]:
    """The values a constraint may hold, per left operand, as (value, label)."""
    areas = Gazetteer.cached(conn.settings).areas
    return {
        "purpose": [(p, i18n.purpose_label(p, lang)) for p in PURPOSES],
        "recipientRole": [(r, i18n.role_label(r, lang)) for r in ROLES],
        "recipient": [
            (pid, f"{name} ({handle})") for pid, (handle, name) in sorted(_members(conn).items())
        ],
        "modelHash": [(m.hash, f"{m.name} {m.version}") for m in MODELS.values()],
        "spatial": [
            (str(a.code), f"{a.name} ({a.code})") for a in sorted(areas, key=lambda a: a.name)
        ],
    }


def _words(document: Mapping[str, Any], conn: Connector, lang: str) -> list[str]:
    try:
        return explain(parse_policy(dict(document)), lang, _names(conn, lang))
    except PolicyInvalid as exc:
        return [i18n.MESSAGES["policy.invalid"][lang], *exc.errors]


# --- the list and one dataset's policy ----------------------------------------------------------


@pages.get("/steward")
def steward_home(request: Request) -> Response:
    """Every dataset of this connector with its policy, and what waits for a steward."""
    conn = get_connector(request)
    lang = language(request)
    with session_scope(conn.engine) as session:
        views = policies.all_policies(session, conn.policies.publisher)
        waiting = len(approvals.pending_approvals(session))
    return render(
        request,
        "steward.html",
        datasets=[
            {
                "id": v.dataset_id,
                "source": v.source,
                "version": v.version,
                "set_by": v.set_by or "",
                "set_at": v.set_at.strftime("%Y-%m-%d %H:%M") if v.set_at else "",
                "lines": _words(v.document, conn, lang),
            }
            for v in views
        ],
        waiting=waiting,
    )


def _diff(new: list[str], old: list[str]) -> tuple[list[str], list[str]]:
    """Sentences added and removed between two policies in words."""
    return [s for s in new if s not in old], [s for s in old if s not in new]


@pages.get("/steward/policies/{dataset_id}")
def policy_page(request: Request, dataset_id: str) -> Response:
    """A dataset's policy in words, and its history with what each revision changed."""
    conn = get_connector(request)
    lang = language(request)
    with session_scope(conn.engine) as session:
        view = policies.get_policy(session, conn.policies.publisher, dataset_id)
        history = list(policies.revisions(session, dataset_id))
    revisions = []
    for k, rev in enumerate(history):
        older = history[k + 1] if k + 1 < len(history) else None
        words = _words(rev.document, conn, lang) if rev.document else []
        before = _words(older.document, conn, lang) if older and older.document else []
        added, removed = _diff(words, before)
        revisions.append(
            {
                "version": rev.version,
                "by": rev.set_by,
                "at": rev.set_at.strftime("%Y-%m-%d %H:%M"),
                "note": rev.note,
                "default": rev.document is None,
                "added": added,
                "removed": removed,
            }
        )
    return render(
        request,
        "steward_policy.html",
        dataset=dataset_id,
        view={"source": view.source, "version": view.version, "uid": view.document.get("@id")},
        lines=_words(view.document, conn, lang),
        revisions=revisions,
        saved=request.query_params.get("saved", ""),
    )


# --- the editor ---------------------------------------------------------------------------------


def _count(form: FormData, key: str, most: int) -> int:
    try:
        return max(0, min(int(str(form.get(key) or "0")), most))
    except ValueError:
        return 0


def _draft_from_form(form: FormData) -> PolicyDraft:
    """The draft the form holds (what was picked and typed, as strings)."""
    rules = []
    for i in range(_count(form, "rules", MAX_RULES)):
        constraints = [
            ConstraintDraft(
                str(form.get(f"r{i}.c{j}.left") or ""),
                str(form.get(f"r{i}.c{j}.op") or ""),
                [str(v) for v in form.getlist(f"r{i}.c{j}.v")],
            )
            for j in range(_count(form, f"r{i}.n", MAX_CONSTRAINTS))
        ]
        rules.append(
            RuleDraft(
                str(form.get(f"r{i}.kind") or "permission"),
                str(form.get(f"r{i}.action") or "use"),
                constraints,
                [str(d) for d in form.getlist(f"r{i}.duty")],
            )
        )
    return PolicyDraft(str(form.get("uid") or ""), rules)


def _edit(draft: PolicyDraft, form: FormData, step: str) -> None:
    """Apply a structural step the form asked for: add or remove a rule or a constraint."""
    kind, _, where = step.partition(":")
    if kind == "add-rule":
        if where in ("permission", "prohibition") and len(draft.rules) < MAX_RULES:
            draft.rules.append(RuleDraft(where, "use"))
        return
    parts = where.split(":")
    if not all(p.isdigit() for p in parts) or not parts or int(parts[0]) >= len(draft.rules):
        return
    rule = draft.rules[int(parts[0])]
    if kind == "drop-rule":
        draft.rules.pop(int(parts[0]))
    elif kind == "add-constraint":
        left = str(form.get(f"r{parts[0]}.new") or "")
        if left in LEFT_OPERANDS and len(rule.constraints) < MAX_CONSTRAINTS:
            rule.constraints.append(ConstraintDraft(left, LEFT_OPERANDS[left].operators[0]))
    elif kind == "drop-constraint" and len(parts) == 2 and int(parts[1]) < len(rule.constraints):
        rule.constraints.pop(int(parts[1]))


def _operator_label(left: str, op: str, lang: str) -> str:
    kind = LEFT_OPERANDS[left].kind
    table = NUMERIC if kind in ("count", "number") else OPERATORS
    words = table.get(op, OPERATORS.get(op, {lang: op}))[lang]
    return f"{words} ({op})"


def _widget(left: str) -> str:
    kind = LEFT_OPERANDS[left].kind
    if left == "spatial":
        return "many"
    if kind in ("term", "iri"):
        return "checks"
    return {"datetime": "date", "count": "count", "number": "number"}.get(kind, "text")


def _form_view(
    draft: PolicyDraft,
    problems: Mapping[str, list[str]],
    choices: Mapping[str, list[tuple[str, str]]],
    lang: str,
) -> list[dict[str, Any]]:
    """The rules as the template draws them: every field with its options and its problems."""
    rules = []
    for i, rule in enumerate(draft.rules):
        constraints = []
        for j, c in enumerate(rule.constraints):
            if c.left not in LEFT_OPERANDS:
                continue
            options = choices.get(c.left, [])
            constraints.append(
                {
                    "key": f"r{i}.c{j}",
                    "left": c.left,
                    "label": OPERANDS.get(c.left, {lang: c.left})[lang],
                    "op": c.operator,
                    "ops": [
                        (o, _operator_label(c.left, o, lang))
                        for o in LEFT_OPERANDS[c.left].operators
                    ],  # fmt: skip
                    "widget": _widget(c.left),
                    "options": [(v, label, v in c.values) for v, label in options],
                    "value": c.values[0] if c.values else "",
                    "many": c.operator in SET_OPERATORS,
                    "problems": problems.get(f"r{i}.c{j}", []),
                }
            )
        rules.append(
            {
                "key": f"r{i}",
                "index": i,
                "kind": rule.kind,
                "action": rule.action,
                "duties": rule.duties,
                "constraints": constraints,
                "problems": problems.get(f"r{i}", []),
            }
        )
    return rules


def _cases_with_members(cases: list[dict[str, Any]], conn: Connector) -> list[dict[str, Any]]:
    """A case may name an organisation by its handle (`unibo`): it is tested as its
    participant id."""
    by_handle = {handle: pid for pid, (handle, _) in _members(conn).items()}
    return [
        {**c, "organisation": by_handle.get(str(c.get("organisation")), c.get("organisation"))}
        if "organisation" in c
        else c
        for c in cases
    ]


def _case_rows(results: Sequence[CaseResult]) -> list[dict[str, Any]]:
    return [
        {
            "name": r.name,
            "expected": r.expected,
            "got": "allow" if r.decision.allow else "deny",
            "passed": r.passed,
            "reasons": list(r.decision.reasons),
            "reason_expected": r.reason_expected or "",
        }
        for r in results
    ]


def _impact_rows(
    impacts: Sequence[AgreementImpact], conn: Connector, lang: str
) -> list[dict[str, Any]]:
    members = _members(conn)
    return [
        {
            "id": a.agreement_id,
            "organisation": members.get(a.organisation, (a.organisation, ""))[0],
            "purpose": i18n.purpose_label(a.purpose, lang),
            "uses": a.uses,
            "changes": [
                {
                    "action": ACTION_WORDS.get(c.action, {lang: c.action})[lang],
                    "after": c.after,
                    "why": c.why,
                }
                for c in a.changes
            ],
        }
        for a in impacts
    ]


def _editor(
    request: Request,
    dataset_id: str,
    draft: PolicyDraft,
    cases_text: str,
    note: str,
    *,
    check: bool,
    status: int = 200,
    message: str = "",
) -> Response:
    """The editor with the draft; with `check`, the draft validated, its cases run and its
    effect on the live agreements shown."""
    conn = get_connector(request)
    lang = language(request)
    choices = _choices(conn, lang)
    document, problems = to_document(draft, {k: [v for v, _ in o] for k, o in choices.items()})
    results: list[dict[str, Any]] = []
    impacts: list[dict[str, Any]] = []
    preview: list[str] = []
    with session_scope(conn.engine) as session:
        view = policies.get_policy(session, conn.policies.publisher, dataset_id)
        if check and document is not None:
            target = view.target
            preview = _words({**document, "target": target}, conn, lang)
            try:
                cases = _cases_with_members(parse_cases(cases_text, dataset_id), conn)
                pdp = trial_pdp(target, {**document, "target": target})
                results = _case_rows(run_on(cases, pdp, target))
            except PolicyInvalid as exc:
                problems = {**problems, "cases": exc.errors}
            found = draft_impact(session, dataset_id, target, view.document,
                                 {**document, "target": target})  # fmt: skip
            impacts = _impact_rows(found, conn, lang)
    summary = [{"key": key, "message": m} for key, messages in problems.items() for m in messages]
    return render(
        request,
        "steward_edit.html",
        status=status,
        dataset=dataset_id,
        uid=draft.uid,
        rules=_form_view(draft, problems, choices, lang),
        problems=summary,
        policy_problems=problems.get("policy", []),
        case_problems=problems.get("cases", []),
        operands=[(o, OPERANDS.get(o, {lang: o})[lang]) for o in LEFT_OPERANDS],
        actions=[(a, ACTION_WORDS.get(a, {lang: a})[lang]) for a in ACTIONS],
        duties=[(d, DUTY_WORDS.get(d, {lang: d})[lang]) for d in DUTIES],
        cases=cases_text,
        note=note,
        checked=check and document is not None,
        results=results,
        impacts=impacts,
        preview=preview,
        message=message,
        message_bad=status >= 400,
        policy_version=view.version,
    )


def _start(session: Session, conn: Connector, dataset_id: str) -> tuple[PolicyDraft, str, str]:
    """The draft an editor opens with: the policy in force (a new identifier for the next
    revision), or a blank permission when the form cannot show it."""
    view = policies.get_policy(session, conn.policies.publisher, dataset_id)
    uid = f"urn:gemello:policy:{conn.settings.partner}:{dataset_id}:{view.version + 1}"
    draft = from_document(view.document)
    if draft is None:
        return PolicyDraft(uid, [RuleDraft("permission", "aggregate")]), "combined", ""
    draft.uid = uid
    return draft, "", policies.test_cases(session, dataset_id)


@pages.get("/steward/policies/{dataset_id}/edit")
def edit_policy(request: Request, dataset_id: str) -> Response:
    """The editor, opened on the policy in force."""
    conn = get_connector(request)
    with session_scope(conn.engine) as session:
        draft, why, cases = _start(session, conn, dataset_id)
    message = i18n.MESSAGES["steward.combined"][language(request)] if why else ""
    return _editor(request, dataset_id, draft, cases or EXAMPLE_CASES, "", check=False,
                   message=message)  # fmt: skip


@pages.post("/steward/policies/{dataset_id}/edit")
async def edit_step(request: Request, dataset_id: str) -> Response:
    """A step of the editor: add or remove a rule or a constraint, check the draft, or save
    it as the dataset's next policy revision (only if it is valid and every case passes)."""
    form = await request.form()
    draft = _draft_from_form(form)
    cases, note = str(form.get("cases") or "")[:20_000], str(form.get("note") or "")[:500]
    step = str(form.get("do") or "check")
    if step != "check" and step != "save":
        _edit(draft, form, step)
        return _editor(request, dataset_id, draft, cases, note, check=False)
    if step == "check":
        return _editor(request, dataset_id, draft, cases, note, check=True)
    return _save(request, dataset_id, draft, cases, note)


def _save(request: Request, dataset_id: str, draft: PolicyDraft, cases: str, note: str) -> Response:
    conn = get_connector(request)
    lang = language(request)
    choices = _choices(conn, lang)
    document, problems = to_document(draft, {k: [v for v, _ in o] for k, o in choices.items()})
    refuse = i18n.MESSAGES["steward.notsaved"][lang]
    if document is None:
        return _editor(request, dataset_id, draft, cases, note, check=True, status=422,
                       message=refuse)  # fmt: skip
    with session_scope(conn.engine) as session:
        target = policies.get_policy(session, conn.policies.publisher, dataset_id).target
    try:
        table = _cases_with_members(parse_cases(cases, dataset_id), conn)
        results = run_on(table, trial_pdp(target, {**document, "target": target}), target)
    except PolicyInvalid:
        return _editor(request, dataset_id, draft, cases, note, check=True, status=422,
                       message=refuse)  # fmt: skip
    if not all(r.passed for r in results):
        failing = i18n.MESSAGES["steward.failing"][lang]
        return _editor(request, dataset_id, draft, cases, note, check=True, status=422,
                       message=f"{refuse} {failing}")  # fmt: skip
    members = {handle: pid for pid, (handle, _) in _members(conn).items()}
    try:
        with session_scope(conn.engine, write=True) as session:
            view = policies.set_policy(session, conn.policies.publisher, dataset_id, document,
                                       _who(request), members, note=note)  # fmt: skip
            policies.keep_test_cases(session, dataset_id, cases, _who(request))
    except GemelloError as exc:
        return _editor(request, dataset_id, draft, cases, note, check=True, status=exc.status,
                       message=f"{refuse} {exc.detail}")  # fmt: skip
    return RedirectResponse(
        f"{PREFIX}/steward/policies/{quote(dataset_id)}?saved={view.version}", status_code=303
    )


# --- requests and agreements --------------------------------------------------------------------


@pages.get("/steward/requests")
def requests_page(request: Request) -> Response:
    """The approvals inbox, the agreements granted (with revocation), and what each
    organisation may still do under them."""
    return _requests(request)


def _requests(request: Request, error: str = "", status: int = 200) -> Response:
    conn = get_connector(request)
    lang = language(request)
    members = _members(conn)
    org = _handle_of(members)

    with session_scope(conn.engine) as session:
        pending = approvals.pending_approvals(session)
        granted = approvals.granted(session)
        past = {n.counterparty: approvals.past_use(session, n.counterparty) for n in pending}
        views = {v.dataset_id: v for v in policies.all_policies(session, conn.policies.publisher)}
        budgets = {(b["dataset_id"], b["organisation"]): b for b in ledger.budgets(session)}
        standing = approvals.standing(session, conn.policies, granted)
    inbox = [
        {
            "id": n.id,
            "organisation": org(n.counterparty),
            "name": members.get(n.counterparty, ("", n.counterparty))[1],
            "dataset": n.dataset_id,
            "purpose": i18n.purpose_label(n.purpose, lang),
            "role": i18n.role_label(n.requested_role, lang),
            "asked": n.created_at.strftime("%Y-%m-%d %H:%M"),
            "policy": _words(views[n.dataset_id].document, conn, lang)
            if n.dataset_id in views
            else [],
            "past": past[n.counterparty],
        }
        for n in pending
    ]
    agreements = []
    for a in granted:
        left = standing.get(a.id)
        budget = budgets.get((a.dataset_id, a.consumer))
        agreements.append(
            {
                "id": a.id,
                "organisation": org(a.consumer),
                "dataset": a.dataset_id,
                "purpose": i18n.purpose_label(a.purpose, lang),
                "agreed": a.agreed_at.strftime("%Y-%m-%d"),
                "approved_by": a.approved_by or "",
                "uses": a.use_count,
                "uses_left": "" if left is None or left.uses_left is None else left.uses_left,
                "until": left.until if left and left.until else "",
                "blocked": left.blocked if left else "",
                "epsilon_left": i18n.number(budget["remaining"], 2, lang) if budget else "",
                "revoked": a.revoked_at.strftime("%Y-%m-%d %H:%M") if a.revoked_at else "",
                "revoke_reason": a.revoke_reason,
            }
        )
    return render(request, "steward_requests.html", status=status, inbox=inbox,
                  agreements=agreements, error=error)  # fmt: skip


def _form_reason(form: FormData) -> str:
    reason = " ".join(str(form.get("reason") or "").split())[:500]
    if not reason:
        raise BadRequest("a reason is needed: it is kept with the record")
    return reason


@pages.post("/steward/requests/{pid}/{verdict}")
async def decide_request(request: Request, pid: str, verdict: str) -> Response:
    """Approve a request (the agreement is signed and sent) or reject it with a reason."""
    if verdict not in ("approve", "reject"):
        raise NotFound(f"no step '{verdict}' for a request")
    conn = get_connector(request)
    form = await request.form()
    rt = conn.contracts
    try:
        with session_scope(conn.engine, write=True) as session:
            if verdict == "approve":
                approvals.approve(session, rt.policies, rt.me(), rt.trust(), pid, _who(request))
            else:
                approvals.reject(session, rt.trust(), pid, _who(request), _form_reason(form))
    except GemelloError as exc:
        return _requests(request, error=exc.detail, status=exc.status)
    rt.wake()
    return RedirectResponse(f"{PREFIX}/steward/requests#inbox-title", status_code=303)


@pages.post("/steward/agreements/{agreement_id}/revoke")
async def revoke_agreement(request: Request, agreement_id: str) -> Response:
    """Revoke an agreement with a reason: every later use is refused, the consumer is told,
    and the organisation may not negotiate for the dataset again until a steward lifts it."""
    conn = get_connector(request)
    form = await request.form()
    rt = conn.contracts
    try:
        with session_scope(conn.engine, write=True) as session:
            approvals.revoke(session, rt.trust(), agreement_id, _who(request), _form_reason(form))
    except GemelloError as exc:
        return _requests(request, error=exc.detail, status=exc.status)
    rt.wake()
    return RedirectResponse(f"{PREFIX}/steward/requests#agreements-title", status_code=303)


# --- the privacy budget -------------------------------------------------------------------------


@pages.get("/steward/budgets")
def budgets_page(request: Request) -> Response:
    """Budgets per dataset and organisation, spending over time, the latest charges, and the
    raises and resets stewards made (each with its reason)."""
    done = request.query_params.get("done", "")
    return _budgets(request, done=done if done in ("raise", "reset") else "")


def _budgets(request: Request, error: str = "", status: int = 200, done: str = "") -> Response:
    conn = get_connector(request)
    lang = language(request)
    members = _members(conn)
    org = _handle_of(members)

    with session_scope(conn.engine) as session:
        rows = ledger.budgets(session)
        charges = ledger.charges(session, None, None, 50)
        acts = ledger.adjustments(session)
        datasets = [v.dataset_id for v in policies.all_policies(session, conn.policies.publisher)]
    fmt = lambda v: i18n.number(v, 2, lang)  # noqa: E731
    return render(
        request,
        "steward_budgets.html",
        status=status,
        error=error,
        done=done,
        budgets=[
            {
                **b,
                "org": org(b["organisation"]),
                "shown": {
                    k: fmt(b[k]) for k in ("total", "credit", "spent", "reserved", "remaining")
                },
            }  # fmt: skip
            for b in rows
        ],
        charts=sorted({b["dataset_id"] for b in rows}),
        charges=[
            {
                "id": c["id"],
                "when": c["created_at"].strftime("%Y-%m-%d %H:%M"),
                "dataset": c["dataset_id"],
                "org": org(c["organisation"]),
                "kind": c["kind"],
                "state": c["state"],
                "epsilon": fmt(c["epsilon"]),
                "what": _charge_words(c),
                "job": str(c["summary"].get("job_id") or ""),
            }
            for c in charges
        ],
        acts=[
            {
                **a,
                "org": org(a["organisation"]),
                "when": a["made_at"].strftime("%Y-%m-%d %H:%M"),
                "epsilon": fmt(a["epsilon"]),
                "before": fmt(a["remaining_before"]),
                "after": fmt(a["remaining_after"]),
            }  # fmt: skip
            for a in acts
        ],
        datasets=datasets,
        organisations=[
            (pid, f"{name} ({handle})") for pid, (handle, name) in sorted(members.items())
        ],
    )


def _charge_words(charge: Mapping[str, Any]) -> str:
    s = charge.get("summary") or {}
    if charge.get("kind") == "query":
        groups = ", ".join(s.get("group_by") or [])
        shape = f"{s.get('aggregate', '')}({s.get('column') or ''})"
        return shape + (f" × {groups}" if groups else "")
    return str(s.get("model") or s.get("output") or charge.get("kind") or "")


@pages.get("/steward/budgets/{dataset_id}/chart.svg")
def budget_chart(request: Request, dataset_id: str) -> Response:
    """Epsilon spent on a dataset over time, a line per organisation, its total dashed."""
    conn = get_connector(request)
    lang = language(request)
    members = _members(conn)
    with session_scope(conn.engine) as session:
        series = ledger.spending_over_time(session, dataset_id)
        budgets = ledger.budgets(session, dataset_id)
    totals = {b["organisation"]: b["total"] + b["credit"] for b in budgets}
    if not series:
        raise NotFound(f"nothing was spent on '{dataset_id}' yet")
    lines = [
        (members.get(org, (org, ""))[0], points, totals.get(org))
        for (_, org), points in sorted(series.items())
    ]
    body = steps_over_time(
        lines,
        f"{i18n.MESSAGES['steward.spent'][lang]}: {dataset_id}",
        "ε",
        i18n.MESSAGES["steward.total"][lang],
    )
    return Response(body, media_type="image/svg+xml", headers=SVG_HEADERS)


@pages.post("/steward/budgets/acts")
async def budget_act(request: Request) -> Response:
    """Raise or reset a budget: a recorded act with its reason."""
    conn = get_connector(request)
    form = await request.form()
    kind = str(form.get("kind") or "")
    organisation = str(form.get("organisation") or "")
    dataset_id = str(form.get("dataset") or "")
    raw = str(form.get("epsilon") or "").strip().replace(",", ".")
    try:
        if organisation not in _members(conn):
            raise BadRequest(f"'{organisation}' is not a member of the dataspace")
        try:
            epsilon = float(raw) if raw else None
        except ValueError:
            raise BadRequest(f"'{raw}' is not a number") from None
        with session_scope(conn.engine, write=True) as session:
            ledger.adjust_budget(
                session, dataset_id, organisation, kind, str(form.get("reason") or ""),
                _who(request), epsilon=epsilon if kind == "raise" else None,
                default_total=conn.settings.privacy_default_epsilon_total,
            )  # fmt: skip
    except GemelloError as exc:
        return _budgets(request, error=exc.detail, status=exc.status)
    return RedirectResponse(f"{PREFIX}/steward/budgets?done={kind}#acts-title", status_code=303)
