"""Inquiry categories (問い合わせ種別): the managed two-level list, setting one on a thread, the
per-mailbox "category required before resolve" setting, and mall inquiry types mapped to categories.

Categories are global (``mailbox_id`` None, edited by admins) or one mailbox's (edited by its
leads and by admins); a child has a parent of the same scope (配送 › 遅延). They are kept apart
from free tags. Categories are switched off rather than deleted, so reports keep their names.
Knows nothing of HTTP; the thread page and bulk actions reach it through
``inbox.services.assignment``.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from inbox.models import Category, Mailbox, Thread, User
from inbox.services import deadlines, history
from inbox.services.access import editable_scopes, visible_mailbox_ids
from inbox.services.errors import InvalidInput, NotFound, PermissionDenied

MAX_NAME = 120
# Mailbox.settings keys.
REQUIRED_SETTING = "category_required"
MALL_MAP_SETTING = "mall_categories"  # {"<mall inquiry type or category, folded>": category id}
# external_meta keys a mall connector fills with its inquiry type / category.
MALL_META_KEYS = ("category", "inquiry_type")


def _(message: str) -> str:
    """Mark a message for translation; the web layer translates it when showing it."""
    return message


# --- reading ------------------------------------------------------------------------------------


def for_mailbox(session: Session, mailbox_id: int, *, active_only: bool = True) -> list[Category]:
    """Global categories and the mailbox's own, parents each followed by their children."""
    stmt = select(Category).where(
        or_(Category.mailbox_id == mailbox_id, Category.mailbox_id.is_(None))
    )
    if active_only:
        stmt = stmt.where(Category.active)
    return _tree(session.scalars(stmt))


def _tree(rows: Iterable[Category]) -> list[Category]:
    rows = list(rows)
    ids = {c.id for c in rows}
    key = lambda c: (c.mailbox_id is not None, c.position, c.name, c.id)  # noqa: E731
    out: list[Category] = []
    for parent in sorted((c for c in rows if c.parent_id is None or c.parent_id not in ids), key=key):
        out.append(parent)
        out.extend(sorted((c for c in rows if c.parent_id == parent.id), key=key))
    return out


def choices(session: Session, mailbox_id: int) -> list[tuple[int, str]]:
    """(id, "配送 › 遅延") of the active categories a thread of ``mailbox_id`` may take."""
    return [(c.id, c.label) for c in for_mailbox(session, mailbox_id)]


def visible_choices(session: Session, user: User) -> list[tuple[int, str]]:
    """(id, label) of the active categories of the user's mailboxes and the global ones; a
    mailbox's own are labelled with the mailbox name (for the queue's bulk action)."""
    ids = visible_mailbox_ids(session, user)
    rows = session.scalars(
        select(Category).where(
            Category.active, or_(Category.mailbox_id.is_(None), Category.mailbox_id.in_(ids))
        )
    )
    names = dict(session.execute(select(Mailbox.id, Mailbox.name).where(Mailbox.id.in_(ids))).all())
    return [
        (c.id, f"{c.label} ({names[c.mailbox_id]})" if c.mailbox_id else c.label) for c in _tree(rows)
    ]



def manageable(session: Session, user: User) -> list[Category]:
    """Every category (active or not) in the scopes the user may edit, global first."""
    scopes = editable_scopes(session, user)
    if not scopes:
        raise PermissionDenied(_("Only admins and leads may manage categories."))
    ids = [s for s in scopes if s is not None]
    cond = Category.mailbox_id.in_(ids)
    if None in scopes:
        cond = or_(cond, Category.mailbox_id.is_(None))
    return _tree(session.scalars(select(Category).where(cond)))


def usable(session: Session, thread: Thread, category_id: int) -> Category:
    """The category, if a thread of its mailbox may take it (active, global or the same mailbox)."""
    category = session.get(Category, category_id)
    if (
        category is None
        or not category.active
        or category.mailbox_id not in (None, thread.mailbox_id)
    ):
        raise InvalidInput(_("That category does not exist for this mailbox."))
    return category


