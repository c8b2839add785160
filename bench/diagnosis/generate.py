"""A labelled history of service tickets: realistic titles and descriptions with known skills.

Faults are drawn per asset category with the skill that fixes them, written in Spanish or English
with synonyms, typos-free filler and sometimes misleading words (a leak near an air conditioner is
still plumbing), a third of the titles say nothing of the fault, some descriptions are empty and
8 % of the recorded skills differ from the usual one, so text alone does not always give it.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

# category -> list of (skill, [title templates], [detail phrases])
FAULTS: dict[str, list[tuple[str, list[str], list[str]]]] = {
    "hvac": [
        (
            "hvac",
            ["{a} no enfría", "{a} sin frío", "{a} not cooling", "Temperatura alta, {a}"],
            [
                "el compresor parte y se detiene",
                "alarma de alta presión",
                "gas refrigerante bajo",
                "the compressor trips",
                "condensador sucio",
                "termostato no responde",
            ],
        ),
        (
            "hvac",
            ["Ruido en {a}", "{a} vibra", "Noisy {a}"],
            ["ventilador golpea", "rodamiento del ventilador", "fan bearing worn", "correa suelta"],
        ),
        (
            "electricity",
            ["{a} no enciende", "{a} sin energía", "{a} won't power on"],
            [
                "salta el automático del tablero",
                "breaker trips",
                "fusible quemado",
                "sin tensión en el tablero",
            ],
        ),
        (
            "plumbing",
            ["Goteo bajo {a}", "Agua bajo {a}", "Water under {a}"],
            ["bandeja de condensado rebalsa", "drain line clogged", "desagüe tapado"],
        ),
    ],
    "electrical": [
        (
            "electricity",
            [
                "Corte de luz en {a}",
                "{a} sin energía",
                "Power outage at {a}",
                "Luces parpadean en {a}",
            ],
            [
                "salta el automático",
                "enchufe quemado",
                "breaker trips",
                "olor a quemado en tablero",
                "voltaje inestable",
                "luminaria no enciende",
            ],
        ),
        (
            "electricity",
            ["Falla de {a}", "{a} con alarma"],
            ["UPS en bypass", "batería del UPS descargada", "generador no parte"],
        ),
        (
            "iot_install",
            ["Medidor de {a} sin datos", "{a} meter offline"],
            ["el medidor no reporta lecturas", "gateway sin señal", "sensor desconectado"],
        ),
    ],
    "plumbing": [
        (
            "plumbing",
            ["Fuga en {a}", "{a} gotea", "Leak at {a}", "Filtración en {a}"],
            [
                "llave de paso gotea",
                "unión de cañería suelta",
                "pipe joint leaking",
                "mancha de agua en el cielo",
                "sello gastado",
            ],
        ),
        (
            "plumbing",
            ["{a} tapado", "{a} no descarga", "{a} clogged"],
            ["inodoro tapado", "desagüe lento", "drain blocked", "olor a alcantarillado"],
        ),
        (
            "electricity",
            ["Bomba de {a} no parte", "{a} pump won't start"],
            ["salta el térmico de la bomba", "contactor quemado", "motor sin tensión"],
        ),
    ],
    "iot": [
        (
            "iot_install",
            ["Sensor de {a} sin datos", "{a} offline", "Gateway de {a} sin señal"],
            [
                "no llegan lecturas",
                "firmware desactualizado",
                "wifi caído en la sala",
                "device not reporting",
                "batería del sensor agotada",
            ],
        ),
        (
            "iot_install",
            ["Instalar sensor en {a}", "Install sensor on {a}"],
            ["nuevo punto de medición", "reubicar sensor", "configurar gateway"],
        ),
        (
            "electricity",
            ["{a} sin alimentación", "{a} no power"],
            ["fuente de poder quemada", "enchufe sin tensión"],
        ),
    ],
    "building": [
        (
            "general",
            ["Puerta de {a} no cierra", "{a} door stuck", "Pintura en {a}", "Reparar {a}"],
            [
                "bisagra suelta",
                "cerradura trabada",
                "muro con grietas",
                "broken hinge",
                "retocar pintura",
                "cambiar manilla",
            ],
        ),
        (
            "plumbing",
            ["Humedad en {a}", "Damp wall in {a}"],
            ["filtración desde el piso superior", "cañería rota dentro del muro"],
        ),
        (
            "electricity",
            ["Enchufe de {a} no funciona", "{a} socket dead"],
            ["enchufe suelto", "cableado dañado"],
        ),
        (
            "general",
            ["Limpieza de {a}", "Cambio de cielo en {a}"],
            ["plancha de cielo dañada", "ordenar bodega"],
        ),
    ],
}

ASSETS = {
    "hvac": ["chiller", "split", "aire acondicionado", "UMA", "fan coil", "caldera"],
    "electrical": ["tablero", "UPS", "generador", "iluminación", "sala eléctrica"],
    "plumbing": ["baño", "cocina", "estanque", "bomba", "lavamanos", "WC"],
    "iot": ["sala de servidores", "cámara de frío", "medidor", "bodega", "chiller"],
    "building": ["oficina", "bodega", "hall", "sala de reuniones", "pasillo"],
}
#: Titles that say nothing of the fault (used for about a third of the tickets).
GENERIC_TITLES = [
    "Falla en {a}",
    "{a} no funciona",
    "Problema con {a}",
    "{a} con falla",
    "Issue with {a}",
    "Revisar {a}",
    "{a} fuera de servicio",
]
#: Share of tickets whose recorded skill is not the usual one for their fault (real routing).
LABEL_NOISE = 0.08
SKILLS = ["electricity", "hvac", "plumbing", "general", "iot_install"]
FILLER = [
    "",
    "",
    "Urgente.",
    "Reportado por recepción.",
    "Please check asap.",
    "Desde ayer en la tarde.",
    "Ocurre a veces.",
    "El cliente reclama.",
]


@dataclass(frozen=True)
class Labelled:
    """A ticket with the skill that fixed it."""

    title: str
    description: str
    category: str
    asset: str
    skill: str


def generate(n: int, seed: int = 7) -> list[Labelled]:
    """``n`` labelled tickets; categories and faults weighted like a mixed portfolio."""
    rng = random.Random(seed)
    categories = list(FAULTS)
    weights = [0.3, 0.2, 0.2, 0.1, 0.2]
    tickets: list[Labelled] = []
    for _ in range(n):
        category = rng.choices(categories, weights)[0]
        skill, titles, details = rng.choice(FAULTS[category])
        asset = rng.choice(ASSETS[category])
        description = " ".join(p for p in (rng.choice(details), rng.choice(FILLER)) if p)
        if rng.random() < 0.15:  # a vague report: the detail is missing
            description = rng.choice(FILLER)
        title = rng.choice(GENERIC_TITLES if rng.random() < 0.35 else titles)
        if rng.random() < LABEL_NOISE:
            skill = rng.choice(SKILLS)
        tickets.append(
            Labelled(
                title=title.format(a=asset),
                description=description,
                category=category,
                asset=f"{category}-{rng.randrange(12)}",
                skill=skill,
            )
        )
    return tickets
