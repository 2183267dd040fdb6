"""Heightened-risk identification: a versioned rule set and a pure engine.

Nothing here imports Flask, the database or the rest of fieldapp: answers, age,
sex and nationality go in; groups, flags with reasons, and open questions come out.
"""

from fieldapp.risk.engine import (
    Assessment,
    FlagResult,
    RuleSet,
    RuleSetError,
    load_rule_set,
)

__all__ = ["Assessment", "FlagResult", "RuleSet", "RuleSetError", "load_rule_set"]
