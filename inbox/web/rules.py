"""Sorting rules (振り分けルール) pages: the ordered list, the editor with its dry-run preview,
delete and reorder. Leads edit their mailboxes' rules, admins every rule (global ones too)."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required
from flask_wtf import FlaskForm
from sqlalchemy import select

from inbox.db import utcnow
from inbox.models import Category, Mailbox, MailboxMember, User
from inbox.services import deadlines, rule_actions, rule_editor, rules
from inbox.services.errors import InvalidInput, PermissionDenied
from inbox.web import db
from inbox.web.errors import translated

bp = Blueprint("rules", __name__, url_prefix="/rules")

CONDITION_LABELS = {
    "sender": _l("Sender address or domain"),
    "recipient": _l("Sent to (our address)"),
    "subject": _l("Subject contains"),
    "body": _l("Body contains"),
    "kind": _l("Kind of mail (normal, auto_reply, bounce, bulk)"),
    "channel": _l("Channel (imap, local, rakuten, yahoo)"),
    "mall_type": _l("Mall inquiry type or category contains"),
    "has_attachment": _l("Has an attachment (yes / no)"),
    "business_hours": _l("Arrived inside / outside business hours (inside / outside)"),
    "vip": _l("Customer is VIP (yes / no)"),
    "customer_vip": _l("Customer profile is VIP, through any linked identity (yes / no)"),
    "thread": _l("New thread or follow-up (new / followup)"),
}
ACTION_LABELS = {
    "add_tags": _l("Add tags (comma-separated)"),
    "set_category": _l("Set category"),
    "set_priority": _l("Set priority"),
    "assign": _l("Assign to (name or address)"),
    "assign_round_robin": _l("Assign round-robin among the mailbox's members"),
    "assign_least_loaded": _l("Assign to the least-loaded member who is working"),
    "set_status": _l("Set status"),
    "move_mailbox": _l("Move to mailbox"),
    "deadline_rule": _l("Apply the named deadline rule"),
    "spam": _l("Mark as spam"),
    "block_sender": _l("Mark as spam and block the sender"),
    "require_approval": _l("Require approval of replies"),
    "stop": _l("Stop processing further rules"),
}
BLANK_ROWS = 3


def _me() -> User:
    return current_user._get_current_object()


def _names() -> dict:
    session = db()
    return {
        "user": dict(session.execute(select(User.id, User.email)).all()),
        "category": {c.id: c.label for c in session.scalars(select(Category))},
        "mailbox": dict(session.execute(select(Mailbox.id, Mailbox.name)).all()),
    }


def _suggestions(scopes: list[int | None]) -> dict[str, list[str]]:
    """Values to offer in the editor's datalists (what the user may type)."""
    session = db()
    ids = [s for s in scopes if s is not None]
    people = session.scalars(
        select(User.email).join(MailboxMember, MailboxMember.user_id == User.id)
        .where(MailboxMember.mailbox_id.in_(ids), User.active).distinct().order_by(User.email)
    ).all()
    boxes = session.scalars(select(Mailbox).where(Mailbox.id.in_(ids)).order_by(Mailbox.name)).all()
    cats = session.scalars(select(Category).where(Category.active)).all()
    choice_values = sorted({v for vs in rules.CONDITIONS.values() if vs for v in vs})
    return {
        "conditions": choice_values,
        "actions": [
            *people, *sorted({c.label for c in cats if c.mailbox_id in (None, *ids)}),
            *(b.name for b in boxes), *sorted({n for b in boxes for n in deadlines.rule_names(b)}),
            *rules.PRIORITY_WORDS, *rules.STATUS_WORDS,
        ],
    }


def _scope_choices(scopes: list[int | None]) -> list[tuple[str, str]]:
    names = dict(db().execute(select(Mailbox.id, Mailbox.name)).all())
    return [("" if s is None else str(s), gettext("All mailboxes (global)") if s is None else names.get(s, "?")) for s in scopes]


