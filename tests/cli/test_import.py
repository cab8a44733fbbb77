"""`inbox import`: mbox, Maildir and .eml folders through the ingest path; idempotent, resumable, dry run."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy import func, select

from inbox.models import MailboxKind, Message, Thread
from inbox.services.mailboxes import create_mailbox
from tests.cli.mail_files import message, message_ids, write_maildir, write_mbox

CORPUS = Path(__file__).resolve().parent.parent / "ingest" / "corpus"
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def support(inbox) -> int:
    with inbox.runtime.Session() as s:
        box = create_mailbox(
            s, inbox.runtime.secrets, name="support", kind=MailboxKind.LOCAL,
            address="support@example.test", settings={"path": "/dev/null"},
        )
        s.commit()
        return box.id


def stored_ids(inbox) -> list[str]:
    with inbox.runtime.Session() as s:
        return list(s.scalars(select(Message.message_id).order_by(Message.message_id)))


def blob_files(inbox) -> list[Path]:
    return [p for p in inbox.blob_dir.rglob("*") if p.is_file()] if inbox.blob_dir.exists() else []


def test_importing_the_same_mbox_twice_adds_nothing_the_second_time(inbox, support, tmp_path):
    mbox = write_mbox(tmp_path / "history.mbox", [message(i) for i in range(12)])
    first = inbox("import", "--mailbox", "support", str(mbox))
    assert first.exit_code == 0, first.output
    assert first.stdout.startswith("Imported 12, duplicates skipped 0, stored with warnings 0 (")
    second = inbox("import", "--mailbox", "support", str(mbox))
    assert second.exit_code == 0, second.output
    assert second.stdout.startswith("Imported 0, duplicates skipped 12, stored with warnings 0 (")
    assert stored_ids(inbox) == sorted(message_ids(12))
    with inbox.runtime.Session() as s:
        # threads by customer and subject: 12 different subjects, so 12 tickets, each with a deadline
        threads = list(s.scalars(select(Thread)))
        assert len(threads) == 12 and all(t.message_count == 1 for t in threads)


def test_import_threads_replies_into_the_original_ticket(inbox, support, tmp_path):
    first = message(1)
    reply = message(2, subject="Re: 注文番号1について").replace(
        b"Message-ID: <import-2@example.jp>",
        b"Message-ID: <import-2@example.jp>\nIn-Reply-To: <import-1@example.jp>",
    )
    mbox = write_mbox(tmp_path / "thread.mbox", [first, reply])
    assert inbox("import", "--mailbox", "support", str(mbox)).exit_code == 0
    with inbox.runtime.Session() as s:
        assert s.scalar(select(func.count()).select_from(Thread)) == 1
        assert s.scalar(select(Thread.message_count)) == 2


def test_a_folder_of_eml_files_imports_every_message_and_counts_warnings(inbox, support):
    result = inbox("import", "--mailbox", "support", str(CORPUS))
    assert result.exit_code == 0, result.output
    # 52 corpus files; 29 of them are read with a repair warning (raw 8-bit, mislabelled, ...)
    assert result.stdout.startswith("Imported 52, duplicates skipped 0, stored with warnings 29 (")
    with inbox.runtime.Session() as s:
        subjects = set(s.scalars(select(Message.subject)))
    assert {"①②の件 ㈱髙橋商事", "シフトJISの件名①", "EUCの件名", "HTMLのみ"} <= subjects


def test_a_maildir_imports_new_and_cur_messages(inbox, support, tmp_path):
    maildir = write_maildir(tmp_path / "Maildir", [message(i) for i in range(5)])
    result = inbox("import", "--mailbox", "support", str(maildir))
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("Imported 5, duplicates skipped 0")
    assert stored_ids(inbox) == sorted(message_ids(5))


def test_the_same_message_in_two_formats_is_stored_once(inbox, support, tmp_path):
    """A Maildir file and an mbox entry differ in bytes (CRLF vs LF) but share the Message-ID."""
    raws = [message(i) for i in range(3)]
    maildir = write_maildir(tmp_path / "Maildir", raws)
    mbox = write_mbox(tmp_path / "same.mbox", raws)
    result = inbox("import", "--mailbox", "support", str(maildir), str(mbox))
    assert result.stdout.startswith("Imported 3, duplicates skipped 3")


def test_dry_run_counts_like_the_real_import_and_writes_nothing(inbox, support, tmp_path):
    mbox = write_mbox(tmp_path / "history.mbox", [message(i) for i in range(6)] + [message(0)])
    dry = inbox("import", "--mailbox", "support", "--dry-run", str(mbox), str(CORPUS))
    assert dry.exit_code == 0, dry.output
    assert dry.stdout == (
        "Dry run, nothing written: would import 58, duplicates skipped 1, with warnings 29.\n"
    )
    assert stored_ids(inbox) == []
    assert blob_files(inbox) == []
    real = inbox("import", "--mailbox", "support", str(mbox), str(CORPUS))
    assert real.stdout.startswith("Imported 58, duplicates skipped 1, stored with warnings 29 (")
    again = inbox("import", "--mailbox", "support", "--dry-run", str(mbox))
    assert again.stdout.startswith("Dry run, nothing written: would import 0, duplicates skipped 7,")


def test_unknown_mailbox_and_unreadable_path_say_so_in_one_line(inbox, support, tmp_path):
    result = inbox("import", "--mailbox", "nope", str(CORPUS))
    assert result.exit_code == 1
    assert result.stderr == "inbox: There is no mailbox nope.\n"
    odd = tmp_path / "notes.txt"
    odd.write_text("hello")
    result = inbox("import", "--mailbox", "support", str(odd))
    assert result.exit_code == 1
    assert "neither an mbox file" in result.stderr and result.stderr.count("\n") == 1


def _count(engine: sa.Engine) -> int:
    with engine.connect() as conn:
        return conn.scalar(sa.text("SELECT count(*) FROM messages"))


@pytest.mark.slow
def test_an_import_killed_mid_way_resumes_without_losing_or_doubling_mail(inbox, support, tmp_path):
    mbox = write_mbox(tmp_path / "big.mbox", [message(i) for i in range(300)])
    env = {k: v for k, v in inbox.env.items() if v is not None}
    env.update(PATH=os.environ["PATH"], PYTHONPATH=str(ROOT), HOME=str(tmp_path))
    cmd = [sys.executable, "-m", "inbox.cli", "import", "--mailbox", "support", "--batch-size", "5", str(mbox)]
    watcher = sa.create_engine(env["INBOX_DATABASE_URL"])  # plain engine: reads take no write lock
    proc = subprocess.Popen(cmd, cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 60
        while _count(watcher) < 30 and time.monotonic() < deadline and proc.poll() is None:
            time.sleep(0.005)
        proc.send_signal(signal.SIGKILL)
        proc.communicate(timeout=30)
        assert proc.returncode == -signal.SIGKILL
        at_kill = _count(watcher)
        assert 30 <= at_kill < 300, at_kill
        assert at_kill % 5 == 0  # whole batches only: the cut batch was rolled back
    finally:
        watcher.dispose()
        if proc.poll() is None:
            proc.kill()
    rerun = subprocess.run([*cmd, "--quiet"], cwd=tmp_path, env=env, capture_output=True, text=True)
    assert rerun.returncode == 0, rerun.stderr
    assert rerun.stdout.startswith(f"Imported {300 - at_kill}, duplicates skipped {at_kill},")
    ids = stored_ids(inbox)
    assert len(ids) == 300 and set(ids) == message_ids(300)


def test_streaming_mbox_reader_splits_exactly_like_the_standard_library(tmp_path):
    import mailbox

    from inbox.sources.local import count_mbox, iter_mbox

    raws = [message(i) for i in range(5)] + [b"Subject: no blank line before next\n\nbody"]
    path = write_mbox(tmp_path / "x.mbox", raws)
    with path.open("ab") as fh:  # a message not followed by a blank line, then a final one
        fh.write(b"From a@b Wed Jan 10 10:00:00 2024\nSubject: tight\n\nno blank after\n")
        fh.write(b"From a@b Wed Jan 10 10:00:00 2024\nSubject: last\n\nend")
    box = mailbox.mbox(path, create=False)
    expected = [box.get_bytes(k) for k in box.iterkeys()]
    box.close()
    assert list(iter_mbox(path)) == expected
    assert count_mbox(path) == len(expected) == 8
    assert count_mbox(path, chunk_size=7) == 8  # "From " lines cut across chunk edges
