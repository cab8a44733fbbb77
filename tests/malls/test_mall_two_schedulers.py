"""Two scheduler processes polling one mall channel on PostgreSQL: one at a time, nothing stored twice."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from inbox.config import load_settings
from inbox.db import utcnow
from inbox.models import Message, Thread
from inbox.runtime import build_runtime
from tests.conftest import ENCRYPTION_KEY, base_config
from tests.malls import add_channel
from tests.support.mall_stubs import RakutenStub

ROOT = Path(__file__).resolve().parent.parent.parent


def test_two_scheduler_processes_never_poll_one_channel_at_once(backend, fresh_databases, tmp_path):
    if backend != "postgresql":
        pytest.skip("the two-process test is about PostgreSQL row locking")
    url = fresh_databases.migrated_url()
    runtime = build_runtime(load_settings(base_config(tmp_path, url), environ={}))
    with RakutenStub() as stub:
        for i in range(30):
            stub.add_inquiry(f"999999-20240101-{i:04d}", f"質問 {i}", utcnow() - timedelta(hours=i + 1))
        box = add_channel(runtime, "rakuten", stub, page_limit=3)  # ten pages: a poll takes a while
        env = {**os.environ, "MALL_DB": url, "MALL_KEY": ENCRYPTION_KEY, "MALL_BLOBS": str(tmp_path), "MALL_BOX": str(box), "MALL_POLLS": "6"}
        procs = [subprocess.Popen([sys.executable, "-c", "from tests.malls import drive; drive()"],
                                  cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
                 for _ in range(2)]
        outputs = [p.communicate(timeout=120) for p in procs]
    assert [p.returncode for p in procs] == [0, 0], [e.decode()[-2000:] for _, e in outputs]
    polls = [[json.loads(line) for line in out.decode().splitlines()] for out, _ in outputs]
    claimed = [[p for p in runs if p["claimed"]] for runs in polls]
    assert [p["error"] for runs in polls for p in runs if p["error"]] == []
    assert sum(p["imported"] for runs in claimed for p in runs) == 30
    for a in claimed[0]:
        for b in claimed[1]:
            assert a["end"] <= b["start"] or b["end"] <= a["start"], "both processes polled at once"
    with runtime.Session() as s:
        assert s.scalar(select(func.count()).select_from(Message)) == 30
        assert s.scalar(select(func.count()).select_from(Thread)) == 30
    runtime.engine.dispose()