def _input() -> rule_editor.RuleInput:
    f = request.form
    scope = f.get("mailbox", "")
    if scope and not scope.isdigit():
        raise InvalidInput(gettext("Choose a mailbox."))
    return rule_editor.RuleInput(
        name=f.get("name", ""),
        mailbox_id=int(scope) if scope else None,
        match_all=f.get("match") != "any",
        active=bool(f.get("active")),
        conditions=rule_editor.input_rows(f.getlist("cond_field"), f.getlist("cond_value")),
        actions=rule_editor.input_rows(f.getlist("action_type"), f.getlist("action_value")),
    )


@bp.route("/")
@login_required
def index():
    session, me = db(), _me()
    listed = rules.visible_rules(session, me)
    names = _names()
    return render_template(
        "rules/index.html", rules=listed, names=names, condition_labels=CONDITION_LABELS,
        shown={r.id: rule_editor.as_rows(r, names) for r in listed},
        action_labels=ACTION_LABELS,
    )


@bp.route("/new", methods=["GET", "POST"])
@login_required
def create():
    return _editor(None)


@bp.route("/<int:rule_id>/edit", methods=["GET", "POST"])
@login_required
def edit(rule_id: int):
    return _editor(rule_id)


def _editor(rule_id: int | None):
    session, me = db(), _me()
    scopes = rules.editable_scopes(session, me)
    if not scopes:
        raise PermissionDenied(gettext("Only admins and leads may edit sorting rules."))
    stored = rules.get_rule(session, me, rule_id) if rule_id is not None else None
    form, status, preview = FlaskForm(), 200, None
    if request.method == "GET":
        rows = rule_editor.as_rows(stored, _names())
        values = {
            "name": stored.name if stored else "", "match": "all" if not stored or stored.match_all else "any",
            "active": stored.active if stored else True,
            "mailbox": "" if not stored or stored.mailbox_id is None else str(stored.mailbox_id),
            **rows,
        }
    else:
        f = request.form
        values = {
            "name": f.get("name", ""), "match": f.get("match", "all"), "active": bool(f.get("active")),
            "mailbox": f.get("mailbox", ""),
            "conditions": rule_editor.input_rows(f.getlist("cond_field"), f.getlist("cond_value")),
            "actions": rule_editor.input_rows(f.getlist("action_type"), f.getlist("action_value")),
        }
        if not form.validate_on_submit():
            raise InvalidInput(gettext("The form expired. Reload the page and try again."))
        try:
            data = _input()
            if request.form.get("do") == "preview":
                looked, matched = rule_actions.preview(session, me, rule_editor.build(session, me, data), now=utcnow())
                preview = {"looked": looked, "rows": matched}
                session.rollback()  # the dry run wrote nothing; make sure nothing is kept
            else:
                saved = rule_editor.save(session, me, data, rule_id=rule_id, now=utcnow())
                session.commit()
                flash(gettext("Rule “%(name)s” saved.", name=saved.name), "success")
                return redirect(url_for("rules.index"))
        except InvalidInput as exc:
            session.rollback()
            flash(translated(exc), "error")
            status = 400
    return render_template(
        "rules/form.html", rule=stored, values=values, preview=preview, scopes=_scope_choices(scopes),
        condition_labels=CONDITION_LABELS, action_labels=ACTION_LABELS, blank_rows=BLANK_ROWS,
        suggestions=_suggestions(scopes),
    ), status


@bp.post("/<int:rule_id>/delete")
@login_required
def delete(rule_id: int):
    if not FlaskForm().validate_on_submit():
        raise InvalidInput(gettext("The form expired. Reload the page and try again."))
    rule_editor.delete(db(), _me(), rule_id, now=utcnow())
    db().commit()
    flash(gettext("Rule deleted."), "success")
    return redirect(url_for("rules.index"))


@bp.post("/<int:rule_id>/move")
@login_required
def move(rule_id: int):
    if not FlaskForm().validate_on_submit():
        raise InvalidInput(gettext("The form expired. Reload the page and try again."))
    rule_editor.move(db(), _me(), rule_id, up=request.form.get("direction") == "up", now=utcnow())
    db().commit()
    return redirect(url_for("rules.index"))
