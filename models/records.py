"""What people declare about each model for the public algorithm register (ATRS v3.0): who owns
it, what it is for, what it outputs, how well it was checked, who oversees its use, whom to
contact. The register takes the rest from the running system (the registry, the code hash, the
stages and their datasets, the runs in the audit log); the ATRS fields no one has written yet
are listed on each record as left to people.

Like the cards, these records sit beside the registry: rewording them does not change a
model's hash. Each says when it was last reviewed.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from models.cards import Words


@dataclass(frozen=True)
class Record:
    """A model's declared metadata (each text in Italian and English)."""

    owner: str  # the member that answers for the model (its handle)
    team: Words
    contact_email: str
    function: Words  # the public function it serves (ATRS `function`)
    purpose: Words  # why it is used, and what for (ATRS `benefit`)
    outputs: Words  # what it gives people, and at which granularity
    validation: Words  # figures from its checks (ATRS `model_performance`)
    oversight: Words  # the decisions people take around it (ATRS `human_decisions_and_review`)
    integration: Words  # where it sits in decisions (ATRS `process_integration`)
    maintenance: Words
    data_caveats: Words  # completeness and representativeness of its inputs
    phase: str = "Beta"
    reviewed_on: str = "2026-12-07"
    tags: tuple[str, ...] = field(default_factory=tuple)


_OVERSIGHT = Words(
    "Ogni esecuzione è chiesta da una persona con un ruolo (ricercatore, pianificatore) per una "
    "finalità dichiarata; a ogni detentore la politica d'uso del dataset decide, e può chiedere "
    "l'approvazione di un responsabile dei dati. I risultati informano il lavoro dei "
    "pianificatori: il modello non prende decisioni su persone.",
    "Every run is asked for by a person with a role (researcher, planner) for a declared "
    "purpose; at each holder the dataset's usage policy decides, and may require a data "
    "steward's approval. Results inform planners' work: the model takes no decision about a "
    "person.",
)
_MAINTENANCE = Words(
    "Il codice è versionato; ogni modifica cambia l'impronta del modello (sha256), che le "
    "politiche possono richiedere. Le verifiche sono ripetute a ogni versione.",
    "The code is versioned; any change changes the model's hash (sha256), which policies may "
    "require. The checks are repeated for every version.",
)
_INTEGRATION = Words(
    "Strumento di supporto: confronta scenari (di base e proposto) per chi pianifica; le "
    "decisioni restano degli uffici e degli organi del Comune.",
    "A support tool: it compares scenarios (baseline and proposed) for planners; decisions stay "
    "with the council's offices and bodies.",
)

