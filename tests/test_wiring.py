"""The app is wired in one place: web app, scheduler and every CLI command see the same registries.

Each edge starts in a fresh interpreter (so no import made by the test runner helps it) and
prints ``inbox.wiring.describe()`` after building itself; all must agree with each other and
with the complete list below. No module may fill a registry as a side effect of being imported.
"""

from __future__ import annotations

import ast
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import ENCRYPTION_KEY

ROOT = Path(__file__).resolve().parent.parent
PRINT = "import json, inbox.wiring as w; print('WIRED=' + json.dumps(w.describe()))"
EDGES = {  # in this order: the first one makes the schema the others need
    "cli db upgrade": "from click.testing import CliRunner; from inbox.cli import cli; "
    "r = CliRunner().invoke(cli, ['db', 'upgrade']); assert r.exit_code == 0, r.output",
    "cli mailbox list": "from click.testing import CliRunner; from inbox.cli import cli; "
    "r = CliRunner().invoke(cli, ['mailbox', 'list']); assert r.exit_code == 0, r.output",
    "web app": "from inbox import create_app; create_app({'scheduler': {'enabled': False}})",
    "scheduler": "from inbox.config import load_settings; from inbox.runtime import build_runtime; "
    "from inbox.scheduler import InboxScheduler; InboxScheduler(build_runtime(load_settings()))",
}
EXPECTED_KINDS = {
    "source_pollers": ["imap", "local", "rakuten", "yahoo"],
    "reply_channels": ["imap", "local", "rakuten", "yahoo"],
    "deliverers": [
        "alert", "auto_ack", "credential_alert", "csat_followup", "mall_complete", "mall_incomplete", "notification",
        "rakuten_reply", "reply",
        "webhook", "yahoo_reply", "yahoo_topic",
    ],
    "mall_connectors": ["rakuten", "yahoo"],
}


def wired_in_fresh_process(code: str, tmp_path: Path) -> dict:
    env = {
        **os.environ,
        "INBOX_SECRET_KEY": "wiring-secret-key-0123456789",
        "INBOX_ENCRYPTION_KEY": ENCRYPTION_KEY,
        "INBOX_DATABASE_URL": f"sqlite:///{tmp_path / 'wiring.sqlite'}",
        "INBOX_BLOB_DIR": str(tmp_path / "blobs"),
    }
    env.pop("INBOX_CONFIG", None)
    out = subprocess.run(
        [sys.executable, "-c", f"{code}\n{PRINT}"], cwd=tmp_path, env=env,
        capture_output=True, text=True, timeout=120,
    )
    assert out.returncode == 0, out.stderr[-3000:]
    [line] = [x for x in out.stdout.splitlines() if x.startswith("WIRED=")]
    return json.loads(line.removeprefix("WIRED="))


def test_web_app_scheduler_and_cli_see_the_same_complete_registries(tmp_path):
    seen = {edge: wired_in_fresh_process(code, tmp_path) for edge, code in EDGES.items()}
    first = seen["cli db upgrade"]
    for edge, wired in seen.items():
        assert wired == first, f"{edge} is wired differently"
    for registry, kinds in EXPECTED_KINDS.items():
        assert sorted(entry.split(":")[0] for entry in first[registry]) == kinds, registry
    assert first["status_hooks"] == [
        "inbox.services.mall_complete.on_status_changed", "inbox.services.kpi_facts.on_status_changed",
        "inbox.services.webhooks.on_status_changed",
    ]
    assert first["delivered_hooks"] == ["inbox.services.kpi_facts.on_reply_delivered"]
    assert first["assigned_hooks"] == ["inbox.services.webhooks.on_assigned"]
    assert first["stage_hooks"] == ["inbox.services.webhooks.on_stage_reached"]
    assert first["thread_actions"] == ["mall_complete", "mall_incomplete"]
    assert first["reply_footers"] == ["inbox.services.csat.reply_footer"]
    assert first["after_any_outcome"] == [
        "inbox.services.delivery.on_outcome", "inbox.services.notification_hooks.on_outcome",
        "inbox.services.webhooks.on_outcome",
    ]
    # Sorting rules run before the deadline, so what they set counts for the first deadline.
    assert first["after_store"] == [
        "inbox.services.rule_actions.on_stored_message",
        "inbox.services.deadlines.on_stored_message",
        "inbox.services.automatic.on_stored_message",
        "inbox.services.notification_hooks.on_stored_message",
        "inbox.services.kpi_facts.on_stored_message",
        "inbox.services.customer_orders.on_stored_message",
        "inbox.services.webhooks.on_stored_message",
        "inbox.services.auto_ack.on_stored_message",  # after the deadline is set
    ]
    assert first["after_record"] == ["inbox.services.notification_hooks.on_event"]
    assert first["notification_kinds"] == [
        "assigned", "mentioned", "customer_replied", "reply_failed", "followed_changed", "escalated",
        "approval_requested", "approval_approved", "approval_returned",
    ]
    assert first["on_reconciled"] == ["inbox.services.delivery.delivered"]
    assert first["on_mall_status"] == ["inbox.services.assignment.status_changed"]


def test_importing_every_module_wires_nothing(tmp_path):
    code = (
        "import importlib, pkgutil, inbox\n"
        "for m in pkgutil.walk_packages(inbox.__path__, 'inbox.'):\n"
        "    if m.name not in ('inbox.wsgi', 'inbox.cli.__main__') and 'make_samples' not in m.name:\n"
        "        importlib.import_module(m.name)\n"
        "import inbox.wiring as w\n"
        "d = w.describe()\n"
        "assert not any(d[k] for k in ('reply_channels', 'source_pollers', 'deliverers', 'status_hooks', 'after_any_outcome', 'reply_footers', 'delivered_hooks',"
        " 'thread_actions', 'mall_connectors', 'after_store', 'on_reconciled', 'on_mall_status', 'after_record',"
        " 'notification_kinds', 'assigned_hooks', 'stage_hooks')), d\n"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr[-3000:]


@pytest.mark.parametrize("path", sorted((ROOT / "inbox").rglob("*.py")), ids=lambda p: str(p.relative_to(ROOT)))
def test_no_module_imports_another_only_for_its_side_effects(path):
    """``import x  # noqa: F401`` at module level was how registries used to be filled."""
    source = path.read_text(encoding="utf-8")
    tree = ast.parse(source)
    lines = source.splitlines()
    offenders = [
        lines[node.lineno - 1].strip()
        for node in tree.body
        if isinstance(node, ast.Import | ast.ImportFrom) and "noqa: F401" in lines[node.lineno - 1]
    ]
    assert offenders == []
