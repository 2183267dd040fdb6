"""Heightened-risk identification: a versioned rule set, a pure engine, and the pages.

engine.py and registration.py import nothing of Flask, the database or the rest of
fieldapp: answers, age, sex, nationality and what registration recorded go in; groups,
flags with reasons, and open questions come out. labels.py, forms.py, services.py and
views.py are the questionnaire's pages (STYLE.md: risk pages belong here).
"""

from fieldapp.risk.engine import (
    Assessment,
    FlagResult,
    RuleSet,
    RuleSetError,
    Section,
    load_rule_set,
)

__all__ = ["Assessment", "FlagResult", "RuleSet", "RuleSetError", "Section", "load_rule_set"]
