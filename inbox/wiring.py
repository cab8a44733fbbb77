"""The one place that connects the app's parts: which source polls a mailbox kind, which channel
answers it, which sender delivers an outbox kind, which hooks run on a status change.

``wire()`` fills every registry explicitly and is called by ``inbox.runtime.build_runtime``, so
the web app, the scheduler and every CLI command see the same registries whatever they
imported. No module registers itself when imported. To add a mailbox kind, a sender or a
hook, add a line here (and to ``describe()``'s test in tests/test_wiring.py).

The registries stay where their consumers read them (``outbox.DELIVERERS``,
``replies.REPLY_CHANNELS``, ...); this module only writes them. Web forms per mailbox kind
are listed likewise in ``inbox.web.mailbox_kinds.KIND_FORMS``.
"""

from __future__ import annotations

from inbox.demo import malls as demo_malls
from inbox.ingest import mall as mall_ingest
from inbox.ingest import store
from inbox.jobs import mall_poll, poll
from inbox.models import MailboxKind
from inbox.senders import alert_mail, mail_reply, mall_reply, mall_topic, webhook
from inbox.senders import mall_complete as mall_complete_sender
from inbox.services import (
    alerts,
    approval,
    assignment,
    auto_ack,
    automatic,
    csat,
    csat_followup,
    customer_orders,
    deadlines,
    delivery,
    history,
    kpi_facts,
    mailbox_check,
    mailboxes,
    mall_complete,
    mall_credentials,
    mall_replies,
    notification_hooks,
    notification_mail,
    notifications,
    outbox,
    replies,
    rule_actions,
    webhooks,
)
from inbox.sources import mall_http, rakuten, yahoo


def wire() -> None:
    """Fill every registry. Safe to call again: each call writes the same entries."""
    for connector in (rakuten.CONNECTOR, yahoo.CONNECTOR):
        mall_http.register_connector(connector)
    mall_http.demo_transport = demo_malls.demo_transport

    poll.SOURCE_POLLERS.update({
        MailboxKind.LOCAL: poll.poll_local,
        MailboxKind.IMAP: poll.poll_imap,
        MailboxKind.RAKUTEN: mall_poll.poll_mall,
        MailboxKind.YAHOO: mall_poll.poll_mall,
    })

    mail_channel = replies.MailChannel()
    replies.REPLY_CHANNELS.update({
        MailboxKind.IMAP: mail_channel,
        MailboxKind.LOCAL: mail_channel,
        MailboxKind.RAKUTEN: mall_replies.RAKUTEN_CHANNEL,
        MailboxKind.YAHOO: mall_replies.YAHOO_CHANNEL,
    })
    replies.THREAD_ACTIONS[mall_complete.KIND] = mall_complete.ACTION_LABEL
    replies.THREAD_ACTIONS[mall_complete.INCOMPLETE_KIND] = mall_complete.INCOMPLETE_LABEL
    replies.REPLY_FOOTERS[:] = [csat.reply_footer]

    outbox.register(alerts.KIND, alert_mail.deliver)
    outbox.register(mail_reply.KIND, mail_reply.deliver_reply, after=mail_reply.after_reply)
    for kind in mall_reply.KINDS:
        outbox.register(kind, mall_reply.deliver, after=mall_reply.after_delivery)
    outbox.register(mall_credentials.ALERT_KIND, mall_reply.deliver_alert)
    outbox.register(mall_topic.KIND, mall_topic.deliver, after=mall_topic.after_delivery)
    outbox.register(mall_complete.KIND, mall_complete_sender.deliver)
    outbox.register(mall_complete.INCOMPLETE_KIND, mall_complete_sender.deliver_incomplete)
    outbox.register(notification_mail.MAIL_KIND, alert_mail.deliver)
    outbox.register(auto_ack.KIND, mail_reply.deliver_reply, after=mail_reply.after_reply)
    outbox.register(csat_followup.KIND, mail_reply.deliver_reply, after=mail_reply.after_reply)
    outbox.register(webhooks.KIND, webhook.deliver, after=webhooks.after_delivery)

    # Ingest: after each stored message, in this order (rules before the deadline they affect).
    # A bounce of our own mail marks it failed; the auto-acknowledgement comes last.
    store.AFTER_STORE[:] = [
        rule_actions.on_stored_message,
        deadlines.on_stored_message,
        automatic.on_stored_message,
        notification_hooks.on_stored_message,
        kpi_facts.on_stored_message,
        customer_orders.on_stored_message,
        webhooks.on_stored_message,
        auto_ack.on_stored_message,
    ]
    mall_ingest.ON_RECONCILED[:] = [delivery.delivered]
    mall_ingest.ON_MALL_STATUS[:] = [assignment.status_changed]

    outbox.AFTER_ANY[:] = [delivery.on_outcome, notification_hooks.on_outcome, webhooks.on_outcome]
    assignment.STATUS_HOOKS[:] = [
        mall_complete.on_status_changed, kpi_facts.on_status_changed, webhooks.on_status_changed,
    ]
    assignment.ASSIGNED_HOOKS[:] = [webhooks.on_assigned]
    alerts.STAGE_HOOKS[:] = [webhooks.on_stage_reached]
    delivery.DELIVERED_HOOKS[:] = [kpi_facts.on_reply_delivered]
    history.AFTER_RECORD[:] = [notification_hooks.on_event]

    # Notification kinds, in the order the preferences page lists them; other areas add theirs.
    notifications.KINDS.clear()
    for kind in (*notifications.BUILTIN_KINDS, *approval.NOTIFICATION_KINDS):
        notifications.register_kind(kind)

    mailboxes.register_validator(MailboxKind.RAKUTEN, mall_credentials.validate_rakuten)
    mailboxes.register_validator(MailboxKind.YAHOO, mall_credentials.validate_yahoo)
    for kind in (MailboxKind.RAKUTEN, MailboxKind.YAHOO):
        mailbox_check.register_checker(kind, mall_credentials.check)


