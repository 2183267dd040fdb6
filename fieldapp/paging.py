"""Page numbers from ?page=, the one bound shared by the pages and the API.

A page number reaches the database as an OFFSET, so it must fit a 64-bit integer
there (and a C long in SQLite's driver) whatever a link or a person typed. The API
answers 422 outside 1..MAX_PAGE (fieldapp.api.blueprint.paging); an HTML list page
reads any ?page= it is given instead: a missing, malformed or too small number is
the first page, a larger one than MAX_PAGE is page MAX_PAGE (an empty page, as any
page past the end of the list).
"""

from __future__ import annotations

import re
from collections.abc import Mapping

MAX_PAGE = 1_000_000
_NUMBER = re.compile(r"\+?([0-9]+)")


def page_number(args: Mapping[str, str], name: str = "page") -> int:
    """?page= of an HTML list page, held to 1..MAX_PAGE (never an error)."""
    found = _NUMBER.fullmatch((args.get(name) or "").strip())
    if found is None:  # not a number, or a negative one
        return 1
    digits = found.group(1).lstrip("0")
    if len(digits) > len(str(MAX_PAGE)):  # and no int() of a million digits
        return MAX_PAGE
    return min(max(1, int(digits or "0")), MAX_PAGE)
