"""What each model says about itself to people: its method, its assumptions and its limits, in
Italian and English. The console's caveats panel shows them beside every result, and the
scenario form takes each field's label from here.

A card is not the model's code: it lives beside the registry, so rewording a limit does not
change the model's hash (and the policies that allow the model by hash).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import NamedTuple

from models import energy, flood, mobility


class Words(NamedTuple):
    """A phrase in Italian and English."""

    it: str
    en: str

    def __call__(self, lang: str) -> str:
        return self.it if lang == "it" else self.en


@dataclass(frozen=True)
class Card:
    """A model's own account of itself."""

    title: Words
    method: Words
    assumptions: tuple[Words, ...]
    limits: tuple[Words, ...]
    # Scenario fields in words (the schema's own descriptions are English and technical).
    fields: dict[str, Words] = field(default_factory=dict)
    # Units of scenario fields, and the known keys (of a mapping) or values (of a list).
    units: dict[str, str] = field(default_factory=dict)
    options: dict[str, tuple[str, ...]] = field(default_factory=dict)
    # The values of a field that takes one of a few, in words.
    choices: dict[str, dict[str, Words]] = field(default_factory=dict)
    # What a field means, in both languages (the schema's descriptions are English only).
    helps: dict[str, Words] = field(default_factory=dict)
    # The registry's example scenario in words (the registry says it in English).
    example: Words | None = None
    # How the model was checked against the field's reference tools (docs/models.md).
    validation: tuple[Words, ...] = ()


