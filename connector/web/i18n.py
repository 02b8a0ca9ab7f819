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
    "state.dismissed": {"it": "annullata", "en": "dismissed"},
    "state.refused": {"it": "rifiutata", "en": "refused"},
    "state.answered": {"it": "risposta ricevuta", "en": "answered"},
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
    "models": {"it": "Scenari", "en": "Scenarios"},
    "models.lead": {
        "it": "Ogni modello gira presso i detentori dei dati: i dati non si muovono, tornano solo "
        "aggregati protetti.",
        "en": "Each model runs where the data is held: the data does not move, only protected "
        "aggregates come back.",
    },
    "models.run": {"it": "Prepara uno scenario", "en": "Set up a scenario"},
    "models.example": {"it": "Esempio", "en": "Example"},
    "models.reads": {"it": "Legge", "en": "Reads"},
    "scenario.title": {"it": "Nuovo scenario", "en": "New scenario"},
    "scenario.run": {"it": "Avvia la simulazione federata", "en": "Run across the federation"},
    "scenario.purpose": {"it": "Finalità", "en": "Purpose"},
    "scenario.epsilon": {
        "it": "Budget di privacy per dataset protetto (ε)",
        "en": "Privacy budget per protected dataset (ε)",
    },
    "scenario.epsilon.help": {
        "it": "Più basso: più rumore e meno budget speso. Vale solo per i dati protetti.",
        "en": "Lower: more noise and less budget spent. Applies to protected data only.",
    },
    "scenario.errors": {
        "it": "Lo scenario non è valido: correggi i campi segnati.",
        "en": "The scenario is not valid: correct the marked fields.",
    },
    "scenario.default": {"it": "predefinito", "en": "default"},
    "scenario.range": {"it": "da {lo} a {hi}", "en": "from {lo} to {hi}"},
    "scenario.sweep.help": {
        "it": "Facoltativo: più scenari in un solo lavoro, uno per valore del parametro scelto, "
        "dal primo all'ultimo valore (compreso) con il passo dato; al massimo 64. Il lavoro "
        "resta lo scenario qui sopra; la serie si legge in una tabella del risultato",
        "en": "Optional: several scenarios in one job, one for each value of the chosen "
        "parameter, from the first to the last value (included) by the given step; at most "
        "64. The job stays the scenario above; the sweep reads as a table in the result",
    },
    "scenario.sweep.parameter": {"it": "Parametro da variare", "en": "Parameter to vary"},
    "scenario.sweep.none": {"it": "nessuno (un solo scenario)", "en": "none (one scenario)"},
    "scenario.sweep.start": {"it": "Primo valore", "en": "First value"},
    "scenario.sweep.stop": {"it": "Ultimo valore", "en": "Last value"},
    "scenario.sweep.step": {"it": "Passo della serie", "en": "Step of the sweep"},
    "scenario.more": {"it": "altre righe dopo l'invio", "en": "more rows after sending"},
    "scenario.method": {"it": "Come funziona", "en": "How it works"},
    "run.scenario": {"it": "Scenario", "en": "Scenario"},
    "run.defaults": {
        "it": "valori predefiniti (lo scenario di base)",
        "en": "the defaults (the baseline)",
    },
    "run.title": {"it": "Simulazione", "en": "Run"},
    "run.progress": {"it": "Avanzamento", "en": "Progress"},
    "run.elapsed": {"it": "tempo trascorso", "en": "elapsed"},
    "run.noscript": {
        "it": "La pagina si aggiorna da sola ogni pochi secondi.",
        "en": "The page refreshes itself every few seconds.",
    },
    "run.failed": {"it": "La simulazione non è riuscita", "en": "The run failed"},
    "run.rerun": {"it": "Rilancia con altri parametri", "en": "Run again with changed parameters"},
    "run.compare": {"it": "Confronta con un'altra simulazione", "en": "Compare with another run"},
    "stage.done": {"it": "completata", "en": "done"},
    "stage.running": {"it": "in corso", "en": "running"},
    "stage.waiting": {"it": "in attesa", "en": "waiting"},
    "stage.skipped": {"it": "non eseguita", "en": "not run"},
    "stage.stopped": {"it": "fermata", "en": "stopped"},
    "holder.pending": {"it": "in coda", "en": "queued"},
    "holder.negotiating": {"it": "accordo in negoziazione", "en": "negotiating an agreement"},
    "holder.running": {"it": "calcolo presso il detentore", "en": "computing at the holder"},
    "holder.succeeded": {"it": "risultato firmato ricevuto", "en": "signed result received"},
    "holder.failed": {"it": "fallito", "en": "failed"},
    "result.headline": {"it": "Cifre principali", "en": "Headline figures"},
    "result.map": {
        "it": "Mappa delle 90 aree statistiche",
        "en": "Map of the 90 statistical areas",
    },
    "result.map.pick": {"it": "Cosa mostrare", "en": "What to show"},
    "result.map.hint": {
        "it": "Passa sopra un'area o selezionala con il tasto Tab per leggerne il valore.",
        "en": "Hover over an area, or reach it with the Tab key, to read its value.",
    },
    "result.legend": {"it": "Legenda", "en": "Legend"},
    "result.nodata": {"it": "nessun valore", "en": "no value"},
    "result.districts": {"it": "Totali per quartiere", "en": "Totals by district"},
    "result.areas": {"it": "Tutte le aree", "en": "Every area"},
    "result.sort": {
        "it": "Ordina le colonne con un clic sull'intestazione.",
        "en": "Sort by clicking a column heading.",
    },
    "result.charts": {"it": "Grafici", "en": "Charts"},
    "result.sweep.curve": {"it": "Serie di scenari", "en": "Sweep: every scenario of the job"},
    "result.sweep.bands": {
        "it": "Incertezza: percentili del campione Monte Carlo",
        "en": "Uncertainty: percentiles of the Monte Carlo sample",
    },
    "result.sweep.note": {
        "it": "Uno scenario per riga, calcolati insieme in un solo lavoro; le mappe e le tabelle "
        "che seguono mostrano lo scenario del lavoro.",
        "en": "One scenario a row, computed together in one job; the maps and tables below "
        "show the job's own scenario.",
    },
    "result.chart.data": {"it": "I numeri del grafico", "en": "The chart's numbers"},
    "result.chart.sampled": {"it": "(serie campionata)", "en": "(series sampled)"},
    "result.caveats": {
        "it": "Da sapere prima di usare questi numeri",
        "en": "Read before using these figures",
    },
    "result.synthetic": {
        "it": "Dati sintetici (generati, non reali)",
        "en": "Synthetic inputs (generated, not real)",
    },
    "result.real": {"it": "Dati reali", "en": "Real inputs"},
    "result.none": {"it": "nessuno", "en": "none"},
    "result.assumptions": {"it": "Ipotesi del modello", "en": "The model's assumptions"},
    "result.limits": {"it": "Limiti", "en": "Limits"},
    "result.validation": {"it": "Validazione", "en": "Validation"},
    "result.noise": {"it": "Rumore di privacy differenziale", "en": "Differential-privacy noise"},
    "result.nonoise": {
        "it": "Nessun rumore: nessun dato d'ingresso è protetto.",
        "en": "No noise: no input is protected.",
    },
    "result.noise.sd": {"it": "deviazione standard del rumore", "en": "noise standard deviation"},
    "result.suppressed": {
        "it": "celle soppresse (gruppi troppo piccoli)",
        "en": "cells suppressed (groups too small)",
    },
    "result.partial": {"it": "Risultato parziale: mancano", "en": "Partial result: missing"},
    "result.provenance": {"it": "Provenienza", "en": "Provenance"},
    "result.prov.model": {"it": "Modello e impronta del codice", "en": "Model and code hash"},
    "result.prov.by": {"it": "Richiesta da", "en": "Requested by"},
    "result.prov.agreements": {"it": "Contratti (DSP)", "en": "Agreements (DSP)"},
    "result.prov.own": {"it": "dati propri", "en": "own data"},
    "result.prov.datasets": {"it": "Dati letti (impronta)", "en": "Data read (digest)"},
    "result.prov.decisions": {"it": "Decisioni di policy", "en": "Policy decisions"},
    "result.prov.signature": {"it": "Risultato firmato (impronta)", "en": "Signed result (digest)"},
    "result.downloads": {"it": "Scarica", "en": "Download"},
    "result.download.csv": {"it": "Tabella delle aree (CSV)", "en": "Area table (CSV)"},
    "result.download.geojson": {"it": "Mappa delle aree (GeoJSON)", "en": "Area map (GeoJSON)"},
    "result.download.html": {"it": "Rapporto (HTML)", "en": "Report (HTML)"},
    "result.download.prov": {
        "it": "Provenienza W3C PROV (JSON-LD)",
        "en": "W3C PROV provenance (JSON-LD)",
    },
    "result.summary": {"it": "Riepilogo", "en": "Summary"},
    "ask.title": {"it": "Domanda privata", "en": "Private question"},
    "ask.lead": {
        "it": "Una domanda aggregata con privacy differenziale: il detentore risponde con valori "
        "rumorosi e scala il budget ε della tua organizzazione.",
        "en": "A differentially private aggregate question: the holder answers with noisy "
        "values and charges your organisation's ε budget.",
    },
    "ask.budget": {"it": "Budget rimasto", "en": "Budget left"},
    "ask.of": {"it": "su", "en": "of"},
    "ask.queries": {"it": "domande", "en": "queries"},
    "ask.spent": {"it": "speso", "en": "spent"},
    "ask.noagreement": {
        "it": "La tua organizzazione non ha un accordo valido su questo dataset.",
        "en": "Your organisation holds no live agreement on this dataset.",
    },
    "ask.request": {"it": "Chiedi l'accesso", "en": "Request access"},
    "ask.noprofile": {
        "it": "Questo dataset non pubblica un profilo di interrogazione.",
        "en": "This dataset publishes no query profile.",
    },
    "ask.agreement": {"it": "Accordo", "en": "Agreement"},
    "ask.aggregate": {"it": "Aggregato", "en": "Aggregate"},
    "ask.column": {"it": "Colonna", "en": "Column"},
    "ask.column.help": {
        "it": "Tra parentesi i limiti pubblici: i valori fuori vengono riportati al limite.",
        "en": "In brackets the public bounds: values outside are clamped to them.",
    },
    "ask.groupby": {"it": "Raggruppa per (al massimo due)", "en": "Group by (at most two)"},
    "ask.values": {"it": "valori", "en": "values"},
    "ask.filter": {"it": "Filtra per", "en": "Filter by"},
    "ask.nofilter": {"it": "nessun filtro", "en": "no filter"},
    "ask.filter.values": {"it": "Valori del filtro", "en": "Filter values"},
    "ask.epsilon.help": {
        "it": "Più alto: meno rumore, più budget speso.",
        "en": "Higher: less noise, more budget spent.",
    },
    "ask.quantile": {"it": "Quantile (per il quantile)", "en": "Quantile (for quantile)"},
    "ask.bins": {"it": "Classi (per l'istogramma)", "en": "Bins (for histogram)"},
    "ask.preview": {"it": "Errore atteso", "en": "Expected error"},
    "ask.preview.button": {"it": "Aggiorna l'anteprima", "en": "Update the preview"},
    "ask.preview.cell": {
        "it": "Ogni cella: errore standard ±{sd} {unit}.",
        "en": "Each cell: standard error ±{sd} {unit}.",
    },
    "ask.preview.group": {
        "it": "Un gruppo di {n} righe: errore standard ±{sd} {unit}.",
        "en": "A group of {n} rows: standard error ±{sd} {unit}.",
    },
    "ask.preview.ci": {
        "it": "Il 95 % delle risposte cade entro ±1,96 errori standard dal valore vero.",
        "en": "95 % of answers fall within ±1.96 standard errors of the true value.",
    },
    "ask.preview.quantile": {
        "it": "L'errore di un quantile dipende dalla dispersione dei dati: non è noto prima.",
        "en": "A quantile's error depends on the data's spread: it is not known beforehand.",
    },
    "ask.preview.free": {
        "it": "L'anteprima non spende budget.",
        "en": "The preview spends no budget.",
    },
    "ask.rows": {"it": "righe", "en": "rows"},
    "ask.go": {"it": "Chiedi (spende ε)", "en": "Ask (spends ε)"},
    "ask.answer": {"it": "Risposta", "en": "Answer"},
    "ask.again": {"it": "Nuova domanda", "en": "Ask again"},
    "ask.refused": {"it": "Domanda rifiutata", "en": "Question refused"},
    "ask.group": {"it": "Gruppo", "en": "Group"},
    "ask.value": {"it": "Valore (con rumore)", "en": "Value (noisy)"},
    "ask.stderr": {"it": "Errore standard", "en": "Standard error"},
    "ask.count": {"it": "Righe (con rumore)", "en": "Rows (noisy)"},
    "ask.note": {"it": "Nota", "en": "Note"},
    "ask.suppressed": {"it": "soppressa", "en": "suppressed"},
    "ask.noise": {"it": "Come è stato aggiunto il rumore", "en": "How the noise was added"},
    "ask.link": {"it": "Fai una domanda privata", "en": "Ask a private question"},
    "agg.count": {"it": "conteggio", "en": "count"},
    "agg.sum": {"it": "somma", "en": "sum"},
    "agg.mean": {"it": "media", "en": "mean"},
    "agg.variance": {"it": "varianza", "en": "variance"},
    "agg.histogram": {"it": "istogramma", "en": "histogram"},
    "agg.quantile": {"it": "quantile", "en": "quantile"},
    "work.queries": {"it": "Le mie domande private", "en": "My private questions"},
    "work.queries.none": {"it": "Nessuna domanda ancora.", "en": "No question yet."},
    "share.title": {"it": "Condividi", "en": "Share"},
    "share.intro": {
        "it": "Chi riceve vede gli stessi aggregati protetti che vedi tu, con la provenienza. "
        "Con un'altra organizzazione decide la politica di ogni dataset usato.",
        "en": "Recipients see the same protected aggregates you see, with the provenance. With "
        "another organisation, every input dataset's policy decides.",
    },
    "share.org": {"it": "Organizzazione", "en": "Organisation"},
    "share.user": {"it": "Persona (nome utente)", "en": "Person (user name)"},
    "share.user.help": {
        "it": "Vuoto: tutti gli utenti dell'organizzazione.",
        "en": "Empty: every user of the organisation.",
    },
    "share.note": {"it": "Nota", "en": "Note"},
    "share.go": {"it": "Condividi", "en": "Share"},
    "share.everyone": {"it": "tutti", "en": "everyone"},
    "share.from": {"it": "Condivisa da", "en": "Shared by"},
    "work.shared": {"it": "Condivise con me", "en": "Shared with me"},
    "work.shared.none": {
        "it": "Nessuno ha ancora condiviso una simulazione con te.",
        "en": "Nobody has shared a run with you yet.",
    },
    "policy.invalid": {
        "it": "Questa offerta non rispetta il profilo Gemello:",
        "en": "This offer does not pass the Gemello profile:",
    },
    "audit.title": {"it": "Registro di audit", "en": "Audit log"},
    "audit.lead": {
        "it": "Ogni atto rilevante di questo connettore, in un registro Merkle a prova di "
        "manomissione, co-firmato dagli altri membri.",
        "en": "Every relevant act of this connector, in a tamper-evident Merkle log co-signed "
        "by the other members.",
    },
    "audit.verify": {"it": "Verifica ora", "en": "Verify now"},
    "audit.search": {"it": "Filtra", "en": "Filter"},
    "audit.found": {"it": "voci", "en": "entries"},
    "audit.more": {"it": "mostra di più", "en": "show more"},
    "audit.f.action": {"it": "Azione", "en": "Action"},
    "audit.f.actor": {"it": "Persona (pseudonimo)", "en": "Person (pseudonym)"},
    "audit.f.organisation": {"it": "Organizzazione", "en": "Organisation"},
    "audit.f.dataset": {"it": "Dataset", "en": "Dataset"},
    "audit.f.purpose": {"it": "Finalità", "en": "Purpose"},
    "audit.f.correlation": {
        "it": "Correlazione (simulazione, accordo)",
        "en": "Correlation (run, agreement)",
    },
    "audit.f.since": {"it": "Dal", "en": "From"},
    "audit.f.until": {"it": "Al", "en": "Until"},
    "audit.c.at": {"it": "Quando (UTC)", "en": "When (UTC)"},
    "audit.c.outcome": {"it": "Esito", "en": "Outcome"},
    "audit.c.why": {"it": "Motivo", "en": "Reason"},
    "audit.follow": {"it": "Un atto in tutti i registri", "en": "One act in every log"},
    "audit.follow.lead": {
        "it": "Voci trovate nei registri di",
        "en": "Entries found in the logs of",
    },
    "audit.follow.members": {"it": "membri.", "en": "members."},
    "audit.intact": {"it": "Registro integro", "en": "The log is intact"},
    "audit.broken": {"it": "Il registro non si verifica", "en": "The log does not verify"},
    "audit.firstbad": {"it": "Prima voce alterata", "en": "First bad entry"},
    "audit.entries": {"it": "voci", "en": "entries"},
    "audit.checkpoints": {"it": "punti di controllo firmati", "en": "signed checkpoints"},
    "audit.witnessed": {
        "it": "teste co-firmate da altri membri",
        "en": "heads co-signed by other members",
    },
    "audit.witnesses": {"it": "Testimoni", "en": "Witnesses"},
    "audit.heads": {"it": "Teste co-firmate", "en": "Heads co-signed"},
    "audit.largest": {"it": "La più grande (voci)", "en": "Largest (entries)"},
    "audit.latest": {"it": "Ultimi punti di controllo firmati", "en": "Latest signed checkpoints"},
    "audit.size": {"it": "Voci", "en": "Entries"},
    "audit.root": {"it": "Radice Merkle", "en": "Merkle root"},
    "steward.title": {"it": "Governo dei dati", "en": "Data governance"},
    "steward.lead": {
        "it": (
            "Le politiche d'uso dei dataset di questo connettore, le richieste che aspettano "
            "un responsabile, gli accordi e i budget di privacy."
        ),
        "en": (
            "The usage policies of this connector's datasets, the requests waiting for a "
            "steward, the agreements and the privacy budgets."
        ),
    },
    "steward.requests": {"it": "Richieste e accordi", "en": "Requests and agreements"},
    "steward.waiting": {"it": "in attesa", "en": "waiting"},
    "steward.budgets": {"it": "Budget di privacy", "en": "Privacy budgets"},
    "steward.policies": {"it": "Politiche d'uso", "en": "Usage policies"},
    "steward.default": {
        "it": "Offerta predefinita della classe di privacy",
        "en": "The privacy class's default offer",
    },
    "steward.version": {"it": "Versione", "en": "Version"},
    "steward.edit": {"it": "Modifica la politica", "en": "Edit the policy"},
    "steward.policy": {"it": "Politica d'uso", "en": "Usage policy"},
    "steward.saved": {
        "it": "Salvata: ora vale la versione",
        "en": "Saved: in force now is version",
    },
    "steward.now": {"it": "In vigore", "en": "In force"},
    "steward.history": {"it": "Storia delle revisioni", "en": "Revision history"},
    "steward.nohistory": {
        "it": "Nessuna revisione: il dataset ha sempre avuto l'offerta predefinita.",
        "en": "No revisions: the dataset has always carried the default offer.",
    },
    "steward.backdefault": {
        "it": "Tornata all'offerta predefinita",
        "en": "Back to the default offer",
    },
    "steward.added": {"it": "Aggiunto:", "en": "Added:"},
    "steward.removed": {"it": "Tolto:", "en": "Removed:"},
    "steward.samewords": {
        "it": "Nessuna differenza nelle regole.",
        "en": "No difference in the rules.",
    },
    "steward.editor": {"it": "Editor della politica", "en": "Policy editor"},
    "steward.editor.lead": {
        "it": (
            "Componete la politica scegliendo regole e condizioni dal profilo ODRL di "
            "Gemello: nessun JSON da scrivere. «Verifica» controlla la bozza, esegue i casi "
            "di prova e mostra cosa cambierebbe per gli accordi in essere; «Salva» crea una "
            "nuova revisione solo se tutto passa."
        ),
        "en": (
            "Compose the policy from rules and conditions of the Gemello ODRL profile: no "
            "JSON to write. “Check” validates the draft, runs the test cases and shows what "
            "would change for the existing agreements; “Save” makes a new revision only if "
            "everything passes."
        ),
    },
    "steward.problems": {"it": "Da correggere prima di salvare", "en": "To fix before saving"},
    "steward.uid": {"it": "Identificativo della politica", "en": "Policy identifier"},
    "steward.uid.help": {
        "it": (
            "Proposto per la prossima revisione; resta nella storia e nei registri delle decisioni."
        ),
        "en": (
            "Proposed for the next revision; it stays in the history and in the decision records."
        ),
    },
    "steward.permission": {"it": "Permesso", "en": "Permission"},
    "steward.prohibition": {"it": "Divieto", "en": "Prohibition"},
    "steward.kind": {"it": "Tipo di regola", "en": "Kind of rule"},
    "steward.action": {"it": "Azione", "en": "Action"},
    "steward.conditions": {
        "it": "Condizioni (tutte devono valere)",
        "en": "Conditions (all must hold)",
    },
    "steward.noconditions": {
        "it": "Nessuna condizione: la regola vale per chiunque, per qualsiasi finalità.",
        "en": "No conditions: the rule holds for anyone, for any purpose.",
    },
    "steward.values": {"it": "Valori", "en": "Values"},
    "steward.value": {"it": "Valore", "en": "Value"},
    "steward.dropc": {"it": "Togli la condizione", "en": "Remove the condition"},
    "steward.newc": {"it": "Nuova condizione su", "en": "New condition on"},
    "steward.addc": {"it": "Aggiungi la condizione", "en": "Add the condition"},
    "steward.duties": {"it": "Doveri", "en": "Duties"},
    "steward.dropr": {"it": "Togli la regola", "en": "Remove rule"},
    "steward.addp": {"it": "Aggiungi un permesso", "en": "Add a permission"},
    "steward.addx": {"it": "Aggiungi un divieto", "en": "Add a prohibition"},
    "steward.cases": {"it": "Casi di prova", "en": "Test cases"},
    "steward.cases.help": {
        "it": (
            "Nel formato della tabella di «gemello policy test»: un [[case]] per richiesta, "
            "con action, purpose, organisation (anche per nome breve, es. unibo), uses (usi "
            'già fatti), epsilon, spent, e expect = "allow" o "deny". Vengono eseguiti sulla '
            "bozza prima di ogni salvataggio."
        ),
        "en": (
            "In the table format of “gemello policy test”: one [[case]] per request, with "
            "action, purpose, organisation (a handle such as unibo will do), uses (earlier "
            'uses), epsilon, spent, and expect = "allow" or "deny". They run against the '
            "draft before every save."
        ),
    },
    "steward.cases.label": {"it": "Casi (tabella TOML)", "en": "Cases (TOML table)"},
    "steward.results": {"it": "Esito dei casi sulla bozza", "en": "The cases on the draft"},
    "steward.case": {"it": "Caso", "en": "Case"},
    "steward.expected": {"it": "Atteso", "en": "Expected"},
    "steward.got": {"it": "Decisione", "en": "Decision"},
    "steward.reasons": {"it": "Motivi", "en": "Reasons"},
    "steward.pass": {"it": "passa", "en": "passes"},
    "steward.fail": {"it": "non passa", "en": "fails"},
    "steward.preview": {"it": "La bozza in parole", "en": "The draft in words"},
    "steward.impact": {
        "it": "Cosa cambierebbe per gli accordi in essere",
        "en": "What would change for the existing agreements",
    },
    "steward.noagreements": {
        "it": "Nessun accordo in essere su questo dataset.",
        "en": "No live agreement on this dataset.",
    },
    "steward.usessofar": {"it": "usi finora", "en": "uses so far"},
    "steward.unchanged": {"it": "nulla cambia", "en": "nothing changes"},
    "steward.nowallowed": {"it": "diventerebbe permesso", "en": "would become allowed"},
    "steward.nolonger": {"it": "non sarebbe più permesso", "en": "would no longer be allowed"},
    "steward.note": {
        "it": "Nota sulla revisione (facoltativa, resta nella storia)",
        "en": "Note on this revision (optional, kept in the history)",
    },
    "steward.check": {"it": "Verifica", "en": "Check"},
    "steward.save": {"it": "Salva come versione", "en": "Save as version"},
    "steward.combined": {
        "it": (
            "La politica in vigore combina condizioni con e/oppure, che l'editor non compone:"
            " parte da una bozza nuova (la CLI e l'API accettano anche quelle politiche)."
        ),
        "en": (
            "The policy in force combines conditions with and/or, which the editor does not "
            "compose: it starts from a new draft (the CLI and the API take such policies "
            "too)."
        ),
    },
    "steward.notsaved": {"it": "Non salvata.", "en": "Not saved."},
    "steward.failing": {
        "it": "Un caso di prova non passa: correggete la bozza o il caso.",
        "en": "A test case fails: fix the draft or the case.",
    },
    "steward.inbox": {"it": "Richieste da approvare", "en": "Requests to approve"},
    "steward.inbox.empty": {"it": "Nessuna richiesta in attesa.", "en": "No request is waiting."},
    "steward.who": {"it": "Chi chiede", "en": "Who asks"},
    "steward.forwhat": {"it": "Per quale finalità", "en": "For what purpose"},
    "steward.asked": {"it": "Richiesta il", "en": "Asked on"},
    "steward.past": {"it": "Uso passato", "en": "Past use"},
    "steward.past.agreements": {"it": "accordi", "en": "agreements"},
    "steward.past.uses": {"it": "usi", "en": "uses"},
    "steward.past.revoked": {"it": "revocati", "en": "revoked"},
    "steward.underpolicy": {"it": "Sotto la politica", "en": "Under the policy"},
    "steward.approve": {"it": "Approva", "en": "Approve"},
    "steward.reject": {"it": "Rifiuta", "en": "Reject"},
    "steward.rejectwhy": {"it": "Motivo del rifiuto", "en": "Why it is rejected"},
    "steward.agreements": {"it": "Accordi concessi", "en": "Agreements granted"},
    "steward.agreements.lead": {
        "it": (
            "Cosa può ancora fare ogni organizzazione: usi rimasti sotto la politica in "
            "vigore, ε rimasto, data di fine."
        ),
        "en": (
            "What each organisation may still do: uses left under the policy in force, ε "
            "left, end date."
        ),
    },
    "steward.agreed": {"it": "Concesso", "en": "Agreed"},
    "steward.approvedby": {"it": "approvato da", "en": "approved by"},
    "steward.uses": {"it": "Usi", "en": "Uses"},
    "steward.usesleft": {"it": "Usi rimasti", "en": "Uses left"},
    "steward.epsleft": {"it": "ε rimasto", "en": "ε left"},
    "steward.until": {"it": "Fino al", "en": "Until"},
    "steward.nolimit": {"it": "senza limite", "en": "no limit"},
    "steward.blocked.approval": {
        "it": "manca l'approvazione che la politica chiede",
        "en": "lacks the approval the policy asks for",
    },
    "steward.blocked.no-use": {
        "it": "la politica in vigore non permette alcun uso",
        "en": "the policy in force allows no use",
    },
    "steward.noend": {"it": "nessuna scadenza", "en": "no end date"},
    "steward.revoke": {"it": "Revoca", "en": "Revoke"},
    "steward.revokewhy": {"it": "Motivo della revoca", "en": "Why it is revoked"},
    "steward.budgets.lead": {
        "it": (
            "L'ε speso da ogni organizzazione su ogni dataset, nel tempo, con gli addebiti "
            "che lo hanno speso. Alzare o azzerare un budget è un atto registrato, con il suo"
            " motivo, nel registro di audit e sul portale pubblico."
        ),
        "en": (
            "The ε each organisation spent on each dataset, over time, with the charges that "
            "spent it. Raising or resetting a budget is a recorded act, with its reason, in "
            "the audit log and on the public portal."
        ),
    },
    "steward.budgets.now": {"it": "Budget oggi", "en": "Budgets now"},
    "steward.b.total": {"it": "Totale della politica", "en": "The policy's total"},
    "steward.b.credit": {"it": "Restituito", "en": "Given back"},
    "steward.b.spent": {"it": "Speso", "en": "Spent"},
    "steward.b.reserved": {"it": "Riservato", "en": "Held"},
    "steward.b.left": {"it": "Rimasto", "en": "Left"},
    "steward.b.queries": {"it": "Rilasci", "en": "Releases"},
    "steward.overtime": {"it": "ε speso nel tempo", "en": "ε spent over time"},
    "steward.spent": {"it": "ε speso", "en": "ε spent"},
    "steward.total": {"it": "totale", "en": "total"},
    "steward.act": {"it": "Alzare o azzerare un budget", "en": "Raise or reset a budget"},
    "steward.act.lead": {
        "it": (
            "Alzare aggiunge ε al budget; azzerare fa ripartire da zero ciò che conta contro "
            "il totale. Gli addebiti restano tutti nel registro."
        ),
        "en": (
            "Raising adds ε to the budget; resetting starts what counts against the total "
            "from zero. Every charge stays in the ledger."
        ),
    },
    "steward.act.kind": {"it": "Atto", "en": "Act"},
    "steward.raise": {"it": "alza", "en": "raise"},
    "steward.reset": {"it": "azzera", "en": "reset"},
    "steward.act.eps": {"it": "Di quanto alzare", "en": "Raise by"},
    "steward.act.reason": {"it": "Motivo", "en": "Reason"},
    "steward.act.reason.help": {
        "it": (
            "Obbligatorio (almeno 10 caratteri): è pubblicato nel registro di audit e sul "
            "portale di trasparenza."
        ),
        "en": (
            "Required (at least 10 characters): it is published in the audit log and on the "
            "transparency portal."
        ),
    },
    "steward.act.do": {"it": "Registra l'atto", "en": "Record the act"},
    "steward.done.raise": {
        "it": "Budget alzato e atto registrato.",
        "en": "Budget raised and the act recorded.",
    },
    "steward.done.reset": {
        "it": "Budget azzerato e atto registrato.",
        "en": "Budget reset and the act recorded.",
    },
    "steward.acts": {"it": "Atti sui budget", "en": "Acts on budgets"},
    "steward.acts.none": {
        "it": "Nessun budget è stato alzato o azzerato.",
        "en": "No budget has been raised or reset.",
    },
    "steward.before": {"it": "Rimasto prima (ε)", "en": "Left before (ε)"},
    "steward.after": {"it": "Rimasto dopo (ε)", "en": "Left after (ε)"},
    "steward.by": {"it": "Da", "en": "By"},
    "steward.charges": {"it": "Ultimi addebiti", "en": "Latest charges"},
    "steward.ch.kind": {"it": "Tipo", "en": "Kind"},
    "steward.ch.what": {"it": "Cosa è stato rilasciato", "en": "What was released"},
    "steward.ch.id": {"it": "Domanda o lavoro", "en": "Query or job"},
    "audit.report": {"it": "Rapporto di audit", "en": "Audit report"},
    "audit.report.lead": {
        "it": (
            "Ciò che il registro contiene in un periodo: accessi per dataset e "
            "organizzazione, finalità, tentativi negati, ε speso, esecuzioni di modelli e "
            "atti sui budget. Ogni tabella si scarica in CSV."
        ),
        "en": (
            "What the log holds over a period: accesses per dataset and organisation, "
            "purposes, denied attempts, ε spent, model runs and budget acts. Each table "
            "downloads as CSV."
        ),
    },
    "audit.report.period": {"it": "Periodo del rapporto", "en": "The report's period"},
    "audit.report.show": {"it": "Mostra il rapporto", "en": "Show the report"},
    "audit.report.charts": {"it": "Grafici", "en": "Charts"},
    "audit.report.csv": {"it": "Scarica in CSV", "en": "Download as CSV"},
    "audit.report.first": {"it": "Sono mostrate le prime", "en": "Shown: the first"},
    "audit.report.csvall": {"it": "il CSV le contiene tutte", "en": "the CSV holds them all"},
    "audit.report.none": {"it": "Niente in questo periodo.", "en": "Nothing in this period."},
    "audit.r.accesses": {
        "it": "Decisioni per dataset, organizzazione ed esito",
        "en": "Decisions per dataset, organisation and outcome",
    },
    "audit.r.purposes": {"it": "Finalità dichiarate", "en": "Declared purposes"},
    "audit.r.denied": {"it": "Tentativi negati", "en": "Denied attempts"},
    "audit.r.epsilon": {
        "it": "ε speso per dataset e organizzazione",
        "en": "ε spent per dataset and organisation",
    },
    "audit.r.runs": {"it": "Esecuzioni e lavori federati", "en": "Runs and federated jobs"},
    "audit.r.budget_acts": {"it": "Budget alzati o azzerati", "en": "Budgets raised or reset"},
    "audit.r.decisions": {"it": "decisioni", "en": "decisions"},
    "admin.health": {"it": "Salute del connettore", "en": "Connector health"},
    "admin.rotated": {"it": "Nuova chiave di firma in uso:", "en": "New signing key in use:"},
    "admin.signing": {"it": "Chiavi di firma", "en": "Signing keys"},
    "admin.signing.lead": {
        "it": (
            "Il connettore firma le sue chiamate agli altri membri e i punti di controllo del"
            " registro. Ruotare la chiave pubblica la nuova sulla lista di fiducia insieme "
            "alla vecchia, che resta valida per la sovrapposizione scelta, poi firma con la "
            "nuova."
        ),
        "en": (
            "The connector signs its calls to the other members and its log's checkpoints. "
            "Rotating publishes the new key on the trust list alongside the old one, which "
            "stays valid for the chosen overlap, then signs with the new one."
        ),
    },
    "admin.kid": {"it": "Chiave", "en": "Key"},
    "admin.age": {"it": "Età (giorni)", "en": "Age (days)"},
    "admin.activekey": {"it": "in uso", "en": "in use"},
    "admin.retires": {"it": "valida fino al", "en": "valid until"},
    "admin.overlap": {"it": "Sovrapposizione (secondi)", "en": "Overlap (seconds)"},
    "admin.overlap.help": {
        "it": (
            "Quanto a lungo la chiave vecchia resta valida per le richieste già firmate (10 "
            "minuti di norma, al massimo 7 giorni)."
        ),
        "en": (
            "How long the old key stays valid for requests already signed (10 minutes by "
            "default, 7 days at most)."
        ),
    },
    "admin.rotate": {"it": "Ruota la chiave", "en": "Rotate the key"},
    "admin.norotate": {
        "it": (
            "Chiave non ruotata: questo connettore non può aggiornare la lista di fiducia "
            "firmata (serve la chiave dell'autorità dello spazio dati; chiedetele di "
            "pubblicare la nuova chiave)."
        ),
        "en": (
            "Key not rotated: this connector cannot update the signed trust list (that takes "
            "the dataspace authority's key; ask it to publish the new key)."
        ),
    },
    "health.lead": {
        "it": (
            "Lo stato delle parti del connettore adesso, e fin dove gli altri membri hanno "
            "co-firmato il suo registro di audit."
        ),
        "en": (
            "The state of the connector's parts now, and how far the other members have co-"
            "signed its audit log."
        ),
    },
    "health.parts": {"it": "Parti", "en": "Parts"},
    "health.part": {"it": "Parte", "en": "Part"},
    "health.detail": {"it": "Dettagli", "en": "Details"},
    "health.state.ok": {"it": "funziona", "en": "working"},
    "health.state.warn": {"it": "da guardare", "en": "needs a look"},
    "health.state.down": {"it": "ferma", "en": "down"},
    "health.database": {"it": "Base dati", "en": "Database"},
    "health.policy engine": {"it": "Motore delle politiche", "en": "Policy engine"},
    "health.executor": {"it": "Esecutore dei modelli", "en": "Model executor"},
    "health.outbox": {"it": "Messaggi in uscita", "en": "Outbox"},
    "health.audit log": {"it": "Registro di audit", "en": "Audit log"},
    "health.witnesses": {"it": "Testimoni del registro", "en": "The log's witnesses"},
    "health.witnesses.lead": {
        "it": "Voci dell'ultimo punto di controllo firmato da questo connettore:",
        "en": "Entries in this connector's latest signed checkpoint:",
    },
    "health.cosigned": {"it": "Co-firmato fino a (voci)", "en": "Co-signed up to (entries)"},
    "health.lag": {"it": "Ritardo (voci)", "en": "Behind (entries)"},
    "pub.list": {"it": "Risultati pubblicati", "en": "Published results"},
    "pub.list.lead": {
        "it": (
            "Risultati di scenari che i ricercatori di questa organizzazione hanno pubblicato: "
            "solo ciò che è stato rilasciato, già con il rumore della privacy differenziale, con "
            "la sua provenienza e le decisioni delle politiche d'uso che lo hanno permesso."
        ),
        "en": (
            "Scenario results researchers of this organisation published: only what was released,"
            " already with differential-privacy noise, with its provenance and the usage-policy "
            "decisions that allowed it."
        ),
    },
    "pub.none": {"it": "Nessun risultato pubblicato finora.", "en": "No result published so far."},
    "pub.title": {"it": "Titolo", "en": "Title"},
    "pub.day": {"it": "Pubblicato il", "en": "Published on"},
    "pub.by": {"it": "Pubblicato da", "en": "Published by"},
    "pub.epsilon": {"it": "ε speso dall'esecuzione", "en": "ε the run spent"},
    "pub.stable": {"it": "Indirizzo stabile", "en": "Stable address"},
    "pub.decisions": {
        "it": "Chi ha permesso la pubblicazione",
        "en": "Who allowed the publication",
    },
    "pub.decisions.lead": {
        "it": (
            "Ogni detentore dei dati di ingresso ha deciso l'azione ODRL «pubblicare» secondo la "
            "propria politica d'uso."
        ),
        "en": (
            "Each holder of the input data decided the ODRL action “publish” under its own usage "
            "policy."
        ),
    },
    "pub.dataset": {"it": "Dataset", "en": "Dataset"},
    "pub.allowed": {"it": "Permesso", "en": "Allowed"},
    "pub.decision": {"it": "Decisione", "en": "Decision"},
    "pub.researcher_of": {"it": "un ricercatore di {org}", "en": "a researcher of {org}"},
    "pub.download.release": {
        "it": "Il rilascio pubblicato (JSON)",
        "en": "The published release (JSON)",
    },
    "pub.form.title": {"it": "Pubblica sul portale pubblico", "en": "Publish on the public portal"},
    "pub.form.intro": {
        "it": (
            "Chiunque potrà leggere i risultati rilasciati di questa esecuzione (già con rumore),"
            " con la sua provenienza, senza il tuo nome. Ogni detentore dei dati decide secondo "
            "la propria politica: i dati personali non si pubblicano, salvo che la politica lo "
            "permetta."
        ),
        "en": (
            "Anyone will be able to read this run's released results (already noised), with its "
            "provenance, without your name. Each data holder decides under its own policy: "
            "results from personal data are not published unless the policy allows it."
        ),
    },
    "pub.form.name": {"it": "Titolo", "en": "Title"},
    "pub.form.name.help": {
        "it": "Almeno 5 caratteri; diventa il titolo della pagina.",
        "en": "At least 5 characters; it becomes the page's title.",
    },
    "pub.form.note": {
        "it": "Nota: che cosa mostra il risultato",
        "en": "Note: what the result shows",
    },
    "pub.form.go": {"it": "Pubblica", "en": "Publish"},
    "pub.form.done": {"it": "Pubblicato:", "en": "Published:"},
    "verify.col": {"it": "Verifica", "en": "Verify"},
    "verify.proofs": {"it": "le prove (JSON)", "en": "the proofs (JSON)"},
    "verify.go": {"it": "Verifica nel tuo browser", "en": "Verify in your browser"},
    "verify.title": {"it": "Verificalo tu stesso", "en": "Verify it yourself"},
    "verify.lead": {
        "it": (
            "Il tuo browser controlla che le voci del registro di audit di questo risultato siano"
            " nell'albero di Merkle che gli altri membri hanno co-firmato (SHA-256 e l'algoritmo "
            "della RFC 9162), senza prendere per buona la parola di questo server sull'integrità "
            "del registro: una voce alterata nel suo database non supererebbe il controllo."
        ),
        "en": (
            "Your browser checks that this result's audit entries are in the Merkle tree the "
            "other members co-signed (SHA-256 and the RFC 9162 algorithm), without taking this "
            "server's word that its log is intact: an entry altered in its database would fail "
            "the check."
        ),
    },
    "verify.head": {
        "it": "Testa del registro co-firmata: {size} voci, radice {root}, co-firmata da {who}.",
        "en": "Co-signed head of the log: {size} entries, root {root}, co-signed by {who}.",
    },
    "verify.ok": {
        "it": "Verificato: ogni voce ({n}) è nel registro co-firmato.",
        "en": "Verified: every entry ({n}) is in the co-signed log.",
    },
    "verify.fail": {
        "it": (
            "Verifica fallita: voci che non sono nel registro co-firmato: {n}. Il registro è "
            "stato alterato, oppure questo server non dice il vero."
        ),
        "en": (
            "Verification failed: entries not in the co-signed log: {n}. The log was altered, or "
            "this server is not telling the truth."
        ),
    },
    "verify.pending": {
        "it": "Voci più recenti non ancora co-firmate: {n}; riprova tra qualche secondo.",
        "en": "Newer entries not co-signed yet: {n}; try again in a few seconds.",
    },
    "verify.nohead": {
        "it": "Nessun altro membro ha ancora co-firmato questo registro: riprova tra poco.",
        "en": "No other member has co-signed this log yet: try again shortly.",
    },
    "verify.error": {
        "it": "Le prove non si sono potute leggere:",
        "en": "The proofs could not be read:",
    },
    "verify.noscript": {
        "it": (
            "Senza JavaScript puoi scaricare le prove e verificarle con lo script per gli auditor:"
        ),
        "en": (
            "Without JavaScript you can download the proofs and check them with the auditors' "
            "script:"
        ),
    },
    "pub.download.dcat": {"it": "La scheda DCAT-AP (Turtle)", "en": "The DCAT-AP entry (Turtle)"},
    "verify.rolledback": {
        "it": (
            "Il registro è più corto di una testa che gli altri membri hanno co-firmato: ha perso"
            " delle voci."
        ),
        "en": "The log is shorter than a head the other members co-signed: it lost entries.",
    },
    "fed.title": {"it": "La federazione", "en": "The federation"},
    "fed.lead": {
        "it": (
            "I risultati pubblicati e l'uso dei dati di ogni membro dello spazio dei dati, letti "
            "adesso dai loro portali. Ogni riga si verifica sul portale del membro che la tiene."
        ),
        "en": (
            "Every member's published results and data use, read now from their portals. Each row"
            " is verified on the portal of the member that holds it."
        ),
    },
    "fed.portal": {"it": "Il portale del membro", "en": "The member's portal"},
    "fed.unreachable": {
        "it": "Il portale di questo membro non ha risposto:",
        "en": "This member's portal did not answer:",
    },
    "run.dismissed": {"it": "Esecuzione annullata", "en": "Run dismissed"},
    "run.dismissed.stopped": {
        "it": (
            "Annullata mentre era in corso: è stata fermata presso ogni partner, e l'ε che "
            "avevano riservato è tornato disponibile."
        ),
        "en": (
            "Dismissed while running: it was stopped at every partner, and the ε they held was "
            "given back."
        ),
    },
    "run.dismissed.erased": {
        "it": (
            "Annullata da chi l'aveva chiesta: i risultati salvati sono stati cancellati. La "
            "provenienza e le voci del registro restano."
        ),
        "en": (
            "Dismissed by whoever asked for it: its stored results were erased. Its provenance "
            "and audit entries stay."
        ),
    },
    "portal.brand": {"it": "Gemello trasparenza", "en": "Gemello transparency"},
    "portal.home": {"it": "Portale", "en": "Portal"},
    "portal.title": {
        "it": "Trasparenza del gemello digitale",
        "en": "The digital twin's transparency",
    },
    "portal.lead": {
        "it": (
            "Questo portale pubblica ciò che il sistema in funzione dice di sé: quali "
            "algoritmi usa e con quali dati, chi li ha usati e per cosa, in forma aggregata. "
            "Nessun accesso richiesto."
        ),
        "en": (
            "This portal publishes what the running system says about itself: which "
            "algorithms it uses and on which data, who used them and what for, aggregated. No"
            " sign-in needed."
        ),
    },
    "portal.algorithms": {"it": "Registro degli algoritmi", "en": "Algorithm register"},
    "portal.algorithms.lead": {
        "it": (
            "Una scheda per ogni versione di modello installata, nei campi dello standard "
            "ATRS 3.0, generata dal registro dei modelli, dalle loro schede e dalle "
            "esecuzioni nel registro di audit. L'impronta del codice identifica esattamente "
            "cosa gira."
        ),
        "en": (
            "One record per installed model version, in the fields of the ATRS 3.0 standard, "
            "generated from the model registry, the models' cards and the runs in the audit "
            "log. The code hash identifies exactly what runs."
        ),
    },
    "portal.nonames": {
        "it": (
            "Il portale non mostra nomi di persone, token, testi di domande né risultati non "
            "pubblicati."
        ),
        "en": "The portal shows no person's name, token, question text or unpublished result.",
    },
    "portal.model": {"it": "Modello", "en": "Model"},
    "portal.version": {"it": "Versione", "en": "Version"},
    "portal.hash": {"it": "Impronta del codice", "en": "Code hash"},
    "portal.runs": {"it": "Esecuzioni", "en": "Runs"},
    "portal.runs.lower": {"it": "esecuzioni federate", "en": "federated runs"},
    "portal.phase": {"it": "Fase", "en": "Phase"},
    "portal.fields": {"it": "Campi ATRS", "en": "ATRS fields"},
    "portal.filled": {"it": "compilati", "en": "filled"},
    "portal.leftcount": {"it": "da scrivere", "en": "to write"},
    "portal.exports": {"it": "Scarica il registro", "en": "Download the register"},
    "portal.json": {"it": "JSON (nomi degli attributi ATRS)", "en": "JSON (ATRS attribute names)"},
    "portal.csv": {"it": "CSV (nomi degli attributi ATRS)", "en": "CSV (ATRS attribute names)"},
    "portal.schema": {"it": "Lo schema JSON dei record", "en": "The records' JSON Schema"},
    "portal.exports.lead": {
        "it": (
            "Le esportazioni sono in inglese, come lo standard; aggiungete ?lang=it per "
            "l'italiano. Lo schema è scritto dalla tabella dei campi ATRS."
        ),
        "en": (
            "Exports are in English, as the standard is; add ?lang=it for Italian. The schema"
            " is written from the ATRS field table."
        ),
    },
    "portal.use": {"it": "Uso", "en": "Use"},
    "portal.last": {"it": "l'ultima il", "en": "the latest on"},
    "portal.left": {
        "it": "Campi che una persona deve ancora scrivere",
        "en": "Fields a person must still write",
    },
    "portal.left.lead": {
        "it": (
            "Il sistema non li conosce e non li inventa: restano vuoti finché un responsabile"
            " non li scrive e li rivede."
        ),
        "en": (
            "The system does not know them and does not invent them: they stay empty until "
            "someone responsible writes and reviews them."
        ),
    },
    "portal.field": {"it": "Campo", "en": "Field"},
    "portal.value": {"it": "Valore", "en": "Value"},
    "portal.source": {"it": "Fonte", "en": "Source"},
    "portal.source.system": {"it": "dal sistema", "en": "from the system"},
    "portal.source.declared": {"it": "dichiarato e rivisto", "en": "declared and reviewed"},
    "portal.source.people": {"it": "da scrivere", "en": "to be written"},
    "portal.datause": {"it": "Registro dell'uso dei dati", "en": "Data-use register"},
    "portal.datause.lead": {
        "it": (
            "Per ogni dataset tenuto da questo membro: quali organizzazioni lo hanno usato, "
            "per quali finalità, quante volte (usi permessi e negati), quanto ε hanno speso e"
            " quando. Contato dal registro di audit; nessun nome di persona."
        ),
        "en": (
            "For each dataset this member holds: which organisations used it, for which "
            "purposes, how often (uses allowed and denied), how much ε they spent and when. "
            "Counted from the audit log; no person's name."
        ),
    },
    "portal.datause.none": {"it": "Nessun uso registrato finora.", "en": "No use recorded so far."},
    "portal.allowed": {"it": "Usi permessi", "en": "Uses allowed"},
    "portal.denied": {"it": "Negati", "en": "Denied"},
    "portal.epsilon": {"it": "ε speso", "en": "ε spent"},
    "portal.first": {"it": "Primo", "en": "First"},
    "portal.lastday": {"it": "Ultimo", "en": "Last"},
    "portal.acts": {
        "it": "Budget alzati o azzerati, con il motivo",
        "en": "Budgets raised or reset, with the reason",
    },
    "portal.act.raised": {"it": "alzato", "en": "raised"},
    "portal.act.reset": {"it": "azzerato", "en": "reset"},
    "admin.title": {"it": "Amministrazione", "en": "Administration"},
    "admin.issued": {"it": "Nuovo token per", "en": "New token for"},
    "admin.once": {
        "it": "Copialo ora: non verrà mostrato di nuovo (il connettore ne tiene solo l'impronta).",
        "en": "Copy it now: it will not be shown again (the connector keeps only its digest).",
    },
    "admin.token": {"it": "Token API", "en": "API token"},
    "admin.members": {
        "it": "Membri del dataspace (lista firmata)",
        "en": "Members of the dataspace (signed list)",
    },
    "admin.name": {"it": "Nome legale", "en": "Legal name"},
    "admin.participant": {"it": "Identificativo", "en": "Participant id"},
    "admin.keys": {"it": "Chiavi di firma", "en": "Signing keys"},
    "admin.you": {"it": "questo connettore", "en": "this connector"},
    "admin.users": {"it": "Utenti", "en": "Users"},
    "admin.newname": {"it": "Nome utente", "en": "User name"},
    "admin.newname.help": {
        "it": "lettere minuscole, cifre, punto, trattino",
        "en": "lower-case letters, digits, dot, hyphen",
    },
    "admin.role": {"it": "Ruolo", "en": "Role"},
    "admin.create": {"it": "Crea l'utente e il suo token", "en": "Create the user and a token"},
    "admin.active": {"it": "Token attivi", "en": "Active tokens"},
    "admin.another": {"it": "Nuovo token", "en": "New token"},
    "admin.tokens": {"it": "Token API", "en": "API tokens"},
    "admin.label": {"it": "Etichetta", "en": "Label"},
    "admin.created": {"it": "Creato (UTC)", "en": "Created (UTC)"},
    "admin.revoke": {"it": "Revoca", "en": "Revoke"},
    "compare.title": {"it": "Confronta simulazioni", "en": "Compare runs"},
    "compare.pick": {
        "it": "Scegli due o più simulazioni concluse dello stesso modello",
        "en": "Pick two or more finished runs of the same model",
    },
    "compare.none": {"it": "Nessuna simulazione conclusa.", "en": "No finished run yet."},
    "compare.go": {"it": "Confronta", "en": "Compare"},
    "compare.runs": {"it": "Simulazioni a confronto", "en": "Runs compared"},
    "compare.map": {"it": "Mappa della differenza", "en": "Map of the difference"},
    "show.change": {"it": "variazione", "en": "change"},
    "show.scenario": {"it": "scenario", "en": "scenario"},
    "show.baseline": {"it": "base", "en": "baseline"},
    "col.baseline": {"it": "Base", "en": "Baseline"},
    "col.scenario": {"it": "Scenario", "en": "Scenario"},
    "col.change": {"it": "Variazione", "en": "Change"},
    "col.figure": {"it": "Cifra", "en": "Figure"},
    "col.unit": {"it": "Unità", "en": "Unit"},
    "col.area": {"it": "Area", "en": "Area"},
    "col.district": {"it": "Quartiere", "en": "District"},
    "col.stage": {"it": "Fase", "en": "Stage"},
    "col.seconds": {"it": "Secondi", "en": "Seconds"},
    "col.mechanism": {"it": "Meccanismo", "en": "Mechanism"},
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


