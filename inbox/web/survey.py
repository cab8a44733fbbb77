"""The public satisfaction survey page (no log-in): a signed link from a reply, 1-5 and a comment.

Shown in the customer's language (?lang=ja|en, else the thread's), rate-limited per client
address, with CSRF protection like every form. Errors (bad or forged link, closed answer) are
shown on the page itself, translated, never as a server error.
"""

from __future__ import annotations

from flask import Blueprint, render_template, request
from flask_babel import force_locale

from inbox.db import utcnow
from inbox.services import csat
from inbox.services.errors import InboxError, InvalidInput, NotFound
from inbox.web import db, runtime
from inbox.web.errors import translated

bp = Blueprint("survey", __name__, url_prefix="/survey")


def _language(survey: csat.Survey | None) -> str:
    chosen = request.args.get("lang") or request.form.get("lang")
    if chosen in ("ja", "en"):
        return chosen
    if survey is not None:
        return csat.thread_language(db(), survey.thread)
    return runtime().settings.default_language


def _page(token: str, survey, *, language: str, status: int = 200, error: InboxError | None = None,
          saved: bool = False):
    with force_locale(language):  # the customer's language, values filled in (errors.translated)
        message = translated(error) if error is not None else ""
        html = render_template("survey/page.html", token=token, survey=survey, language=language,
                               error=message, saved=saved, change_days=csat.CHANGE_DAYS)
    response = (html, status)
    return response


@bp.route("/<token>", methods=["GET", "POST"])
def page(token: str):
    now = utcnow()
    secret = runtime().settings.secret_key
    try:
        survey = csat.open_survey(db(), token, secret=secret, now=now)
    except NotFound as exc:
        return _page(token, None, language=_language(None), status=404, error=exc)
    language = _language(survey)
    if request.method == "GET":
        return _page(token, survey, language=language)
    session = db()
    try:
        csat.throttle(session, request.remote_addr or "?", now=now)
        session.commit()
        csat.answer(session, token, request.form.get("score", ""), request.form.get("comment", ""),
                    language=language, secret=secret, now=now)
        session.commit()
    except InboxError as exc:
        session.rollback()
        status = 429 if isinstance(exc, csat.TooManyAnswers) else 400 if isinstance(exc, InvalidInput) else 403
        survey = csat.open_survey(session, token, secret=secret, now=now)
        return _page(token, survey, language=language, status=status, error=exc)
    survey = csat.open_survey(session, token, secret=secret, now=now)
    return _page(token, survey, language=language, saved=True)


def answer_for(thread_id: int):
    """For the thread page: the thread's satisfaction answer, or None."""
    from inbox.models import CsatAnswer

    return db().get(CsatAnswer, thread_id)