# --- editing the list ---------------------------------------------------------------------------


def _check_scope(session: Session, user: User, mailbox_id: int | None) -> None:
    if mailbox_id not in editable_scopes(session, user):
        raise PermissionDenied(_("You may not edit the categories of this mailbox."))


def _parent(session: Session, parent_id: int | None, mailbox_id: int | None, own_id: int | None) -> int | None:
    if parent_id is None:
        return None
    parent = session.get(Category, parent_id)
    if parent is None or parent.id == own_id or parent.mailbox_id != mailbox_id:
        raise InvalidInput(_("The parent category must belong to the same mailbox."))
    if parent.parent_id is not None:
        raise InvalidInput(_("Categories have two levels: a parent cannot itself have a parent."))
    return parent.id


def _name(name: str) -> str:
    clean = " ".join((name or "").split())
    if not clean:
        raise InvalidInput(_("Enter a name."))
    if len(clean) > MAX_NAME:
        raise InvalidInput(_("A name may be at most 120 characters long."))
    return clean


def create(
    session: Session,
    user: User,
    *,
    mailbox_id: int | None,
    name: str,
    parent_id: int | None = None,
    position: int = 0,
    now: datetime,
) -> Category:
    """Add a category. Raises PermissionDenied (scope not the user's) or InvalidInput."""
    _check_scope(session, user, mailbox_id)
    category = Category(
        mailbox_id=mailbox_id,
        parent_id=_parent(session, parent_id, mailbox_id, None),
        name=_name(name),
        position=position,
        active=True,
    )
    session.add(category)
    session.flush()
    history.audit(session, "category_created", {"category": category.id, "name": category.name, "mailbox": mailbox_id}, by=user, now=now)
    return category


def update(
    session: Session,
    user: User,
    category_id: int,
    *,
    name: str,
    parent_id: int | None,
    position: int,
    active: bool,
    now: datetime,
) -> Category:
    """Rename, move, reorder or switch a category on/off (its scope stays). Raises NotFound,
    PermissionDenied or InvalidInput (a parent that has children cannot become a child)."""
    category = session.get(Category, category_id)
    if category is None:
        raise NotFound(_("This category does not exist."))
    _check_scope(session, user, category.mailbox_id)
    parent = _parent(session, parent_id, category.mailbox_id, category.id)
    if parent is not None and session.scalar(
        select(Category.id).where(Category.parent_id == category.id).limit(1)
    ):
        raise InvalidInput(_("Categories have two levels: a parent cannot itself have a parent."))
    before = {"name": category.name, "parent": category.parent_id, "active": category.active}
    category.name, category.parent_id = _name(name), parent
    category.position, category.active = position, active
    history.audit(
        session, "category_changed",
        {"category": category.id, "before": before, "after": {"name": category.name, "parent": parent, "active": active}},
        by=user, now=now,
    )
    return category


# --- a thread's category ------------------------------------------------------------------------


def apply(
    session: Session, thread: Thread, category_id: int | None, *, by: User | None, now: datetime,
    rule: str | None = None,
) -> bool:
    """Set the thread's category (None: none), event it and let a rule-set deadline follow.

    Returns False when nothing changed. Raises InvalidInput for a category the thread may not
    take. ``rule`` names the sorting rule that did it (written into the event).
    """
    if category_id is not None:
        category: Category | None = usable(session, thread, category_id)
    else:
        category = None
    if thread.category_id == category_id:
        return False
    old = session.get(Category, thread.category_id) if thread.category_id else None
    data: dict[str, Any] = {
        "from_category": old.id if old else None, "from_label": old.label if old else "",
        "to_category": category.id if category else None, "to_label": category.label if category else "",
    }
    if rule:
        data["rule"] = rule
    history.record(session, thread, "category_changed", data, by=by, now=now)
    thread.category_id = category_id
    thread.category = category
    deadlines.on_classification_changed(session, thread, now)
    return True


