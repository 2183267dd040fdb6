"""The README's `flask` commands work as written, and a broken configuration says one
sentence instead of a traceback.

The command lines are read from README.md's code blocks (the list below only picks
which ones), so the README cannot drift from what works. They run as a person would
run them: from the repository root, with `.venv/bin/flask`, without FLASK_APP or
FIELDAPP_ENV, in an instance folder prepared the way `make run` prepares it.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

import config
from fieldapp import EXIT_CONFIGURATION, create_app, create_app_or_exit, prepare_instance
from fieldapp.crypto import KeyRing
from fieldapp.extensions import db

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
STRONG_SECRET = "s" * 48
NEW_PASSWORD = "a brand new demo passphrase 42"

# Which README commands a developer runs after `make run` (the text comes from README.md).
AFTER_MAKE_RUN = {
    "users set-password": NEW_PASSWORD + "\n" + NEW_PASSWORD + "\n",
    "keys verify": None,
    "keys list": None,
    "audit verify": None,
    "notices list": None,
}
PLACEHOLDER = re.compile(r"^[A-Z][A-Z0-9_:-]*$")  # ID, REFERENCE, SEQ:MAC, YYYY-MM-DD


def readme_commands() -> list[list[str]]:
    """Every `flask ...` / `.venv/bin/flask ...` line of README.md's code blocks."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    commands = []
    for block in re.findall(r"^\s*```[a-z]*\n(.*?)^\s*```", text, re.S | re.M):
        for line in block.replace("\\\n", " ").splitlines():
            words = shlex.split(line, comments=True)
            if words and words[0] in ("flask", ".venv/bin/flask"):
                commands.append(words)
    return commands


def readme_command(subcommand: str) -> list[str]:
    wanted = subcommand.split()
    for words in readme_commands():
        if words[1:1 + len(wanted)] == wanted and not any(map(PLACEHOLDER.match, words)):
            return words
    raise AssertionError(f"README.md shows no runnable `flask {subcommand}` command")


def _clean_env(**extra: str) -> dict[str, str]:
    """No FLASK_APP, no FIELDAPP_ENV: what a new terminal in the checkout has."""
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "LANG": "C.UTF-8",
           "HOME": os.environ.get("HOME", "/tmp")}
    env.update(extra)
    return env


def _run(words: list[str], env: dict[str, str], stdin: str | None = None):
    argv = [str(BIN / "flask"), *words[1:]]
    return subprocess.run(argv, cwd=ROOT, env=env, input=stdin, capture_output=True,
                          text=True, timeout=120, check=False)


