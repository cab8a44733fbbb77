"""Webhooks: events from the hooks, signed HTTP POSTs through the outbox to a real local receiver,
retries after a server error, redelivery, chat formats, and URLs refused for SSRF."""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from sqlalchemy import select

from inbox import create_app
from inbox.db import utcnow
from inbox.ingest.store import StoredMessage
from inbox.models import OutboxItem, OutboxStatus, Role, Status, WebhookDelivery
from inbox.senders import webhook as sender
from inbox.services import assignment, outbox, webhooks
from inbox.services.errors import InvalidInput
from tests.conftest import base_config
from tests.factories import make_mailbox, make_user
from tests.services.test_replies import customer_thread, item_of, queue_reply


class Receiver:
    """A local HTTP server that records each POST and answers with the next queued status."""

    def __init__(self, statuses=()):
        self.statuses = list(statuses)
        self.requests: list[tuple[dict[str, str], bytes]] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"]))
                receiver.requests.append(({k.lower(): v for k, v in self.headers.items()}, body))
                status = receiver.statuses.pop(0) if receiver.statuses else 200
                self.send_response(status)
                self.end_headers()
                self.wfile.write(b"thanks" if status < 300 else b"broken")

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/hook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


def verify(secret: str, headers: dict[str, str], body: bytes) -> bool:
    """What a receiver does: recompute the HMAC over "<timestamp>.<body>" and compare."""
    expected = hmac.new(secret.encode(), headers["x-inbox-timestamp"].encode() + b"." + body,
                        hashlib.sha256).hexdigest()
    return hmac.compare_digest("sha256=" + expected, headers["x-inbox-signature"])


@pytest.fixture
def receiver():
    r = Receiver()
    yield r
    r.close()


@pytest.fixture
def rt(connection, db_url, tmp_path):
    config = base_config(tmp_path, db_url)
    config.update({"bind": connection, "testing": True, "webhooks": {"allow_private": True}})
    return create_app(config).extensions["inbox"]


@pytest.fixture
def world(session):
    box = make_mailbox(session, address="support@example.test")
    admin = make_user(session, Role.ADMIN)
    agent = make_user(session, mailboxes=[box])
    thread, msg = customer_thread(session, box)
    return {"box": box, "admin": admin, "agent": agent, "thread": thread, "msg": msg}


def subscribe(session, rt, world, url, events=webhooks.EVENTS, fmt="json", mailbox_id=None):
    return webhooks.create(session, rt.secrets, by=world["admin"], allow_private=True, now=utcnow(),
                           name="受注管理", url=url, events=list(events), fmt=fmt, mailbox_id=mailbox_id)


def deliver(rt, at):
    return outbox.deliver_due(rt.Session, rt, owner="test", now=lambda: at)


def test_a_status_change_is_posted_signed_and_the_receiver_verifies_it(session, rt, world, receiver):
    sub = subscribe(session, rt, world, receiver.url)
    thread = world["thread"]
    assignment.set_status(session, thread.id, Status.OPEN, by=world["agent"], expected_version=thread.version, now=utcnow())
    session.flush()
    assert deliver(rt, utcnow()) == {"sent": 1}
    (headers, body), = receiver.requests
    assert verify(webhooks.secret_of(sub, rt.secrets), headers, body)
    assert not verify("another secret", headers, body)
    event = json.loads(body)
    assert event["event"] == "thread.status_changed" and event["thread"]["status"] == "open"
    assert headers["x-inbox-event"] == "thread.status_changed" and headers["x-inbox-delivery"] == event["id"]
    session.expire_all()
    delivery = session.scalar(select(WebhookDelivery))
    assert delivery.responses[0]["status"] == 200 and delivery.responses[0]["body"] == "thanks"


def test_a_server_error_is_retried_later_with_the_same_event(session, rt, world, receiver):
    subscribe(session, rt, world, receiver.url)
    receiver.statuses = [500]
    thread = world["thread"]
    now = utcnow()
    assignment.assign(session, thread.id, world["agent"].id, by=world["agent"], expected_version=thread.version, now=now)
    session.flush()
    assert deliver(rt, now) == {"queued": 1}
    session.expire_all()
    item = session.scalar(select(OutboxItem).where(OutboxItem.kind == "webhook"))
    assert item.next_attempt_at == now + outbox.retry_delay(1) and "500" in item.last_error
    assert deliver(rt, now + timedelta(seconds=5)) == {}  # not due yet
    assert deliver(rt, now + timedelta(seconds=31)) == {"sent": 1}
    first, second = receiver.requests
    assert json.loads(first[1]) == json.loads(second[1]) and json.loads(first[1])["event"] == "thread.assigned"
    session.expire_all()
    responses = session.scalar(select(WebhookDelivery)).responses
    assert [r["status"] for r in responses] == [200, 500]


