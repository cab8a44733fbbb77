"""Benchmark: `inbox import` of a generated mbox into a fresh SQLite database, rate and peak memory by size.

Run: .venv/bin/python bench/import.py [--sizes 10000,100000] [--dir /tmp/bench-import]

For each size it writes an mbox of mixed mail (Japanese and English; plain UTF-8,
ISO-2022-JP, text+HTML; one in ten with a small PDF attachment; a third are replies to
earlier ones), migrates a fresh SQLite database, adds a local mailbox, and runs the real
command (`python -m inbox.cli import --quiet`) in its own process. It prints messages/s
and the child's peak RSS (``os.wait4`` rusage, so each size is measured alone), then
checks that memory stayed flat: the largest size may use at most 1.5x the smallest's peak.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from email.message import EmailMessage
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

PDF = b"%PDF-1.4\n" + bytes(range(256)) * 16 + b"\n%%EOF\n"  # 4 KB
JA_LINES = ["お世話になっております。", "注文した商品がまだ届きません。", "配送状況を教えてください。",
            "①サイズ交換 ②返品 のどちらが可能でしょうか。", "よろしくお願いいたします。"]  # fmt: skip
EN_LINES = ["Hello,", "my order has not arrived yet.", "Could you tell me where it is?",
            "Thank you for your help.", "Best regards"]  # fmt: skip


def message(i: int) -> bytes:
    msg = EmailMessage()
    japanese = i % 2 == 0
    customer = i % 997
    base = i - i % 3  # a third are replies within a conversation of three
    subject = f"注文{base}の配送について" if japanese else f"Order {base}: where is it?"
    if i % 3:
        subject = "Re: " + subject
        msg["In-Reply-To"] = f"<bench-{i - 1}@example.jp>"
        msg["References"] = f"<bench-{base}@example.jp>"
    msg["From"] = f"{'山田 太郎' if japanese else 'Pat Doe'} {customer} <c{customer}@example.jp>"
    msg["To"] = "support@example.test"
    msg["Subject"] = subject
    msg["Date"] = f"Wed, 10 Jan 2024 {10 + i % 8:02d}:{i % 60:02d}:00 +0900"
    msg["Message-ID"] = f"<bench-{i}@example.jp>"
    lines = JA_LINES if japanese else EN_LINES
    text = "\n".join(f"{line} ({i})" for line in lines) + "\n" * 2 + "本文。" * (20 + i % 50)
    charset = "iso-2022-jp" if japanese and i % 4 == 0 else "utf-8"
    if charset == "iso-2022-jp":
        text = "\n".join(line for line in lines if "①" not in line) + f"\n注文番号 {i}\n"
    msg.set_content(text, charset=charset)
    if i % 5 == 1:
        html = "".join(f"<p>{line}</p>" for line in lines)
        msg.add_alternative(f"<html><body>{html}<p>#{i}</p></body></html>", subtype="html")
    if i % 10 == 7:
        msg.add_attachment(PDF + str(i).encode(), maintype="application", subtype="pdf",
                           filename="見積書.pdf" if japanese else "quote.pdf")  # fmt: skip
    return bytes(msg)


def write_mbox(path: Path, count: int) -> int:
    with path.open("wb") as fh:
        for i in range(count):
            raw = message(i).replace(b"\r\n", b"\n").rstrip(b"\n")
            fh.write(b"From c@example.jp Wed Jan 10 10:00:00 2024\n" + raw + b"\n\n")
    return path.stat().st_size


def setup(work: Path) -> dict[str, str]:
    from inbox.config import load_settings
    from inbox.crypto import generate_key
    from inbox.models import MailboxKind
    from inbox.runtime import build_runtime
    from inbox.schema import upgrade
    from inbox.services.mailboxes import create_mailbox

    env = {
        "INBOX_SECRET_KEY": "bench-secret-key-0123456789",
        "INBOX_ENCRYPTION_KEY": generate_key(),
        "INBOX_DATABASE_URL": f"sqlite:///{work}/inbox.sqlite",
        "INBOX_BLOB_DIR": str(work / "blobs"),
    }
    runtime = build_runtime(load_settings({}, environ=env))
    upgrade(runtime.engine)
    with runtime.Session() as s:
        create_mailbox(s, runtime.secrets, name="bench", kind=MailboxKind.LOCAL,
                       address="support@example.test", settings={"path": str(work)})  # fmt: skip
        s.commit()
    runtime.engine.dispose()
    return env


def run_size(count: int, base: Path) -> dict[str, float]:
    work = base / f"n{count}"
    work.mkdir(parents=True, exist_ok=True)
    mbox = work / "history.mbox"
    size = write_mbox(mbox, count)
    env = {**os.environ, **setup(work), "PYTHONPATH": str(ROOT)}
    env.pop("INBOX_CONFIG", None)
    cmd = [sys.executable, "-m", "inbox.cli", "import", "--mailbox", "bench", "--quiet", str(mbox)]
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, cwd=work, env=env, stdout=subprocess.PIPE, text=True)
    _pid, status, usage = os.wait4(proc.pid, 0)
    elapsed = time.perf_counter() - start
    out = proc.stdout.read() if proc.stdout else ""
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        raise SystemExit(f"import of {count} failed ({proc.returncode}): {out}")
    print(f"  {out.strip()}")
    return {"count": count, "mbox_mb": size / 1e6, "seconds": elapsed,
            "rate": count / elapsed, "peak_mb": usage.ru_maxrss / 1024}  # fmt: skip


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="10000,100000")
    parser.add_argument("--dir", default=None, help="Work folder (default: a temp folder, removed)")
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    tmp = None if args.dir else tempfile.TemporaryDirectory(prefix="bench-import-")
    base = Path(args.dir or tmp.name)
    results = []
    try:
        for count in sizes:
            print(f"importing {count} messages ...", flush=True)
            r = run_size(count, base)
            results.append(r)
            print(f"  {r['count']:>7} messages, mbox {r['mbox_mb']:.0f} MB: {r['seconds']:.1f} s, "
                  f"{r['rate']:.0f} messages/s, peak RSS {r['peak_mb']:.0f} MB", flush=True)  # fmt: skip
    finally:
        if tmp is not None:
            tmp.cleanup()
    ratio = results[-1]["peak_mb"] / results[0]["peak_mb"]
    flat = ratio <= 1.5
    print(f"peak memory {results[-1]['count']} vs {results[0]['count']}: {ratio:.2f}x "
          f"({'flat' if flat else 'NOT flat'}: limit 1.5x)")  # fmt: skip
    return 0 if flat else 1


if __name__ == "__main__":
    sys.exit(main())
