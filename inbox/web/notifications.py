"""Notifications: the list with mark read / mark all read, the header's unread count, the
preferences form on "My settings", and following a thread from its page."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext
from flask_login import current_user, login_required

from inbox.db import utcnow
from inbox.models import Thread, User
from inbox.services import notifications
from inbox.web import db

bp = Blueprint("notifications", __name__, url_prefix="/notifications")


def _me() -> User:
    return current_user._get_current_object()


@bp.app_context_processor
def _helpers() -> dict[str, Any]:
    def unread_notification_count() -> int:
        if not current_user.is_authenticated:
            return 0
        return notifications.unread_count(db(), _me())

    def notification_preferences() -> tuple[list[notifications.Choice], bool]:
        return notifications.preferences(db(), _me())

    def following(thread: Thread) -> bool:
        return notifications.is_following(db(), _me(), thread.id)

    return {
        "unread_notification_count": unread_notification_count,
        "notification_preferences": notification_preferences,
        "following_thread": following,
        "notification_kind_label": lambda name: gettext(notifications.KINDS[name].label)
        if name in notifications.KINDS else name,
    }


@bp.get("")
@login_required
def index():
    unread_only = request.args.get("unread") == "1"
    items = notifications.list_for(db(), _me(), unread_only=unread_only)
    return render_template("notifications/index.html", items=items, unread_only=unread_only)


@bp.post("/<int:notification_id>/read")
@login_required
def read(notification_id: int):
    row = notifications.mark_read(db(), _me(), notification_id, now=utcnow())
    thread_id = row.thread_id
    db().commit()
    if request.form.get("open") == "1" and thread_id is not None:
        return redirect(url_for("thread.show", thread_id=thread_id))
    return redirect(url_for("notifications.index"))


@bp.post("/read-all")
@login_required
def read_all():
    count = notifications.mark_all_read(db(), _me(), now=utcnow())
    db().commit()
    flash(gettext("%(count)d notifications marked read.", count=count), "success")
    return redirect(url_for("notifications.index"))


@bp.post("/preferences")
@login_required
def preferences():
    form = request.form
    notifications.save_preferences(
        db(), _me(), app=set(form.getlist("app")), mail=set(form.getlist("mail")),
        digest=form.get("digest") == "1", now=utcnow(),
    )
    db().commit()
    flash(gettext("Notification settings saved."), "success")
    return redirect(url_for("auth.settings", _anchor="notifications"))


@bp.post("/threads/<int:thread_id>/follow")
@login_required
def follow(thread_id: int):
    notifications.follow(db(), _me(), thread_id, now=utcnow())
    db().commit()
    flash(gettext("You follow this thread: you will be told when it changes."), "success")
    return redirect(url_for("thread.show", thread_id=thread_id))


@bp.post("/threads/<int:thread_id>/unfollow")
@login_required
def unfollow(thread_id: int):
    notifications.unfollow(db(), _me(), thread_id)
    db().commit()
    flash(gettext("You no longer follow this thread."), "success")
    return redirect(url_for("thread.show", thread_id=thread_id))