def describe() -> dict[str, list[str]]:
    """What is wired, by registry, as names: for tests and for `inbox doctor`-style output."""

    def name(obj: object) -> str:
        return f"{getattr(obj, '__module__', type(obj).__module__)}.{getattr(obj, '__qualname__', type(obj).__qualname__)}"

    return {
        "source_pollers": sorted(f"{k.value}: {name(v)}" for k, v in poll.SOURCE_POLLERS.items()),
        "reply_channels": sorted(f"{k.value}: {name(v)}" for k, v in replies.REPLY_CHANNELS.items()),
        "thread_actions": sorted(replies.THREAD_ACTIONS),
        "deliverers": sorted(f"{k}: {name(v)}" for k, v in outbox.DELIVERERS.items()),
        "after_delivery": sorted(f"{k}: {name(v)}" for k, v in outbox.AFTER_DELIVERY.items()),
        "after_any_outcome": [name(h) for h in outbox.AFTER_ANY],
        "status_hooks": [name(h) for h in assignment.STATUS_HOOKS],
        "delivered_hooks": [name(h) for h in delivery.DELIVERED_HOOKS],
        "assigned_hooks": [name(h) for h in assignment.ASSIGNED_HOOKS],
        "stage_hooks": [name(h) for h in alerts.STAGE_HOOKS],
        "after_store": [name(h) for h in store.AFTER_STORE],
        "on_reconciled": [name(h) for h in mall_ingest.ON_RECONCILED],
        "on_mall_status": [name(h) for h in mall_ingest.ON_MALL_STATUS],
        "reply_footers": [name(h) for h in replies.REPLY_FOOTERS],
        "after_record": [name(h) for h in history.AFTER_RECORD],
        "notification_kinds": list(notifications.KINDS),
        "settings_validators": sorted(f"{k.value}: {name(v)}" for k, v in mailboxes.SETTINGS_VALIDATORS.items()),
        "mall_connectors": sorted(mall_http.CONNECTORS),
        "checkers": sorted(f"{k.value}: {name(v)}" for k, v in mailbox_check.CHECKERS.items()),
    }
