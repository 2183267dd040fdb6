"""Babel extractor for rules.yaml: every rule's reason is a translatable message.

Used from babel.cfg as `[fieldapp.risk.babel_extract:extract_rules: fieldapp/risk/*.yaml]`.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import yaml


def extract_rules(fileobj: Any, keywords: Any, comment_tags: Any,
                  options: Any) -> Iterator[tuple[int, str | None, str, list[str]]]:
    doc = yaml.safe_load(fileobj.read().decode("utf-8"))
    for rule in doc.get("rules", []):
        yield (0, None, rule["reason"].strip(),
               [f"Reason shown when the {rule['flag']} flag fires ({rule['severity']})"])
