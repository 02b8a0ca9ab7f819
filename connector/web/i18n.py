"""The console's words in Italian (the default) and English.

One table, keyed by a short message id; a page asks `t("id")` and gets the reader's language.
A missing id is a bug that a test catches (every id used by a template is in both languages).
"""

from __future__ import annotations

from collections.abc import Callable

from catalog.model import THEME_LABELS, Theme

LANGUAGES = ("it", "en")
DEFAULT = "it"

MESSAGES: dict[str, dict[str, str]] = {
    "app": {"it": "Console Gemello", "en": "Gemello console"},
    "skip": {"it": "Vai al contenuto", "en": "Skip to content"},
    "nav": {"it": "Sezioni", "en": "Sections"},
    "discover": {"it": "Cerca dati", "en": "Discover data"},
    "work": {"it": "Il mio lavoro", "en": "My work"},
    "work.jobs": {"it": "Le mie simulazioni federate", "en": "My federated runs"},
    "work.jobs.none": {
        "it": "Non hai ancora avviato simulazioni da questo connettore.",
        "en": "You have not run a model from this connector yet.",
    },
    "work.negotiations": {"it": "Le mie richieste di accesso", "en": "My access requests"},
    "work.negotiations.none": {
        "it": "Non hai ancora chiesto l'accesso a un dataset.",
        "en": "You have not asked for access to a dataset yet.",
    },
    "work.agreements.none": {
        "it": "La tua organizzazione non ha ancora accordi con gli altri membri.",
        "en": "Your organisation holds no agreement with the other members yet.",
    },
    "col.model": {"it": "Modello", "en": "Model"},
    "col.started": {"it": "Avviata (UTC)", "en": "Started (UTC)"},
    "col.dataset": {"it": "Dataset", "en": "Dataset"},
    "col.holder": {"it": "Detentore", "en": "Holder"},
    "state.running": {"it": "in corso", "en": "running"},
    "state.succeeded": {"it": "completata", "en": "succeeded"},
    "state.partial": {"it": "parziale", "en": "partial"},
    "state.failed": {"it": "non riuscita", "en": "failed"},
    "signin.title": {"it": "Accedi", "en": "Sign in"},
    "signin.intro": {
        "it": "Accedi con il tuo token API (lo riceve chi amministra il connettore: "
        "`gemello user add`). Il token non viene salvato nel browser: apre una sessione "
        "sul connettore.",
        "en": "Sign in with your API token (your connector's admin gives it to you: "
        "`gemello user add`). The browser does not keep the token: it opens a session on "
        "the connector.",
    },
    "signin.token": {"it": "Token API", "en": "API token"},
    "signin.submit": {"it": "Accedi", "en": "Sign in"},
    "signin.failed": {"it": "Accesso non riuscito", "en": "Sign-in failed"},
    "signin.expired": {
        "it": "La sessione è scaduta o è stata chiusa: accedi di nuovo.",
        "en": "Your session expired or was closed: please sign in again.",
    },
    "signout": {"it": "Esci", "en": "Sign out"},
    "signedout": {"it": "Sei uscito dalla console.", "en": "You have signed out."},
    "as": {"it": "Connesso come", "en": "Signed in as"},
    "on": {"it": "su", "en": "on"},
    "language": {"it": "Lingua", "en": "Language"},
    "search.title": {"it": "Cerca nel catalogo federato", "en": "Search the federated catalogue"},
    "search.intro": {
        "it": "Cerca i dataset di tutti i membri dello spazio dati. I dati restano presso chi "
        "li detiene: qui vedi solo le descrizioni.",
        "en": "Search the datasets of every member of the data space. The data stays with "
        "its holders: here you see only their descriptions.",
    },
    "search.q": {"it": "Parole", "en": "Words"},
    "search.q.hint": {
        "it": "tutte devono comparire, in italiano o in inglese",
        "en": "all must appear, in Italian or English",
    },
    "search.theme": {"it": "Tema", "en": "Theme"},
    "search.member": {"it": "Membro", "en": "Member"},
    "search.area": {"it": "Area statistica o quartiere", "en": "Statistical area or district"},
    "search.start": {"it": "Dati dal", "en": "Data from"},
    "search.end": {"it": "Dati fino al", "en": "Data until"},
    "search.any": {"it": "qualsiasi", "en": "any"},
    "search.submit": {"it": "Cerca", "en": "Search"},
    "map.pick": {
        "it": "Le 90 aree statistiche di Bologna: scegline una per cercare i dati che la "
        "coprono (evidenziata l'area o il quartiere scelto).",
        "en": "Bologna's 90 statistical areas: pick one to search the data covering it (the "
        "chosen area or district is highlighted).",
    },
    "search.found": {"it": "dataset trovati", "en": "datasets found"},
    "search.none": {
        "it": "Nessun dataset corrisponde alla ricerca.",
        "en": "No dataset matches this search.",
    },
    "search.sources": {"it": "Aggiornamento dei membri", "en": "Freshness of each member"},
    "col.title": {"it": "Titolo", "en": "Title"},
    "col.member": {"it": "Membro", "en": "Member"},
    "col.themes": {"it": "Temi", "en": "Themes"},
    "col.privacy": {"it": "Protezione", "en": "Protection"},
    "col.period": {"it": "Periodo", "en": "Period"},
    "col.state": {"it": "Stato", "en": "State"},
    "col.last": {"it": "Ultima lettura riuscita (UTC)", "en": "Last successful read (UTC)"},
    "stale": {"it": "non aggiornato", "en": "stale"},
    "fresh": {"it": "aggiornato", "en": "fresh"},
    "dataset.back": {"it": "Torna alla ricerca", "en": "Back to the search"},
    "dataset.fields": {"it": "Descrizione DCAT-AP", "en": "DCAT-AP description"},
    "dataset.policy": {"it": "Condizioni d'uso", "en": "Usage policy"},
    "dataset.offers": {
        "it": "Offerte di contratto (ODRL)",
        "en": "Contract offers (ODRL)",
    },
    "dataset.stale": {
        "it": "Il membro non ha risposto all'ultima lettura: la descrizione potrebbe non essere "
        "aggiornata.",
        "en": "The member did not answer the last crawl: this description may be out of date.",
    },
    "field.description": {"it": "Descrizione", "en": "Description"},
    "field.publisher": {"it": "Editore", "en": "Publisher"},
    "field.themes": {"it": "Temi", "en": "Themes"},
    "field.keywords": {"it": "Parole chiave", "en": "Keywords"},
    "field.period": {"it": "Periodo coperto", "en": "Time covered"},
    "field.modified": {"it": "Ultima modifica", "en": "Last modified"},
    "field.license": {"it": "Licenza", "en": "Licence"},
    "field.frequency": {"it": "Aggiornamento", "en": "Update frequency"},
    "field.personal": {"it": "Contiene dati personali", "en": "Contains personal data"},
    "field.synthetic": {
        "it": "Dati sintetici (generati, non reali)",
        "en": "Synthetic data (generated, not real)",
    },
    "yes": {"it": "sì", "en": "yes"},
    "agreements.title": {
        "it": "Accordi della mia organizzazione",
        "en": "My organisation's agreements",
    },
    "agreements.none": {
        "it": "La tua organizzazione non ha ancora accordi su questo dataset.",
        "en": "Your organisation holds no agreement on this dataset yet.",
    },
    "agreements.own": {
        "it": "Questo dataset è della tua organizzazione: non serve un accordo.",
        "en": "This dataset is your organisation's own: it needs no agreement.",
    },
    "col.agreement": {"it": "Accordo", "en": "Agreement"},
    "col.purpose": {"it": "Finalità", "en": "Purpose"},
    "col.uses": {"it": "Usi", "en": "Uses"},
    "col.agreed": {"it": "Concluso (UTC)", "en": "Agreed (UTC)"},
    "revoked": {"it": "revocato", "en": "revoked"},
    "live": {"it": "valido", "en": "in force"},
    "request.title": {"it": "Chiedi l'accesso", "en": "Request access"},
    "request.intro": {
        "it": "La richiesta avvia una negoziazione DSP con il detentore: la sua politica "
        "d'uso decide, a volte dopo l'approvazione di un responsabile dei dati.",
        "en": "The request starts a DSP negotiation with the holder: its usage policy "
        "decides, sometimes after a data steward approves.",
    },
    "request.purpose": {"it": "Finalità dichiarata", "en": "Declared purpose"},
    "request.submit": {"it": "Chiedi l'accesso", "en": "Request access"},
    "neg.title": {"it": "Richiesta di accesso", "en": "Access request"},
    "neg.dataset": {"it": "Dataset", "en": "Dataset"},
    "neg.holder": {"it": "Detentore", "en": "Holder"},
    "neg.state": {"it": "Stato DSP", "en": "DSP state"},
    "neg.started": {"it": "Avviata (UTC)", "en": "Started (UTC)"},
    "neg.agreement": {"it": "Accordo firmato", "en": "Signed agreement"},
    "neg.reason": {"it": "Motivo", "en": "Reason"},
    "neg.moving": {
        "it": "In corso: il detentore sta valutando la richiesta…",
        "en": "In progress: the holder is deciding…",
    },
    "neg.steward": {
        "it": "In attesa: la politica del detentore può richiedere l'approvazione di un "
        "responsabile dei dati. Questa pagina si aggiorna da sola.",
        "en": "Waiting: the holder's policy may ask a data steward to approve. This page "
        "updates itself.",
    },
    "neg.agreed": {
        "it": "Accordo concluso e firmato.",
        "en": "Agreed and signed.",
    },
    "neg.refused": {"it": "Richiesta rifiutata o interrotta.", "en": "Refused or ended."},
    "no": {"it": "no", "en": "no"},
    "field.identifier": {"it": "Identificativo", "en": "Identifier"},
    "field.privacy": {"it": "Classe di protezione", "en": "Protection class"},
    "error.title": {"it": "Richiesta rifiutata", "en": "Request refused"},
    "error.forbidden": {
        "it": "Il tuo ruolo non consente questa pagina.",
        "en": "Your role does not allow this page.",
    },
    "error.csrf": {
        "it": "Il modulo è scaduto o non viene da questa console: ricarica la pagina e riprova.",
        "en": "The form expired or did not come from this console: reload the page and try again.",
    },
    "error.notfound": {"it": "Non trovato", "en": "Not found"},
    "error.bad": {"it": "Richiesta non valida", "en": "Invalid request"},
    "home": {"it": "Torna alla console", "en": "Back to the console"},
}

