"""Language selection: the user's setting, else the browser's, else Spanish.

The API prefers Accept-Language when the client sends it. Anonymous visitors
who pick a language keep it in their session cookie.
"""

from __future__ import annotations

from pathlib import Path

from flask import (
    Blueprint,
    Flask,
    current_app,
    has_request_context,
    redirect,
    request,
    session,
    url_for,
)
from flask_babel import get_locale
from flask_login import current_user
from werkzeug.wrappers import Response

from fieldapp import authz, times
from fieldapp.extensions import babel, db
from fieldapp.http_redirects import redirect_target

LANGUAGE_NAMES = {"es": "Español", "pt_BR": "Português (Brasil)", "en": "English"}

bp = Blueprint("i18n", __name__)


def supported() -> tuple[str, ...]:
    return tuple(current_app.config["LANGUAGES"])


def _browser_locale() -> str | None:
    # Babel-style matching: pt-BR / pt -> pt_BR, es-CO -> es.
    offered = {code.replace("_", "-"): code for code in supported()}
    offered.update({code.split("_")[0]: code for code in supported()})
    best = request.accept_languages.best_match(list(offered))
    return offered.get(best) if best else None


def select_locale() -> str:
    if not has_request_context():
        return current_app.config["BABEL_DEFAULT_LOCALE"]
    if authz.is_api_request():
        choice = request.accept_languages and _browser_locale()
        if choice:
            return choice
    user_locale = getattr(current_user, "locale", None) if current_user else None
    if user_locale in supported():
        return user_locale
    chosen = session.get("locale")
    if chosen in supported():
        return chosen
    return _browser_locale() or current_app.config["BABEL_DEFAULT_LOCALE"]


@bp.post("/language")
@authz.rule(authz.PUBLIC)
def switch() -> Response:
    """Save the chosen language (a form with one button per language; no JS needed)."""
    from fieldapp.accounts import services as accounts  # avoid an import cycle at load
    from fieldapp.accounts.forms import LanguageForm

    form = LanguageForm()
    if form.validate_on_submit():
        code = form.language.data or None
        if current_user.is_authenticated:
            accounts.set_locale(current_user, code)
            db.session.commit()
        elif code:
            session["locale"] = code
        else:
            session.pop("locale", None)
    return redirect(redirect_target(form.next.data, url_for("accounts.home")))


def _template_helpers() -> dict[str, object]:
    def current_locale_code() -> str:
        return str(get_locale() or current_app.config["BABEL_DEFAULT_LOCALE"])

    return {
        "language_names": LANGUAGE_NAMES,
        "current_locale_code": current_locale_code,
        "current_locale_tag": lambda: current_locale_code().replace("_", "-"),
    }


def init_app(app: Flask) -> None:
    app.context_processor(_template_helpers)
    translations = Path(app.root_path).parent / "translations"
    babel.init_app(app, locale_selector=select_locale,
                   timezone_selector=times.select_timezone,
                   default_translation_directories=str(translations))
    times.init_app(app)
    app.register_blueprint(bp)