def test_a_client_error_fails_at_once_and_redelivery_sends_the_event_again(session, rt, world, receiver):
    sub = subscribe(session, rt, world, receiver.url)
    receiver.statuses = [410]
    delivery = webhooks.ping(session, sub, by=world["admin"], now=utcnow())
    session.flush()
    assert deliver(rt, utcnow()) == {"failed": 1}
    again = webhooks.redeliver(session, delivery.id, by=world["admin"], now=utcnow())
    session.flush()
    assert deliver(rt, utcnow()) == {"sent": 1}
    assert again.event_id == delivery.event_id and again.id != delivery.id
    assert [json.loads(b)["id"] for _h, b in receiver.requests] == [delivery.event_id] * 2
    with pytest.raises(Exception, match="role"):
        webhooks.redeliver(session, delivery.id, by=world["agent"], now=utcnow())


def test_events_come_from_ingest_bulk_assignment_and_failed_replies(session, rt, world):
    box, thread, msg = world["box"], world["thread"], world["msg"]
    other_box = make_mailbox(session)
    subscribe(session, rt, world, "http://127.0.0.1:9/a", mailbox_id=box.id)
    subscribe(session, rt, world, "http://127.0.0.1:9/b", events=["thread.created"], mailbox_id=other_box.id)
    now = utcnow()
    webhooks.on_stored_message(session, StoredMessage(mailbox=box, thread=thread, message=msg, created=True, now=now))
    webhooks.on_stored_message(session, StoredMessage(mailbox=box, thread=thread, message=msg, created=False, now=now))
    assignment.bulk_apply(session, [thread.id], "assign", "me", world["agent"], now)
    reply = queue_reply(session, rt, thread, world["agent"], now=now)
    item = item_of(session, reply)
    item.status, item.attempts = OutboxStatus.SENDING, 1
    outbox.record(session, item, outbox.DeliveryOutcome(OutboxStatus.REJECTED, "refused"), now=now)
    session.flush()
    events = session.scalars(select(WebhookDelivery.event).order_by(WebhookDelivery.id)).all()
    assert events == ["thread.created", "customer.replied", "thread.assigned", "reply.failed"]


def test_chat_formats_carry_a_readable_text():
    body = {"id": "e1", "event": "thread.created", "thread": {"id": 7, "subject": "配送", "status": "new"}, "data": {}}
    assert json.loads(sender.render(body, "slack"))["text"] == "[thread.created] #7 配送 (new)"
    assert json.loads(sender.render(body, "chatwork"))["body"].startswith("[info][title]inbox[/title][thread.created] #7")
    assert json.loads(sender.render(body, "json")) == body


@pytest.mark.parametrize("url", [
    "ftp://example.com/x", "file:///etc/passwd", "javascript:alert(1)", "http://", "http://user:pw@example.com/",
    "http://127.0.0.1:8080/", "http://10.1.2.3/", "http://[::1]/", "http://169.254.169.254/latest/meta-data",
    "http://192.168.0.10/", "http://0.0.0.0/", "http://inside.test/",
])
def test_urls_that_could_reach_inside_the_network_are_refused(url):
    fake_dns = {"example.com": ["93.184.216.34"], "inside.test": ["93.184.216.34", "10.0.0.5"]}

    def resolver(host):
        return fake_dns.get(host) or [host.strip("[]")]

    with pytest.raises(InvalidInput):
        webhooks.check_url(url, allow_private=False, resolver=resolver)


def test_a_public_address_is_allowed_and_private_ones_only_when_configured():
    assert webhooks.check_url("https://hooks.example.com/x", allow_private=False,
                              resolver=lambda h: ["93.184.216.34"]) == "https://hooks.example.com/x"
    assert webhooks.check_url("http://127.0.0.1:9/x", allow_private=True) == "http://127.0.0.1:9/x"


def test_the_deliverer_refuses_a_private_address_when_not_allowed(session, runtime, world, receiver):
    sub = webhooks.create(session, runtime.secrets, by=world["admin"], allow_private=True, now=utcnow(),
                          name="x", url=receiver.url, events=["thread.assigned"], fmt="json", mailbox_id=None)
    webhooks.ping(session, sub, by=world["admin"], now=utcnow())
    session.flush()
    assert deliver(runtime, utcnow()) == {"failed": 1}  # the app's default: private addresses refused
    assert receiver.requests == []
