"""Catalogue checks run by `make test` (and by the test suite).

Fails when the template catalogue is stale (a string in the code is missing
from messages.pot, or the .pot lists strings the code no longer has), when a
locale lacks an entry of the .pot, or when a translation is empty, fuzzy, or
breaks a placeholder or an HTML tag.
"""

from __future__ import annotations

import re
import subprocess
import sys
import tempfile
from pathlib import Path

from babel.messages.pofile import read_po

ROOT = Path(__file__).resolve().parent.parent
TRANSLATIONS = ROOT / "translations"
LOCALES = ("es", "pt_BR", "en")
PLACEHOLDER = re.compile(r"%\(\w+\)[sdif]|%[sdif]")
TAG = re.compile(r"</?[a-zA-Z][^>]*>")


def _ids(catalog) -> set:
    return {m.id for m in catalog if m.id}


def _strings(message) -> list[str]:
    return list(message.string) if isinstance(message.string, tuple) else [message.string]


def _sources(message) -> list[str]:
    return list(message.id) if isinstance(message.id, tuple) else [message.id]


def check_message(message) -> list[str]:
    problems = []
    if message.fuzzy:
        problems.append("fuzzy")
    strings = _strings(message)
    if not all(s for s in strings):
        problems.append("empty")
        return problems
    want_ph = sorted(PLACEHOLDER.findall(_sources(message)[0]))
    want_tags = sorted(TAG.findall(_sources(message)[0]))
    for s in strings:
        if sorted(PLACEHOLDER.findall(s)) != want_ph and not (
                message.pluralizable and set(PLACEHOLDER.findall(s)) <= set(want_ph)):
            problems.append("placeholders differ")
        if sorted(TAG.findall(s)) != want_tags:
            problems.append("HTML tags differ")
    return problems


def extract_fresh() -> set:
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "fresh.pot"
        subprocess.run(  # noqa: S603 - fixed arguments
            [sys.executable, "-m", "babel.messages.frontend", "-q", "extract", "-F",
             str(ROOT / "babel.cfg"), "-k", "_l", "-k", "lazy_gettext", "--no-location",
             "-o", str(out), str(ROOT)],
            check=True, cwd=ROOT)
        with out.open("rb") as fh:
            return _ids(read_po(fh))


def problems() -> list[str]:
    found: list[str] = []
    with (TRANSLATIONS / "messages.pot").open("rb") as fh:
        template_ids = _ids(read_po(fh))
    fresh = extract_fresh()
    for missing in sorted(map(str, fresh - template_ids)):
        found.append(f"messages.pot is stale: missing {missing!r} (run `make babel-update`)")
    for extra in sorted(map(str, template_ids - fresh)):
        found.append(f"messages.pot is stale: {extra!r} no longer in the code")
    for locale in LOCALES:
        path = TRANSLATIONS / locale / "LC_MESSAGES" / "messages.po"
        with path.open("rb") as fh:
            catalog = read_po(fh, locale=locale)
        for missing in sorted(map(str, template_ids - _ids(catalog))):
            found.append(f"{locale}: no entry for {missing!r} (run `make babel-update`)")
        for message in catalog:
            if not message.id:
                continue
            for problem in check_message(message):
                found.append(f"{locale}: {problem}: {message.id!r}")
    return found


def main() -> int:
    found = problems()
    for line in found:
        print(line)
    if found:
        print(f"{len(found)} catalogue problem(s).")
        return 1
    print("Translation catalogues: OK")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
