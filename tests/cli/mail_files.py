"""Writes test mail files: mbox files, Maildirs and .eml folders of numbered messages."""

from __future__ import annotations

from email.message import EmailMessage
from pathlib import Path


def message(i: int, *, subject: str | None = None) -> bytes:
    msg = EmailMessage()
    msg["From"] = f"顧客{i} <customer{i % 7}@example.jp>"
    msg["To"] = "support@example.test"
    msg["Subject"] = subject or f"注文番号{i}について"
    msg["Date"] = "Wed, 10 Jan 2024 10:00:00 +0900"
    msg["Message-ID"] = f"<import-{i}@example.jp>"
    msg.set_content(f"お世話になっております。\n注文{i}の配送状況を教えてください。\n" + "本文。" * 200)
    return bytes(msg)


def write_mbox(path: Path, raws: list[bytes]) -> Path:
    with path.open("wb") as fh:
        for raw in raws:
            fh.write(b"From customer@example.jp Wed Jan 10 10:00:00 2024\n")
            fh.write(raw.replace(b"\r\n", b"\n").rstrip(b"\n") + b"\n\n")
    return path


def write_maildir(path: Path, raws: list[bytes]) -> Path:
    for sub in ("cur", "new", "tmp"):
        (path / sub).mkdir(parents=True, exist_ok=True)
    for i, raw in enumerate(raws):
        sub = "cur" if i % 2 else "new"
        name = f"{1700000000 + i}.M{i}P1.host" + (":2,S" if sub == "cur" else "")
        (path / sub / name).write_bytes(raw)
    return path


def message_ids(n: int, start: int = 0) -> set[str]:
    return {f"import-{i}@example.jp" for i in range(start, start + n)}