PRIVACY = {
    "open": {"it": "aperto", "en": "open"},
    "aggregate-only": {"it": "solo aggregati", "en": "aggregates only"},
    "compute-only": {"it": "solo calcolo presso il detentore", "en": "compute at the holder only"},
}


PURPOSE_LABELS = {
    "research": {"it": "ricerca", "en": "research"},
    "academic-research": {"it": "ricerca accademica", "en": "academic research"},
    "public-policy": {"it": "politiche pubbliche", "en": "public policy"},
    "planning": {"it": "pianificazione", "en": "planning"},
    "emergency-response": {"it": "risposta alle emergenze", "en": "emergency response"},
    "education": {"it": "didattica", "en": "education"},
    "commercial": {"it": "uso commerciale", "en": "commercial use"},
}


THEMES_IT = {
    "AGRI": "Agricoltura, pesca, silvicoltura e prodotti alimentari",
    "ECON": "Economia e finanze",
    "EDUC": "Istruzione, cultura e sport",
    "ENER": "Energia",
    "ENVI": "Ambiente",
    "GOVE": "Governo e settore pubblico",
    "HEAL": "Salute",
    "INTR": "Tematiche internazionali",
    "JUST": "Giustizia, sistema giuridico e sicurezza pubblica",
    "REGI": "Regioni e città",
    "SOCI": "Popolazione e società",
    "TECH": "Scienza e tecnologia",
    "TRAN": "Trasporti",
}


def theme_label(code: str, lang: str) -> str:
    """An EU data theme in the reader's language (English labels from the catalogue)."""
    if lang == "it":
        return THEMES_IT.get(code, code)
    return THEME_LABELS.get(Theme(code), code) if code in Theme.__members__ else code


def purpose_label(code: str, lang: str) -> str:
    """A purpose of the controlled list in words."""
    return PURPOSE_LABELS.get(code, {}).get(lang, code)


def pick(lang: str | None) -> str:
    """A supported language from a cookie or query value."""
    return lang if lang in LANGUAGES else DEFAULT


def translator(lang: str) -> Callable[[str], str]:
    """`t(id)` in `lang` (KeyError names a missing id)."""

    def t(key: str) -> str:
        return MESSAGES[key][lang]

    return t


def privacy_label(value: str, lang: str) -> str:
    """A protection class in words (the code itself when it has none)."""
    return PRIVACY.get(value, {}).get(lang, value)