CARDS: dict[str, Card] = {
    "mobility-ctm": Card(
        Words("Traffico stradale (modello a celle)", "Road traffic (cell transmission model)"),
        Words(
            "Un modello a celle (CTM) fa scorrere la domanda di auto, adattata ai conteggi delle "
            "spire, sul grafo stradale comunale, ora per ora, nello scenario di base e in quello "
            "proposto.",
            "A cell transmission model moves car demand, fitted to the loop counts, along the "
            "municipal road graph hour by hour, in the baseline and in the proposed scenario.",
        ),
        (
            Words(
                "La domanda di viaggi tra le aree è stimata (nessun dato origine-destinazione "
                "presso chi detiene il grafo).",
                "Trips between areas are estimated (no origin-destination data at the holder of "
                "the road graph).",
            ),
            Words(
                "Agli incroci, di norma, chi è trattenuto da una strada piena può uscire da "
                "un'altra al passo successivo; con il modello di incrocio 'per svolta' ogni "
                "svolta tiene i suoi veicoli e la coda risale la strada (decisione 0036).",
                "At junctions, by default, a vehicle held back by a full road may leave by "
                "another the next step; with the 'turns' junction model each turn keeps its "
                "vehicles and the queue backs up the road (decision 0036).",
            ),
            Words(
                "Solo auto: tram, bus e biciclette non sono simulati.",
                "Cars only: trams, buses and bicycles are not simulated.",
            ),
        ),
        (
            Words(
                "Sulle spire escluse dall'adattamento la correlazione è intorno a 0,5: le cifre "
                "per area vanno lette come tendenze.",
                "On loops left out of the fit the correlation is about 0.5: per-area figures are "
                "trends, not forecasts.",
            ),
            Words(
                "I tempi di viaggio tra aree sono quelli del percorso più rapido in auto all'ora "
                "più carica tra quelle simulate, alle velocità che il modello dà a ogni strada in "
                "quell'ora; non comprendono la sosta né l'attesa ai semafori oltre le code del "
                "modello. Il centro è l'area statistica che contiene Piazza Maggiore.",
                "Travel times between areas are those of the quickest car path in the busiest "
                "simulated hour, at the speeds the model gives each street in that hour; they "
                "leave out parking and waiting at traffic lights beyond the model's queues. The "
                "centre is the statistical area that holds Piazza Maggiore.",
            ),
        ),
        {
            "speed_limits": Words(
                "Limiti di velocità per classe di strada", "Speed limits by road class"
            ),
            "closures": Words("Corsie chiuse", "Lanes closed"),
            "daily_car_trips": Words(
                "Viaggi in auto al giorno (stima iniziale)", "Car trips a day (prior)"
            ),
            "calibrate": Words(
                "Adatta la domanda ai conteggi", "Fit the demand to the loop counts"
            ),
            "route_choice": Words("Scelta del percorso", "Route choice"),
            "trip_length_km": Words("Lunghezza tipica dei viaggi", "Typical trip length"),
            "step_seconds": Words("Passo di simulazione", "Simulation step"),
            "hours": Words("Ore simulate dalla mezzanotte", "Hours simulated from midnight"),
            "junction": Words("Modello degli incroci", "Junction model"),
            "give_up_seconds": Words(
                "Attesa prima di cambiare strada", "Wait before taking another way"
            ),
            "sweep": Words("Serie di scenari", "Sweep"),
        },
        choices={
            "junction": {
                "shares": Words("per quote di svolta", "by turning shares"),
                "turns": Words("per svolta, con risalita delle code", "by turn, queues back up"),
            }
        },
        units={
            "speed_limits": "km/h",
            "daily_car_trips": "viaggi/trips",
            "trip_length_km": "km",
            "step_seconds": "s",
            "hours": "h",
            "give_up_seconds": "s",
        },  # fmt: skip
        options={"speed_limits": tuple(mobility.CLASSES), "sweep": mobility.SWEEPABLE},
        example=Words(
            "la città a 30 km/h, con una corsia in meno sulle vie della linea rossa del tram",
            "the 30 km/h city, with one lane less on the red tram line's streets",
        ),
        helps={
            "speed_limits": Words(
                "km/h per classe: fast (tangenziale), boulevard (viali), street (strade), "
                "minor (piazze, vicoli); vuoto: il limite attuale",
                "km/h per class: fast (ring road), boulevard, street, minor (squares, lanes); "
                "empty: today's limit",
            ),
            "closures": Words(
                "corsie tolte per senso di marcia, per nome della via",
                "lanes removed in each direction, by street name",
            ),
            "daily_car_trips": Words(
                "domanda iniziale, prima dell'adattamento ai conteggi delle spire",
                "the prior demand, before the fit to the loop counts",
            ),
            "calibrate": Words(
                "adatta la domanda ai conteggi delle spire", "fit the demand to the loop counts"
            ),
            "junction": Words(
                "per quote: chi è trattenuto da una strada piena può uscire da un'altra; per "
                "svolta: ogni svolta tiene i suoi veicoli e la coda risale la strada, come in "
                "SUMO (più congestione all'ora di punta)",
                "by shares: a vehicle held back by a full road may leave by another; by turn: "
                "each turn keeps its vehicles and the queue backs up the road, as in SUMO "
                "(more congestion at the peak)",
            ),
            "give_up_seconds": Words(
                "solo per il modello per svolta: quanto aspetta in media chi è fermo a una "
                "svolta prima di prendere un'altra strada",
                "turns model only: how long, on average, a driver held at a turn waits before "
                "taking another way",
            ),
            "route_choice": Words(
                "ripartizione agli incroci da un'assegnazione sensibile alla congestione",
                "turning shares from a congestion-aware assignment",
            ),
            "trip_length_km": Words(
                "distanza oltre la quale i viaggi tra due aree calano di un fattore e (ipotesi)",
                "distance over which trips between two areas fall off by a factor e (assumed)",
            ),
            "step_seconds": Words("passo di simulazione", "simulation time step"),
            "hours": Words(
                "ore simulate a partire dalla mezzanotte", "hours simulated from midnight"
            ),
        },
    ),
    "mobility-gravity": Card(
        Words("Modello gravitazionale degli spostamenti", "Trip gravity model"),
        Words(
            "Un modello gravitazionale doppiamente vincolato stima quanto i viaggi diminuiscono "
            "con la distanza, da statistiche sufficienti di ciascun partner.",
            "A doubly constrained gravity model fits how trips fall off with distance, from "
            "each partner's sufficient statistics.",
        ),
        (
            Words(
                "Un solo parametro di decadimento per tutti i sistemi di zone.",
                "One distance decay shared by every zone system.",
            ),
        ),
        (
            Words(
                "Le posizioni delle zone WiFi sono approssimate (circa 50 m).",
                "WiFi zone positions are approximate (about 50 m).",
            ),
        ),
        {"beta_max": Words("Limite superiore della ricerca", "Upper end of the search")},
        units={"beta_max": "1/km"},
        example=Words(
            "un unico decadimento con la distanza stimato da flussi WiFi e spostamenti",
            "one distance decay fitted from WiFi flows and trips",
        ),
        helps={
            "beta_max": Words(
                "estremo superiore della ricerca di beta", "upper end of the search for beta"
            )
        },
    ),
    "energy-5r1c": Card(
        Words("Energia degli edifici (5R1C)", "Building energy (5R1C)"),
        Words(
            "Ogni edificio è un modello termico orario a cinque resistenze e una capacità (ISO "
            "13790), con il meteo dell'anno scelto, prima e dopo la riqualificazione.",
            "Every building is an hourly five-resistance, one-capacitance thermal model (ISO "
            "13790) under the chosen year's weather, before and after the retrofit.",
        ),
        (
            Words(
                "Le proprietà degli edifici vengono dall'archetipo (epoca e tipo), non da rilievi.",
                "Building properties come from the archetype (age and type), not from surveys.",
            ),
            Words(
                "La temperatura oraria è ricostruita dalle minime e massime giornaliere.",
                "Hourly temperature is rebuilt from daily minima and maxima.",
            ),
        ),
        (
            Words(
                "I consumi per area portano rumore di privacy differenziale: le aree con pochi "
                "edifici sono le più incerte.",
                "Per-area demand carries differential-privacy noise: areas with few buildings "
                "are the least certain.",
            ),
        ),
        {
            "year": Words("Anno meteorologico", "Weather year"),
            "heating_setpoint": Words("Temperatura di riscaldamento", "Heating set-point"),
            "cooling_setpoint": Words("Temperatura di raffrescamento", "Cooling set-point"),
            "retrofit_share": Words(
                "Quota di edifici riqualificati", "Share of buildings retrofitted"
            ),
            "retrofit_archetypes": Words("Archetipi riqualificabili", "Archetypes eligible"),
            "u_wall": Words("Trasmittanza delle pareti dopo", "Wall U-value after"),
            "u_roof": Words("Trasmittanza del tetto dopo", "Roof U-value after"),
            "u_window": Words("Trasmittanza delle finestre dopo", "Window U-value after"),
            "upgrades": Words("Valori per archetipo", "Values per archetype"),
            "hourly": Words("Ogni ora dell'anno", "Every hour of the year"),
            "by_archetype": Words(
                "Risparmio e costo per tipologia", "Saving and cost per archetype"
            ),
            "cost_wall_eur_m2": Words(
                "Prezzo dell'isolamento delle pareti", "Price of wall insulation"
            ),
            "cost_roof_eur_m2": Words(
                "Prezzo dell'isolamento del tetto", "Price of roof insulation"
            ),
            "cost_window_eur_m2": Words("Prezzo delle finestre nuove", "Price of new windows"),
            "energy_price_eur_kwh": Words("Prezzo dell'energia", "Energy price"),
            "sweep": Words("Serie di scenari", "Sweep"),
        },
        units={
            "heating_setpoint": "°C",
            "cooling_setpoint": "°C",
            "u_wall": "W/m²K",
            "u_roof": "W/m²K",
            "u_window": "W/m²K",
            "upgrades": "W/m²K",
            "cost_wall_eur_m2": "€/m²",
            "cost_roof_eur_m2": "€/m²",
            "cost_window_eur_m2": "€/m²",
            "energy_price_eur_kwh": "€/kWh",
        },  # fmt: skip
        options={
            "retrofit_archetypes": energy.ARCHETYPES,
            "upgrades": energy.ARCHETYPES,
            "sweep": energy.SWEEPABLE,
        },
        example=Words(
            "il 35 % degli edifici costruiti prima del 1991 riqualificato, riscaldamento a 19 °C",
            "35 % of the pre-1991 stock retrofitted, heating at 19 °C",
        ),
        helps={
            "year": Words("anno della serie meteo ERG5", "year of the ERG5 weather series"),
            "heating_setpoint": Words(
                "temperatura interna di riscaldamento", "indoor heating set-point"
            ),
            "cooling_setpoint": Words(
                "temperatura interna di raffrescamento", "indoor cooling set-point"
            ),
            "retrofit_share": Words(
                "quota degli edifici ammessi che viene riqualificata: 0, o da 0,05 a 1",
                "share of eligible buildings retrofitted: 0, or 0.05 to 1",
            ),
            "retrofit_archetypes": Words(
                "archetipi ammessi alla riqualificazione", "archetypes eligible for retrofit"
            ),
            "u_wall": Words("dopo la riqualificazione", "after retrofit"),
            "u_roof": Words("dopo la riqualificazione", "after retrofit"),
            "u_window": Words("dopo la riqualificazione", "after retrofit"),
            "upgrades": Words(
                "valori per archetipo, al posto di quelli generali",
                "values per archetype, replacing the general ones",
            ),
            "hourly": Words(
                "ogni ora dell'anno invece del giorno tipo di ogni mese: circa 5 volte il rumore",
                "every hour of the year instead of each month's typical day: about 5x the noise",
            ),
            "by_archetype": Words(
                "due risultati in più, con rumore: ogni risultato riceve una parte minore di "
                "epsilon",
                "two more noised outputs: each output gets a smaller share of epsilon",
            ),
            "cost_wall_eur_m2": Words(
                "prezzo ipotizzato, al m² di parete", "assumed price, per m² of wall"
            ),
            "cost_roof_eur_m2": Words(
                "prezzo ipotizzato, al m² di tetto", "assumed price, per m² of roof"
            ),
            "cost_window_eur_m2": Words(
                "prezzo ipotizzato, al m² di finestra", "assumed price, per m² of window"
            ),
            "energy_price_eur_kwh": Words(
                "prezzo ipotizzato, per il tempo di ritorno", "assumed price, for the payback time"
            ),
        },
    ),
    "flood-scs-nash": Card(
        Words("Deflusso urbano e allagamenti", "Urban runoff and flooding"),
        Words(
            "Il metodo SCS curve number stima la pioggia che scorre via da ogni sottobacino; "
            "una cascata di Nash la instrada verso i cinque corsi d'acqua ricettori.",
            "The SCS curve-number method estimates the rain that runs off each sub-catchment; "
            "a Nash cascade routes it to the five receiving rivers.",
        ),
        (
            Words(
                "La pioggia giornaliera è distribuita uniformemente sulle ore del giorno.",
                "Each day's rain is spread evenly over its hours.",
            ),
            Words(
                "La rete fognaria non è modellata: la soglia d'allarme è una portata specifica.",
                "The sewer network is not modelled: the alarm level is a specific discharge.",
            ),
        ),
        (
            Words(
                "Una sola serie di pioggia giornaliera vale per tutta la città: l'ordine in cui "
                "le aree superano la soglia dipende dalla loro risposta (impermeabilità, tempi "
                "di corrivazione), non da temporali locali, e a pioggia ×1,2 quasi tutte la "
                "superano.",
                "One daily rain series drives the whole city: the order in which areas go above "
                "the alarm follows their response (paving, lag), not local storms, and at rain "
                "×1.2 nearly all of them go above it.",
            ),
        ),
        {
            "start": Words("Primo giorno", "First day"),
            "end": Words("Ultimo giorno", "Last day"),
            "step_minutes": Words("Passo di calcolo", "Routing step"),
            "rain_multiplier": Words("Moltiplicatore della pioggia", "Rain multiplier"),
            "permeable_share": Words(
                "Quota di superfici rese permeabili", "Share of paving made permeable"
            ),
            "threshold_m3s_km2": Words("Soglia d'allarme", "Alarm level"),
            "dry_hours": Words("Ore asciutte che chiudono un evento", "Dry hours ending an event"),
            "curve_number_shift": Words(
                "Scarto sul curve number dei suoli", "Shift of the soils' curve number"
            ),
            "sweep": Words("Serie di scenari", "Sweep"),
        },
        units={"step_minutes": "min", "threshold_m3s_km2": "m³/s per km²", "dry_hours": "h"},
        options={"sweep": flood.SWEEPABLE},
        example=Words(
            "maggio 2023 con il 20 % di pioggia in più e un quarto delle superfici reso permeabile",
            "May 2023 with 20 % more rain, a quarter of the paving made permeable",
        ),
        helps={
            "start": Words(
                "primo giorno (predefinito: l'alluvione del maggio 2023)",
                "first day (default: the May 2023 flood)",
            ),
            "end": Words("ultimo giorno (al massimo un anno)", "last day (one year at most)"),
            "step_minutes": Words(
                "passo di instradamento, divisore di un'ora", "routing step, a divisor of an hour"
            ),
            "rain_multiplier": Words(
                "fattore di cambiamento climatico sulla pioggia",
                "climate-change factor on the rain",
            ),
            "permeable_share": Words(
                "quota delle superfici pavimentate resa permeabile",
                "share of paved surface made permeable",
            ),
            "threshold_m3s_km2": Words(
                "portata specifica oltre la quale un'area è in allarme",
                "specific discharge above which an area is on alert",
            ),
            "dry_hours": Words(
                "ore senza pioggia che chiudono un evento", "hours without rain that end an event"
            ),
            "curve_number_shift": Words(
                "dato incerto: si somma al curve number di ogni parte permeabile, nello stato "
                "attuale come nello scenario (quanto la ritenzione dei suoli è sbagliata)",
                "uncertain input: added to every pervious curve number, in the baseline as in "
                "the scenario (how far off the soils' retention is)",
            ),
        },
    ),
}