def required(mailbox: Mailbox) -> bool:
    return bool((mailbox.settings or {}).get(REQUIRED_SETTING))


def check_resolvable(session: Session, thread: Thread) -> None:
    """Raise InvalidInput if the thread's mailbox requires a category and it has none."""
    if thread.category_id is not None:
        return
    mailbox = thread.mailbox or session.get(Mailbox, thread.mailbox_id)
    if mailbox is not None and required(mailbox):
        raise InvalidInput(_("Choose a category before resolving this thread."))


# --- mailbox settings: required, mall mapping ---------------------------------------------------


def fold_key(value: str) -> str:
    """How a mall's inquiry type is compared: NFKC, case-folded, spaces squeezed."""
    return " ".join(unicodedata.normalize("NFKC", value).casefold().split())


def mall_mapping(mailbox: Mailbox) -> dict[str, int]:
    return {str(k): int(v) for k, v in ((mailbox.settings or {}).get(MALL_MAP_SETTING) or {}).items()}


def save_settings(
    session: Session,
    user: User,
    mailbox: Mailbox,
    *,
    required_: bool,
    mapping_text: str,
    now: datetime,
) -> None:
    """Store "category required before resolve" and the mall mapping.

    ``mapping_text`` holds one ``mall value = category label`` per line (the label as shown,
    e.g. ``配送 › 遅延``, or the category id). Raises PermissionDenied or InvalidInput naming the line.
    """
    _check_scope(session, user, mailbox.id)
    labels = {fold_key(c.label): c.id for c in for_mailbox(session, mailbox.id)}
    ids = set(labels.values())
    mapping: dict[str, int] = {}
    for n, line in enumerate(mapping_text.splitlines(), 1):
        if not line.strip():
            continue
        mall_value, sep, target = line.partition("=")
        target = target.strip()
        found = labels.get(fold_key(target.replace(">", "›")))
        if found is None and target.isdigit() and int(target) in ids:
            found = int(target)
        if not sep or not mall_value.strip() or found is None:
            raise InvalidInput(
                _("Line %(n)s: write “mall value = category”, with a category of this mailbox."), n=n
            )
        mapping[fold_key(mall_value)] = found
    mailbox.change_settings(**{REQUIRED_SETTING: bool(required_) or None, MALL_MAP_SETTING: mapping or None})
    history.audit(
        session, "category_settings_changed",
        {"mailbox": mailbox.id, "required": bool(required_), "mall_map": mapping}, by=user, now=now,
    )


def mapping_text(session: Session, mailbox: Mailbox) -> str:
    names = {c.id: c.label for c in for_mailbox(session, mailbox.id, active_only=False)}
    return "\n".join(f"{k} = {names.get(v, v)}" for k, v in mall_mapping(mailbox).items())


def mall_values(meta: dict[str, Any] | None) -> list[str]:
    """The mall inquiry type / category values in a thread's external_meta."""
    return [str(v) for k in MALL_META_KEYS if (v := (meta or {}).get(k))]


def category_for_mall(mailbox: Mailbox, meta: dict[str, Any] | None) -> int | None:
    """The category the mailbox maps the thread's mall inquiry type to (category first)."""
    mapping = mall_mapping(mailbox)
    if not mapping:
        return None
    for value in mall_values(meta):
        if (found := mapping.get(fold_key(value))) is not None:
            return found
    return None


def on_new_mall_thread(session: Session, thread: Thread, mailbox: Mailbox, now: datetime) -> bool:
    """At ingest: give a new mall thread the category its inquiry type maps to (if any)."""
    if thread.category_id is not None:
        return False
    found = category_for_mall(mailbox, thread.external_meta)
    if found is None:
        return False
    try:
        return apply(session, thread, found, by=None, now=now)
    except InvalidInput:
        return False  # the mapped category was switched off meanwhile
