"""Schemathesis against the API's own OpenAPI document, on a seeded database with a token:
no request it generates gets a server error, and every response fits the documented schema
(status code, content type and body, problem details included)."""

from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)

from inbox import create_app
from inbox.db import utcnow
from inbox.models import Attachment, Category, Role
from inbox.services import api_tokens
from tests.conftest import base_config
from tests.factories import make_mailbox, make_user
from tests.services.test_replies import customer_thread

EXAMPLES = 12


@pytest.fixture
def seeded_app(connection, db_url, tmp_path, session):
    config = base_config(tmp_path, db_url)
    config.update({"bind": connection, "testing": True, "api": {"rate_per_minute": 100_000}})
    app = create_app(config)
    blobs = app.extensions["inbox"].blobs
    box = make_mailbox(session, address="support@example.test")
    other = make_mailbox(session)
    for n in range(3):
        _thread, msg = customer_thread(session, box, f"配送について {n}")
        session.add(Attachment(message_id=msg.id, filename="a.pdf", content_type="application/pdf",
                               size=3, sha256=blobs.put(b"pdf")))
    customer_thread(session, other, "他の窓口")
    session.add_all([Category(mailbox_id=box.id, name="配送"), Category(mailbox_id=None, name="その他")])
    lead = make_user(session, Role.LEAD, mailboxes=[box])
    make_user(session, mailboxes=[box])
    app.config["API_TOKEN"] = api_tokens.create_personal(session, lead, "st", "write", now=utcnow()).secret
    session.flush()
    return app


def test_generated_requests_get_no_server_error_and_documented_responses(seeded_app):
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", seeded_app)
    headers = {"Authorization": f"Bearer {seeded_app.config['API_TOKEN']}"}
    checks = [not_a_server_error, status_code_conformance, content_type_conformance,
              response_schema_conformance]
    tried = []
    for result in schema.get_all_operations():
        operation = result.ok()
        tried.append(operation.label)

        @given(case=operation.as_strategy())
        @settings(max_examples=EXAMPLES, deadline=None, database=None,
                  suppress_health_check=list(HealthCheck))
        def run(case):
            case.call_and_validate(headers=headers, checks=checks)

        run()
    assert len(tried) >= 15
    assert {"GET /api/v1/reports", "GET /api/v1/mailboxes/{mailbox_id}/categories"} <= set(tried)