RECORDS: dict[str, Record] = {
    "mobility-ctm": Record(
        owner="comune",
        team=Words(
            "Mobilità e pianificazione, Comune di Bologna",
            "Mobility and planning, Comune di Bologna",
        ),  # fmt: skip
        contact_email="gemello-mobilita@comune.bologna.it",
        function=Words("Trasporti", "Transport"),
        purpose=Words(
            "Stimare cosa fa uno scenario (la città a 30 km/h, corsie chiuse per il tram) a "
            "velocità e percorrenze sulla rete, area per area, prima di decidere.",
            "To estimate what a scenario (the 30 km/h city, lanes closed for the tram) does to "
            "speeds and vehicle-km on the network, area by area, before deciding.",
        ),
        outputs=Words(
            "Velocità media e veicoli-km per ora e per classe di strada, per ciascuna delle 90 "
            "aree statistiche; confronto di base/scenario.",
            "Mean speed and vehicle-km per hour and road class, for each of the 90 statistical "
            "areas; baseline and scenario compared.",
        ),
        validation=Words(
            "Sugli archi con spire: 0,92 volte il flusso contato, correlazione 0,82 per "
            "spira-ora; su spire escluse dalla stima: rapporto 0,71, correlazione 0,50 "
            "(docs/models.md).",
            "On the counted arcs: 0.92 times the counted flow, correlation 0.82 over loop-hours; "
            "on held-out loops: flow ratio 0.71, correlation 0.50 (docs/models.md).",
        ),
        oversight=_OVERSIGHT,
        integration=_INTEGRATION,
        maintenance=_MAINTENANCE,
        data_caveats=Words(
            "La domanda è stimata dai conteggi delle spire (zona ovest); senza i dati reali il "
            "grafo e i viaggi sono sintetici.",
            "Demand is fitted to the loop counts (west of the city); without the real data the "
            "graph and trips are synthetic.",
        ),
        tags=("mobility", "traffic", "30 km/h"),
    ),
    "mobility-gravity": Record(
        owner="unibo",
        team=Words(
            "Gruppo di ricerca sulla mobilità, Università di Bologna",
            "Mobility research group, University of Bologna",
        ),  # fmt: skip
        contact_email="gemello-mobility@unibo.it",
        function=Words("Trasporti", "Transport"),
        purpose=Words(
            "Stimare gli spostamenti tra le aree a partire da flussi WiFi e viaggi, con una sola "
            "legge di decadimento con la distanza.",
            "To estimate movements between areas from WiFi flows and trips, with one distance "
            "decay law.",
        ),
        outputs=Words(
            "Matrice origine-destinazione tra aree, con rumore di privacy differenziale.",
            "An origin-destination matrix between areas, with differential-privacy noise.",
        ),
        validation=Words(
            "Il decadimento è stimato sulle coppie osservate; il risultato riporta la bontà "
            "dell'adattamento.",
            "The decay is fitted on the observed pairs; the result reports the goodness of fit.",
        ),
        oversight=_OVERSIGHT,
        integration=_INTEGRATION,
        maintenance=_MAINTENANCE,
        data_caveats=Words(
            "I flussi WiFi coprono solo le aree con punti di accesso.",
            "WiFi flows cover only the areas with access points.",
        ),
        tags=("mobility", "origin-destination"),
    ),
    "energy-5r1c": Record(
        owner="cineca",
        team=Words("Energia degli edifici, CINECA", "Building energy, CINECA"),
        contact_email="gemello-energia@cineca.it",
        function=Words("Energia", "Energy"),
        purpose=Words(
            "Stimare il fabbisogno di riscaldamento dello stock edilizio e l'effetto delle "
            "riqualificazioni, area per area.",
            "To estimate the building stock's heating demand and the effect of retrofits, area "
            "by area.",
        ),
        outputs=Words(
            "Domanda di energia mensile e curva di durata del carico, per area statistica.",
            "Monthly energy demand and load duration, per statistical area.",
        ),
        validation=Words(
            "Modello orario ISO 13790 (5R1C); confronti con EnergyPlus in corso (issue 29).",
            "ISO 13790 hourly model (5R1C); comparison with EnergyPlus under way (issue 29).",
        ),
        oversight=_OVERSIGHT,
        integration=_INTEGRATION,
        maintenance=_MAINTENANCE,
        data_caveats=Words(
            "Gli edifici sono sintetici finché il catasto energetico reale non è collegato.",
            "The buildings are synthetic until the real energy cadastre is connected.",
        ),
        tags=("energy", "buildings", "retrofit"),
    ),
    "flood-scs-nash": Record(
        owner="fbk",
        team=Words(
            "Rischio idrologico, Fondazione Bruno Kessler",
            "Hydrological risk, Fondazione Bruno Kessler",
        ),  # fmt: skip
        contact_email="gemello-clima@fbk.eu",
        function=Words("Clima e protezione civile", "Climate and civil protection"),
        purpose=Words(
            "Stimare i deflussi e le ore sopra la soglia d'allarme con più pioggia o più "
            "superfici permeabili, dopo l'alluvione del 2023.",
            "To estimate runoff and the hours above the alarm level with more rain or more "
            "permeable surfaces, after the 2023 flood.",
        ),
        outputs=Words(
            "Idrogrammi per sbocco e ore sopra soglia per area statistica.",
            "Hydrographs per outlet and hours above the alarm level per statistical area.",
        ),
        validation=Words(
            "Picchi entro il 2 % di EPA SWMM sulla stessa rete (issue 29).",
            "Peaks within 2 % of EPA SWMM on the same network (issue 29).",
        ),
        oversight=_OVERSIGHT,
        integration=_INTEGRATION,
        maintenance=_MAINTENANCE,
        data_caveats=Words(
            "Sotto-bacini sintetici; la pioggia è quella ERG5 solo con i dati reali.",
            "Synthetic sub-catchments; the rain is ERG5's only with the real data.",
        ),
        tags=("climate", "flood", "rain"),
    ),
}