# How each model was checked, with the command that checks it again (issue 29).
VALIDATION: dict[str, tuple[Words, ...]] = {
    "flood-scs-nash": (
        Words(
            "Confrontato con EPA SWMM 5 sugli stessi sottobacini e sulla pioggia di maggio "
            "2023: efficienza di Nash–Sutcliffe 0,90–0,94 per fiume, colmi entro il 6 %, stessa "
            "ora del colmo (comando: gemello validate flood-scs-nash).",
            "Checked against EPA SWMM 5 on the same sub-catchments and the May 2023 rain: "
            "Nash–Sutcliffe efficiency 0.90–0.94 per river, peaks within 6 %, the same hour of "
            "peak (command: gemello validate flood-scs-nash).",
        ),
    ),
    "mobility-ctm": (
        Words(
            "Adattato ai conteggi delle spire; sulle spire escluse la correlazione oraria è "
            "intorno a 0,5. Accanto a SUMO (stessa rete e domanda, 24 ore): di notte stessi "
            "flussi entro il 3 %. All'ora di punta, con gli incroci per quote il modello resta "
            "a 19-22 km/h dove SUMO scende a 8-14; con gli incroci per svolta racconta la "
            "stessa storia di SUMO (velocità orarie a 0,7 km/h in media dalle 7 alle 20), ma "
            "entrambi portano sulle spire circa il 60 % dei conteggi. GEH < 5 sul 46 % (per "
            "quote) e 40 % (per svolta) delle ore-spira, contro l'85 % richiesto (comando: "
            "gemello validate mobility-ctm).",
            "Fitted to the loop counts; on loops left out of the fit the hourly correlation is "
            "about 0.5. Beside SUMO (same network and demand, 24 hours): the same flows within "
            "3 % at night. At the peak, with junctions by shares the model stays at 19-22 km/h "
            "where SUMO falls to 8-14; with junctions by turn it tells SUMO's story (hourly "
            "speeds 0.7 km/h apart on average from 07:00 to 20:00), but both carry about 60 % "
            "of the counts on the counted arcs. GEH < 5 on 46 % (shares) and 40 % (turns) of "
            "counted arc-hours, against the 85 % the field asks (command: gemello validate "
            "mobility-ctm).",
        ),
    ),
    "energy-5r1c": (
        Words(
            "Confrontato con il fabbisogno utile di riscaldamento per epoca di costruzione del "
            "patrimonio residenziale italiano (MODERATE D3.2, EURAC 2023; TABULA non era "
            "ottenibile): con le trasmittanze del riferimento, ogni archetipo entro il 12 % "
            "sulla media dei climi di Bologna 2001–2024; gli edifici anteriori al 1980 circa "
            "il 10 % sotto, i successivi al 1990 circa il 10 % sopra (comando: gemello "
            "validate energy-5r1c).",
            "Checked against the useful heating demand per construction period of Italy's "
            "residential stock (MODERATE D3.2, EURAC 2023; TABULA could not be obtained): with "
            "the reference's U-values, every archetype within 12 % over Bologna's weather of "
            "2001–2024; pre-1980 buildings about 10 % below, post-1990 ones about 10 % above "
            "(command: gemello validate energy-5r1c).",
        ),
    ),
    "mobility-gravity": (
        Words(
            "Il decadimento con la distanza è stimato dagli spostamenti stessi; nessuno "
            "strumento di riferimento.",
            "The distance decay is fitted to the trips themselves; there is no reference tool.",
        ),
    ),
}
CARDS = {name: replace(c, validation=VALIDATION.get(name, ())) for name, c in CARDS.items()}


def caveats(model: str) -> dict[str, list[dict[str, str]]]:
    """A model's assumptions, limits and validation, each phrase in Italian and English (what
    every result states beside its figures: the API, the CLI, the OGC face)."""
    c = card(model)
    return {
        kind: [{"it": w.it, "en": w.en} for w in words]
        for kind, words in (
            ("assumptions", c.assumptions),
            ("limits", c.limits),
            ("validation", c.validation),
        )
    }


def card(model: str) -> Card:
    """A model's card; a plain one, from its name, for a model without one."""
    return CARDS.get(model) or Card(Words(model, model), Words("", ""), (), ())
