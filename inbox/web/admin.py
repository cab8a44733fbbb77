"""Administration: users (invite, disable, roles, mailbox access, reset links, two-factor reset) and
mailboxes (settings, connection test); every change is written to the audit log."""

from __future__ import annotations

from functools import wraps
from zoneinfo import available_timezones

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy import select
from wtforms.fields.choices import SelectChoice

from inbox.db import utcnow
from inbox.models import Mailbox, OutboxStatus, Role, User
from inbox.services import accounts, mailbox_health, mall_rate, passwords, quarantine, two_factor
from inbox.services import mailboxes as mailbox_service
from inbox.services.access import require_role
from inbox.services.audit import diff as audit_diff
from inbox.services.errors import InvalidInput, NotFound
from inbox.services.mailbox_check import check_mailbox as run_check
from inbox.web import approval_settings, db, mailbox_kinds, runtime
from inbox.web.audit import note
from inbox.web.errors import translated
from inbox.web.forms import EmptyForm, UserForm

bp = Blueprint("admin", __name__, url_prefix="/admin")


def admin_required(view):
    @wraps(view)
    @login_required
    def wrapped(*args, **kwargs):
        require_role(current_user, Role.ADMIN)
        return view(*args, **kwargs)

    return wrapped


def _mailbox_choices() -> list[SelectChoice]:
    return [SelectChoice(m.id, m.name) for m in db().scalars(select(Mailbox).order_by(Mailbox.name))]


@bp.route("/users")
@admin_required
def users():
    rows = db().scalars(select(User).order_by(User.active.desc(), User.name))
    return render_template("admin/users.html", users=list(rows))


@bp.route("/users/new", methods=["GET", "POST"])
@admin_required
def new_user():
    form = UserForm()
    form.mailboxes.choices = _mailbox_choices()
    if form.validate_on_submit():
        if form.timezone.data not in available_timezones():
            form.timezone.errors.append(_("Unknown time zone."))
            return render_template("admin/user_form.html", form=form, user=None), 400
        password = form.password.data or None
        session = db()
        try:
            if password:
                passwords.check_strength(password, email=form.email.data, name=form.name.data)
            user = accounts.create_user(
                session,
                email=form.email.data,
                name=form.name.data,
                role=form.role.data,
                password=password,
                language=form.language.data,
                timezone=form.timezone.data,
                mailbox_ids=form.mailboxes.data or [],
            )
        except InvalidInput as exc:
            session.rollback()
            field = form.password if password and "password" in exc.message.lower() else form.email
            field.errors.append(translated(exc))
            return render_template("admin/user_form.html", form=form, user=None), 400
        accounts.set_active(session, user, bool(form.active.data), now=utcnow())
        approval_settings.save_user(form, user)
        note("user.create", f"user:{user.id}", _user_state(user))
        if not password:
            _send_link(user, passwords.INVITE)
        session.commit()
        if password:
            flash(_("User %(email)s created.", email=user.email), "info")
        else:
            flash(
                _("User %(email)s created. A link to set the password was mailed to them.",
                  email=user.email),
                "info",
            )
        return redirect(url_for("admin.users"))
    return render_template("admin/user_form.html", form=form, user=None), 400 if form.errors else 200


def _user_state(user: User) -> dict:
    return {
        "email": user.email, "name": user.name, "role": user.role, "active": user.active,
        "language": user.language, "timezone": user.timezone,
        "mailboxes": sorted(m.mailbox_id for m in user.memberships),
        "password_login": user.password_login,
    }  # fmt: skip


def _send_link(user: User, purpose: str) -> None:
    """Issue a single-use link for ``user`` and queue the mail (the caller commits)."""
    now = utcnow()
    token = passwords.issue_link(db(), user, purpose, now=now)
    link = url_for("account.reset", token=token, _external=True)
    passwords.mail_link(db(), user, purpose, link, now=now, settings=runtime().settings)
    note("password.reset_sent", f"user:{user.id}", {"purpose": purpose})