@pytest.fixture(scope="module")
def checkout_instance(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """An instance folder after `make run`: settings written by the same code, then
    migrations and the demo accounts."""
    from flask_migrate import upgrade

    from fieldapp.demo import seed

    folder = tmp_path_factory.mktemp("checkout") / "instance"
    with pytest.MonkeyPatch.context() as mp:
        for name in ("FIELDAPP_ENV", "FIELDAPP_KEYRING", "FLASK_APP", *config._ENV_OVERRIDES):
            mp.delenv(name, raising=False)
        mp.setenv("FIELDAPP_INSTANCE_PATH", str(folder))
        assert prepare_instance() == folder / "fieldapp.env"
        app = create_app()
        assert app.config["FIELDAPP_ENV"] == "development"
        with app.app_context():
            upgrade()
            seed.seed("the first demo passphrase", with_cases=False)
            db.session.commit()
            db.engine.dispose()
    yield folder


@pytest.mark.parametrize("subcommand", list(AFTER_MAKE_RUN))
def test_readme_command_works_as_written_after_make_run(checkout_instance, subcommand):
    words = readme_command(subcommand)
    out = _run(words, _clean_env(FIELDAPP_INSTANCE_PATH=str(checkout_instance)),
               stdin=AFTER_MAKE_RUN[subcommand])
    output = out.stdout + out.stderr
    assert out.returncode == 0, output[-2000:]
    assert "Traceback" not in output


def test_readme_keys_generate_works_without_flask_app(tmp_path):
    """The deployment's first command, where there is no key file yet."""
    words = readme_command("keys generate")
    key_file = tmp_path / "keys.json"
    out = _run(words, _clean_env(FIELDAPP_ENV="production", SECRET_KEY=STRONG_SECRET,
                                 FIELDAPP_KEY_FILE=str(key_file),
                                 FIELDAPP_INSTANCE_PATH=str(tmp_path / "instance")))
    assert out.returncode == 0, (out.stdout + out.stderr)[-2000:]
    KeyRing.load(key_file)


def _one_sentence(text: str) -> str:
    lines = text.strip().splitlines()
    assert len(lines) == 1, text[-2000:]
    assert "Traceback" not in text
    assert not re.search(r"[.!?]\s+[A-Z]", lines[0]), lines[0]
    return lines[0]


def test_broken_configuration_is_one_sentence_for_flask_and_wsgi(tmp_path):
    # A bare `flask` where `make run` never ran: production, with the public secret.
    out = _run(readme_command("keys verify"),
               _clean_env(FIELDAPP_INSTANCE_PATH=str(tmp_path / "fresh")))
    assert out.returncode == EXIT_CONFIGURATION
    assert "SECRET_KEY" in _one_sentence(out.stderr)
    # `python wsgi.py`, as a WSGI server loads it: production without a key file.
    out = subprocess.run(
        [sys.executable, "wsgi.py"], cwd=ROOT, capture_output=True, text=True, timeout=120,
        check=False, env=_clean_env(FIELDAPP_ENV="production", SECRET_KEY=STRONG_SECRET,
                                    FIELDAPP_INSTANCE_PATH=str(tmp_path / "prod")))
    assert out.returncode == EXIT_CONFIGURATION
    assert "No key file" in _one_sentence(out.stderr)


@pytest.mark.parametrize(("settings", "words"), [
    ({"FIELDAPP_ENV": "staging"}, "FIELDAPP_ENV"),
    ({"FIELDAPP_ENV": "production", "SECRET_KEY": "dev-only-insecure-secret-key"},
     "SECRET_KEY"),
    ({"FIELDAPP_ENV": "production", "SECRET_KEY": STRONG_SECRET}, "No key file"),
    ({"FIELDAPP_ENV": "testing", "FIELDAPP_TRUSTED_PROXIES": -1}, "FIELDAPP_TRUSTED_PROXIES"),
])
def test_configuration_problems_end_the_process_with_one_sentence(
        tmp_path, monkeypatch, capsys, settings, words):
    for name in ("FIELDAPP_ENV", "FIELDAPP_KEYRING", *config._ENV_OVERRIDES):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("FIELDAPP_INSTANCE_PATH", str(tmp_path / "instance"))
    with pytest.raises(SystemExit) as stopped:
        create_app_or_exit(settings)
    assert stopped.value.code == EXIT_CONFIGURATION
    assert words in _one_sentence(capsys.readouterr().err)


def test_make_bench_works_in_a_fresh_checkout(tmp_path):
    """`make bench` in a fresh clone of HEAD: the Makefile's own commands (read with
    `make -n`), on a tiny N and with few repeats to stay quick. The clone uses this
    checkout's virtualenv, linked in, with the clone's code first on the path, as its
    own `make install` would have it."""
    clone = tmp_path / "clone"
    subprocess.run(["git", "clone", "--quiet", str(ROOT), str(clone)], check=True,
                   capture_output=True, timeout=120)
    (clone / ".venv").symlink_to(BIN.parent, target_is_directory=True)
    env = _clean_env(PYTHONPATH=str(clone))
    dry = subprocess.run(["make", "-n", "-o", "install", "bench", "N=50"], cwd=clone, env=env,
                         capture_output=True, text=True, timeout=60, check=True)
    commands = [shlex.split(line) for line in dry.stdout.replace("\\\n", " ").splitlines()
                if line.strip()]
    assert [words[:2] for words in commands][-1] == [".venv/bin/flask", "bench"], dry.stdout
    commands[-1] += ["--repeat", "5"]
    for words in commands:
        out = subprocess.run(words, cwd=clone, env=env, capture_output=True, text=True,
                             timeout=120, check=False)
        output = out.stdout + out.stderr
        assert out.returncode == 0, (words, output[-2000:])
        assert "Traceback" not in output
    assert re.search(r"N = 50 cases on sqlite", out.stdout) and "p50" in out.stdout
    written = json.loads((clone / "bench" / "results-sqlite-50.json").read_text())
    assert written["n"] == 50 and any(key.endswith("_ms") for key in written)