# The EU frequency authority's codes in words.
FREQUENCIES = {
    "CONT": {"it": "continuo", "en": "continuous"},
    "UPDATE_CONT": {"it": "aggiornato di continuo", "en": "continuously updated"},
    "DAILY": {"it": "giornaliero", "en": "daily"},
    "WEEKLY": {"it": "settimanale", "en": "weekly"},
    "MONTHLY": {"it": "mensile", "en": "monthly"},
    "QUARTERLY": {"it": "trimestrale", "en": "quarterly"},
    "ANNUAL": {"it": "annuale", "en": "annual"},
    "IRREG": {"it": "irregolare", "en": "irregular"},
    "NEVER": {"it": "mai (dato fisso)", "en": "never (a fixed dataset)"},
    "UNKNOWN": {"it": "sconosciuto", "en": "unknown"},
}
ROLES = {
    "researcher": {"it": "ricerca", "en": "researcher"},
    "steward": {"it": "responsabile dei dati", "en": "data steward"},
    "auditor": {"it": "revisione", "en": "auditor"},
    "admin": {"it": "amministrazione", "en": "administrator"},
}


def frequency_label(code: str, lang: str) -> str:
    """An accrual periodicity code (its IRI's last segment) in words."""
    return FREQUENCIES.get(code, {}).get(lang, code)


def role_label(role: str, lang: str) -> str:
    """A user role in words."""
    return ROLES.get(role, {}).get(lang, role)


def licence_label(iri: str) -> str:
    """A licence IRI as its name: the EU licence authority's CC_BY_4_0 reads "CC BY 4.0"."""
    import re

    code = iri.rstrip("/").rsplit("/", 1)[-1]
    return re.sub(r"(\d)_(\d)", r"\1.\2", code).replace("_", " ") if code else iri


def number(value: float, digits: int, lang: str, sign: bool = False) -> str:
    """A figure as its reader writes it: 28.787,5 in Italian, 28,787.5 in English (a value
    that rounds to zero is written 0, never -0)."""
    if round(value, digits) == 0:
        value = 0.0
    text = f"{value:+,.{digits}f}" if sign else f"{value:,.{digits}f}"
    if lang == "it":
        text = text.replace(",", "\0").replace(".", ",").replace("\0", ".")
    return text