@bp.route("/users/<int:user_id>", methods=["GET", "POST"])
@admin_required
def edit_user(user_id: int):
    session = db()
    user = session.get(User, user_id)
    if user is None:
        raise NotFound("No such user.")
    form = UserForm(obj=user)
    form.mailboxes.choices = _mailbox_choices()
    if not form.is_submitted():
        form.mailboxes.data = [m.mailbox_id for m in user.memberships]
    if form.validate_on_submit():
        if form.timezone.data not in available_timezones():
            form.timezone.errors.append(_("Unknown time zone."))
            return _user_page(form, user, 400)
        if user.id == current_user.id and (not form.active.data or form.role.data != "admin"):
            flash(_("You cannot remove your own admin role or disable yourself."), "error")
            return _user_page(form, user, 400)
        before = _user_state(user)
        if form.password.data:
            try:
                passwords.check_strength(form.password.data, email=user.email, name=form.name.data)
            except InvalidInput as exc:
                form.password.errors.append(translated(exc))
                return _user_page(form, user, 400)
        user.name = form.name.data
        user.role = Role(form.role.data)
        user.language = form.language.data
        user.timezone = form.timezone.data
        accounts.set_active(session, user, bool(form.active.data), now=utcnow())
        if form.password.data:
            accounts.set_password(session, user, form.password.data, now=utcnow())
            note("password.set_by_admin", f"user:{user.id}")
        accounts.set_mailbox_access(session, user, form.mailboxes.data or [])
        approval_settings.save_user(form, user)
        if approval_settings.posted(form.password_login):
            user.password_login = bool(form.password_login.data)
        if changes := audit_diff(before, _user_state(user)):
            note("user.update", f"user:{user.id}", changes)
        session.commit()
        flash(_("User %(email)s saved.", email=user.email), "info")
        return redirect(url_for("admin.users"))
    return _user_page(form, user, 400 if form.errors else 200)


def _user_page(form: UserForm, user: User, status: int = 200):
    return render_template(
        "admin/user_form.html", form=form, user=user, empty=EmptyForm(),
        two_factor_on=two_factor.enabled(db(), user.id),
    ), status  # fmt: skip


@bp.route("/users/<int:user_id>/reset-link", methods=["POST"])
@admin_required
def send_reset_link(user_id: int):
    user = db().get(User, user_id)
    if user is None:
        raise NotFound("No such user.")
    if not EmptyForm().validate_on_submit():
        raise InvalidInput("The form was too old. Reload the page and try again.")
    if not user.active:
        raise InvalidInput("The user is disabled; enable them first.")
    _send_link(user, passwords.RESET if user.password_hash else passwords.INVITE)
    db().commit()
    flash(_("A link to set a new password was mailed to %(email)s.", email=user.email), "info")
    return redirect(url_for("admin.edit_user", user_id=user.id))


@bp.route("/users/<int:user_id>/two-factor-reset", methods=["POST"])
@admin_required
def reset_two_factor(user_id: int):
    """A user lost their phone: turn their two-factor log-in off (they set it up again)."""
    user = db().get(User, user_id)
    if user is None:
        raise NotFound("No such user.")
    if not EmptyForm().validate_on_submit():
        raise InvalidInput("The form was too old. Reload the page and try again.")
    two_factor.disable(db(), user.id)
    note("2fa.reset_by_admin", f"user:{user.id}")
    db().commit()
    flash(_("Two-factor log-in of %(email)s was reset.", email=user.email), "info")
    return redirect(url_for("admin.edit_user", user_id=user.id))


@bp.route("/mailboxes")
@admin_required
def mailboxes():
    return render_template(
        "admin/mailboxes.html",
        mailboxes=mailbox_service.mailbox_overview(db()),
        kinds=mailbox_kinds.kinds(),
        outages=mailbox_health.outages(db()),
        flagged=quarantine.count_flagged(db()),
    )


def _user_choices() -> list[SelectChoice]:
    users = db().scalars(select(User).where(User.active).order_by(User.name))
    return [SelectChoice(u.id, f"{u.name} <{u.email}>") for u in users]


def _mailbox_page(spec, form, mailbox: Mailbox | None, check=None):
    has_password = {
        name: mailbox is not None and mailbox_service.has_secret(mailbox, runtime().secrets, key)
        for name, key in spec.secrets.items()
    }
    page = render_template(
        "admin/mailbox_form.html",
        spec=spec, form=form, mailbox=mailbox, check=check, has_password=has_password,
    )  # fmt: skip
    return page, 400 if form.errors else 200


def _mailbox_state(mailbox: Mailbox) -> dict:
    """What the audit log compares (never the secrets: see ``_secret_keys_changed``)."""
    db().flush()
    state = {
        key: getattr(mailbox, key)
        for key in ("name", "address", "display_name", "active", "poll_interval_seconds",
                    "timezone", "signature", "status_after_reply", "outbound_charset")
    }  # fmt: skip
    state.update({f"settings.{k}": v for k, v in (mailbox.settings or {}).items()})
    state["members"] = sorted(m.user_id for m in mailbox.members)
    return state


def _secret_keys_changed(before: str | None, after: str | None) -> list[str]:
    """Names of the secret keys whose value changed; the values themselves are never kept."""
    if before == after:
        return []
    old, new = runtime().secrets.open(before), runtime().secrets.open(after)
    return sorted(k for k in set(old) | set(new) if old.get(k) != new.get(k))


