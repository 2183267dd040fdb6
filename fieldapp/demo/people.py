"""Invented people for the demo: random combinations of common first names and
surnames, random dates and document numbers. Nobody here is a real person."""

from __future__ import annotations

import random
from datetime import date, timedelta

from fieldapp.cases.inputs import CaseInput, MemberInput

GIVEN_FEMALE = ["María", "Ana", "Luisa", "Carmen", "Daniela", "Valentina", "Gabriela", "Rosa",
                "Andrea", "Yuleisy", "Mariángel", "Isabel", "Camila", "Sofía", "Paola", "Elena",
                "Yesenia", "Fabiola", "Milagros", "Katherine"]
GIVEN_MALE = ["José", "Luis", "Carlos", "Jesús", "Miguel", "Andrés", "Daniel", "Juan",
              "Ángel", "Víctor", "Yorman", "Jhonny", "Ramón", "Eduardo", "Rafael", "Samuel",
              "Kelvin", "Óscar", "Wilmer", "Alejandro"]
FAMILY = ["González", "Rodríguez", "Pérez", "Hernández", "García", "Martínez", "López",
          "Díaz", "Sánchez", "Ramírez", "Torres", "Rojas", "Flores", "Medina", "Castillo",
          "Morales", "Suárez", "Guzmán", "Blanco", "Mendoza", "Quintero", "Briceño", "Useche",
          "Zambrano", "Parra", "Colmenares", "Villalobos", "Chirinos", "Montilla", "Urdaneta"]

SITES_FRONTERA = ["CO-NSA-CUCUTA", "CO-NSA-VILLADELROSARIO", "CO-NSA-TIENDITAS",
                  "CO-LAG-PARAGUACHON", "CO-ARA-ARAUCA"]
SITES_RUMICHACA = ["EC-C-TULCAN"]
STAGES = ["border"] * 5 + ["transit"] * 3 + ["host_community"] * 3 + ["local_integration",
                                                                      "repatriation"]
NATIONALITIES = ["VEN"] * 14 + ["COL", "STATELESS", "UNKNOWN", "HTI"]


def _birth(rng: random.Random, today: date) -> date:
    # Roughly the age structure of people on the move: many children and young adults.
    age = rng.choice([rng.randint(0, 17)] * 4 + [rng.randint(18, 59)] * 5 + [rng.randint(60, 80)])
    return today - timedelta(days=age * 365 + rng.randint(0, 364))


def invented_case(rng: random.Random, *, today: date, sites: list[str]) -> CaseInput:
    sex = rng.choice(["female"] * 10 + ["male"] * 9 + ["intersex", "unknown"])
    given = rng.choice(GIVEN_FEMALE if sex == "female" else GIVEN_MALE)
    if rng.random() < 0.3:
        given += " " + rng.choice(GIVEN_FEMALE if sex == "female" else GIVEN_MALE)
    family = f"{rng.choice(FAMILY)} {rng.choice(FAMILY)}"
    born = _birth(rng, today)
    known_date = rng.random() < 0.85
    has_document = rng.random() < 0.6
    household = []
    for _ in range(rng.choice([0, 0, 0, 1, 1, 2, 3])):
        child_born = today - timedelta(days=rng.randint(0, 17 * 365))
        household.append(MemberInput(rng.choice(GIVEN_FEMALE + GIVEN_MALE), family,
                                     child_born, rng.choice(["female", "male"]), "child"))
    return CaseInput(
        given_name=given, family_name=family,
        date_of_birth=born if known_date else None,
        age_years=None if known_date else max(0, (today - born).days // 365),
        sex=sex, nationality=rng.choice(NATIONALITIES),
        document_type="national_id" if has_document else None,
        document_number=f"V{rng.randint(10_000_000, 32_000_000)}" if has_document else None,
        phone=f"+57 3{rng.randint(10, 99)} {rng.randint(100, 999)} {rng.randint(1000, 9999)}"
        if rng.random() < 0.5 else None,
        address=None, location_code=rng.choice(sites), stage=rng.choice(STAGES),
        languages=["es"] if rng.random() < 0.9 else ["es", "wayuunaiki"],
        notes=None, consent_basis="consent",
        consent_given_by="self" if (today - born).days >= 18 * 365 else "guardian",
        consent_language="es", household=household)


def invented_answers(rng: random.Random, *, age: int, sex: str) -> dict:
    """A plausible, partly answered questionnaire: many questions stay unanswered."""
    answers: dict = {}

    def maybe(key: str, value, p: float = 0.6) -> None:
        if rng.random() < p:
            answers[key] = value

    if age < 18:
        maybe("accompaniment", rng.choice(["parent_or_legal_guardian"] * 12
                                          + ["other_adult_relative"] * 3
                                          + ["unrelated_adult", "alone", "alone"]), 0.9)
        maybe("document_status", rng.choice(["valid", "expired", "none", "none"]))
    else:
        maybe("document_status", rng.choice(["valid", "valid", "expired", "none"]))
    maybe("regular_status", rng.choice(["regular", "irregular", "irregular",
                                        "asylum_pending", "regularization_pending"]))
    maybe("can_prove_nationality", rng.random() > 0.08)
    maybe("fear_of_return", rng.random() < 0.25)
    maybe("detention_or_deportation_threat", rng.random() < 0.05)
    if rng.random() < 0.5:
        answers["trafficking_indicators"] = (
            [rng.choice(["deceived_about_work", "documents_withheld", "debt_bondage",
                         "movement_restricted"])] if rng.random() < 0.08 else [])
    maybe("gbv", rng.choice(["none"] * 10 + ["past", "past", "recent", "at_risk"]), 0.4)
    if rng.random() < 0.5:
        answers["washington_group"] = {
            d: rng.choice(["none"] * 40 + ["some"] * 5 + ["a_lot", "cannot"])
            for d in ("seeing", "hearing", "walking", "cognition", "self_care", "communication")}
    if age >= 60:
        maybe("without_support", rng.random() < 0.3)
        maybe("chronic_illness", rng.random() < 0.5)
    maybe("serious_medical_condition", rng.random() < 0.06)
    if sex == "female" and age >= 18:
        maybe("pregnant_or_lactating", rng.random() < 0.15)
        maybe("single_head_of_household", rng.random() < 0.25)
        maybe("dependents", rng.choice([0, 1, 2, 3]))
    maybe("ethnicity", rng.choice(["none"] * 10 + ["indigenous", "afro_descendant"]))
    if answers.get("ethnicity") not in (None, "none"):
        maybe("speaks_host_language", rng.random() < 0.6, 0.9)
    maybe("family_member_missing", rng.random() < 0.08)
    maybe("human_rights_defender_at_risk", rng.random() < 0.02, 0.3)
    return answers
