"""Where a redirect may go after login or a language switch: a path of this app only.

`next` values come from query strings and forms, so anyone can craft them. A
browser reading a Location header drops tabs and newlines anywhere and control
characters and spaces at either end, reads a backslash as a slash, and treats
`//host` (and `///host`) as another site. We clean the value the same way
first, then let `urllib.parse` confirm that what is left names no scheme and no
host, so that what we check is what the browser will follow.
"""

from __future__ import annotations

import re
import unicodedata
from urllib.parse import urlsplit

# The WHATWG URL parser removes ASCII tab and newline wherever they are.
_TAB_OR_NEWLINE = re.compile(r"[\t\n\r]")


def _is_control(char: str) -> bool:
    return unicodedata.category(char) == "Cc"


def _strip_ends(value: str) -> str:
    start, end = 0, len(value)
    while start < end and (value[start].isspace() or _is_control(value[start])):
        start += 1
    while end > start and (value[end - 1].isspace() or _is_control(value[end - 1])):
        end -= 1
    return value[start:end]


def local_path(target: str | None) -> str | None:
    """`target`, cleaned, when it is a path on this site; None for anything else."""
    if not target:
        return None
    cleaned = _strip_ends(_TAB_OR_NEWLINE.sub("", target))
    if not cleaned.startswith("/") or cleaned.startswith("//"):
        return None
    if "\\" in cleaned or any(_is_control(char) for char in cleaned):
        return None
    try:
        parts = urlsplit(cleaned)
    except ValueError:
        return None
    if parts.scheme or parts.netloc or not parts.path.startswith("/") \
            or parts.path.startswith("//"):
        return None
    return cleaned


def redirect_target(target: str | None, fallback: str) -> str:
    """`target` when it is a path on this site, else `fallback`."""
    return local_path(target) or fallback