def _show_error(spec, form, exc: mailbox_service.InvalidSetting) -> None:
    name, text = spec.field_for(exc.field), translated(exc)
    if name is None or name not in form:
        form.form_errors.append(text)
    else:
        form[name].errors = [*form[name].errors, text]


@bp.route("/mailboxes/new", methods=["GET", "POST"])
@admin_required
def new_mailbox():
    spec = mailbox_kinds.get(request.args.get("kind", "imap"))
    form = spec.form_class()
    form.members.choices = _user_choices()
    approval_settings.prepare_mailbox_form(form, form.members.choices)
    if form.validate_on_submit():
        try:
            mailbox = mailbox_service.create_mailbox(
                db(), runtime().secrets, kind=spec.kind, now=utcnow(), **spec.values(form)
            )
        except mailbox_service.InvalidSetting as exc:
            _show_error(spec, form, exc)
        else:
            if not approval_settings.save_mailbox(form, mailbox):
                db().rollback()
                return _mailbox_page(spec, form, None)
            note("mailbox.create", f"mailbox:{mailbox.id}", {
                **audit_diff({}, _mailbox_state(mailbox)),
                "secrets_changed": _secret_keys_changed(None, mailbox.secret_encrypted),
            })  # fmt: skip
            db().commit()
            flash(_("Mailbox %(name)s created.", name=mailbox.name), "info")
            return redirect(url_for("admin.edit_mailbox", mailbox_id=mailbox.id))
    return _mailbox_page(spec, form, None)


@bp.route("/mailboxes/<int:mailbox_id>", methods=["GET", "POST"])
@admin_required
def edit_mailbox(mailbox_id: int):
    mailbox = mailbox_service.get_mailbox(db(), id=mailbox_id)
    spec = mailbox_kinds.get(mailbox.kind)
    form = spec.form_class()
    form.members.choices = _user_choices()
    approval_settings.prepare_mailbox_form(form, form.members.choices)
    if not form.is_submitted():
        spec.fill(form, mailbox)
        approval_settings.fill_mailbox(form, mailbox)
    elif form.validate():
        before, sealed = _mailbox_state(mailbox), mailbox.secret_encrypted
        try:
            mailbox_service.update_mailbox(
                db(), runtime().secrets, mailbox, now=utcnow(), **spec.values(form)
            )
        except mailbox_service.InvalidSetting as exc:
            _show_error(spec, form, exc)
        else:
            if not approval_settings.save_mailbox(form, mailbox):
                db().rollback()
                return _mailbox_page(spec, form, mailbox)
            changes: dict = audit_diff(before, _mailbox_state(mailbox))
            if secret_keys := _secret_keys_changed(sealed, mailbox.secret_encrypted):
                changes["secrets_changed"] = secret_keys
            if changes:
                note("mailbox.update", f"mailbox:{mailbox.id}", changes)
            db().commit()
            flash(_("Mailbox %(name)s saved.", name=mailbox.name), "info")
            return redirect(url_for("admin.edit_mailbox", mailbox_id=mailbox.id))
    return _mailbox_page(spec, form, mailbox)


@bp.route("/mailboxes/<int:mailbox_id>/test-mail", methods=["POST"])
@admin_required
def test_mail(mailbox_id: int):
    """Send a test mail from the mailbox to the admin's own address over its saved SMTP settings."""
    from inbox.senders.mail_reply import send_test_mail

    mailbox = mailbox_service.get_mailbox(db(), id=mailbox_id)
    me = current_user._get_current_object()
    outcome = send_test_mail(mailbox, runtime(), me.email, now=utcnow())
    if outcome.status == OutboxStatus.SENT:
        flash(_("A test mail was sent to %(address)s. Check that it arrived.", address=me.email), "success")
    else:
        flash(_("The test mail could not be sent: %(reason)s", reason=outcome.error or ""), "error")
    return redirect(url_for("admin.edit_mailbox", mailbox_id=mailbox.id))


@bp.route("/mailboxes/<int:mailbox_id>/check", methods=["POST"])
@admin_required
def check_mailbox(mailbox_id: int):
    """Test the stored settings with the same check as `inbox mailbox check`."""
    mailbox = mailbox_service.get_mailbox(db(), id=mailbox_id)
    spec = mailbox_kinds.get(mailbox.kind)
    result = run_check(mailbox, runtime().secrets, env=mall_rate.env_for(runtime()))
    form = spec.form_class(formdata=None)
    form.members.choices = _user_choices()
    approval_settings.prepare_mailbox_form(form, form.members.choices)
    spec.fill(form, mailbox)
    approval_settings.fill_mailbox(form, mailbox)
    return _mailbox_page(spec, form, mailbox, check=result)
