"""Benchmark: inbox.ingest.parse_message against a bare stdlib parse of the same messages,
and the cold start of the `inbox parse` command.

Run: .venv/bin/python bench/parse.py [--count 2000] [--repeat 3]
     .venv/bin/python bench/parse.py --cold-start 20 [--tree PATH]
     .venv/bin/python bench/parse.py --cpu 40

--cpu N prints the CPU time of parse_message alone per message kind (best of 5 rounds of N
parses), steadier than wall time on a busy machine; compare trees with PYTHONPATH=PATH.

--cold-start N runs `python -m inbox.cli parse FILE` N times in fresh processes and prints the
wall and CPU time (min/median/max), then one process over N files; --tree measures another
checkout of the project (for a before/after comparison) by putting it first on PYTHONPATH.
"""

from __future__ import annotations

import argparse
import base64
import email
import email.policy
import os
import quopri
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from inbox.ingest.parse import parse_message

JA = "お世話になっております。注文番号12345の配送状況を教えてください。よろしくお願いします。\n"
PDF = b"%PDF-1.4\n" + bytes(range(256)) * 200  # ~50 KB


def _head(subject: str, ctype: str, i: int, extra: str = "") -> str:
    return (
        "From: =?UTF-8?B?5bGx55Sw5aSq6YOO?= <taro@example.jp>\r\n"
        "To: support@example.com\r\n"
        f"Subject: {subject}\r\n"
        "Date: Wed, 10 Jan 2024 10:00:00 +0900\r\n"
        f"Message-ID: <bench-{i}@example.jp>\r\n"
        "MIME-Version: 1.0\r\n"
        f"Content-Type: {ctype}\r\n{extra}\r\n"
    )


def plain_qp(i: int) -> bytes:
    body = quopri.encodestring((JA * 8).encode()).replace(b"\n", b"\r\n")
    return (
        _head(
            "=?UTF-8?B?6YWN6YCB44Gr44Gk44GE44Gm?=",
            "text/plain; charset=utf-8",
            i,
            "Content-Transfer-Encoding: quoted-printable\r\n",
        ).encode()
        + body
    )


def iso2022jp(i: int) -> bytes:
    body = (JA * 8).encode("iso2022_jp").replace(b"\n", b"\r\n")
    subj = (
        "=?ISO-2022-JP?B?" + base64.b64encode("配送について".encode("iso2022_jp")).decode() + "?="
    )
    return (
        _head(
            subj, "text/plain; charset=ISO-2022-JP", i, "Content-Transfer-Encoding: 7bit\r\n"
        ).encode()
        + body
    )


def text_html(i: int) -> bytes:
    text = (JA * 8).encode()
    html = (
        "<html><body>"
        + "".join(f"<p>{line}</p>" for line in (JA * 8).splitlines())
        + "</body></html>"
    ).encode()
    parts = (
        (
            b"--alt\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: base64\r\n\r\n"
        )
        + base64.encodebytes(text).replace(b"\n", b"\r\n")
        + (
            b"--alt\r\nContent-Type: text/html; charset=utf-8\r\nContent-Transfer-Encoding: base64\r\n\r\n"
        )
        + base64.encodebytes(html).replace(b"\n", b"\r\n")
        + b"--alt--\r\n"
    )
    return _head("Re: HTML", 'multipart/alternative; boundary="alt"', i).encode() + parts


def with_pdf(i: int) -> bytes:
    inner = text_html(i).split(b"\r\n\r\n", 1)[1]
    body = (
        b'--mix\r\nContent-Type: multipart/alternative; boundary="alt"\r\n\r\n'
        + inner
        + b"--mix\r\nContent-Type: application/pdf\r\nContent-Transfer-Encoding: base64\r\n"
        + b'Content-Disposition: attachment; filename="spec.pdf"\r\n\r\n'
        + base64.encodebytes(PDF).replace(b"\n", b"\r\n")
        + b"--mix--\r\n"
    )
    return _head("PDF", 'multipart/mixed; boundary="mix"', i).encode() + body


KINDS: dict[str, Callable[[int], bytes]] = {
    "plain utf-8 qp": plain_qp,
    "iso-2022-jp": iso2022jp,
    "text+html": text_html,
    "text+html+50KB pdf": with_pdf,
}


def baseline(raw: bytes) -> None:
    msg = email.message_from_bytes(raw, policy=email.policy.default)
    body = msg.get_body(("plain", "html"))
    if body is not None:
        body.get_content()
    for att in msg.iter_attachments():
        att.get_content()


def ours(raw: bytes) -> None:
    parse_message(raw)


def timeit(fn: Callable[[bytes], None], msgs: list[bytes], repeat: int) -> float:
    best = float("inf")
    for _ in range(repeat):
        t0 = time.perf_counter()
        for raw in msgs:
            fn(raw)
        best = min(best, time.perf_counter() - t0)
    return best * 1000 / len(msgs)


def _run(cmd: list[str], env: dict[str, str], cwd: str) -> tuple[float, float]:
    """Wall and CPU (user + system) seconds of one child process."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, env=env, cwd=cwd, capture_output=True, check=False)
    wall = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(cmd[:4])} failed: {proc.stderr.decode(errors='replace')}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu


def _spread(values: list[float]) -> str:
    ms = [v * 1000 for v in values]
    return f"{min(ms):7.0f} {statistics.median(ms):7.0f} {max(ms):7.0f}"


def cold_start(n: int, tree: str | None) -> None:
    env = dict(os.environ)
    if tree:
        env["PYTHONPATH"] = str(Path(tree).resolve())
    env.pop("INBOX_CONFIG", None)
    with tempfile.TemporaryDirectory() as tmp:
        files = []
        for i in range(n):
            path = Path(tmp) / f"m{i}.eml"
            path.write_bytes(iso2022jp(i))
            files.append(str(path))
        cmd = [sys.executable, "-m", "inbox.cli", "parse"]
        where = subprocess.run(
            [sys.executable, "-c", "import inbox; print(inbox.__file__)"],
            env=env, capture_output=True, text=True, cwd=tmp, check=True,
        ).stdout.strip()
        print(f"inbox from: {where}")
        _run([*cmd, files[0]], env, tmp)  # warm the file cache and .pyc files
        runs = [_run([*cmd, f], env, tmp) for f in files]
        print(f"{'':<34}{'min':>7} {'median':>7} {'max':>7}  (ms)")
        print(f"{f'inbox parse FILE, {n} runs, wall':<34}{_spread([w for w, _ in runs])}")
        print(f"{f'inbox parse FILE, {n} runs, CPU':<34}{_spread([c for _, c in runs])}")
        imp = [_run([sys.executable, "-c", "import inbox.cli"], env, tmp) for _ in range(n)]
        print(f"{f'import inbox.cli, {n} runs, CPU':<34}{_spread([c for _, c in imp])}")
        try:
            wall, cpu = _run([*cmd, *files], env, tmp)
            print(f"inbox parse with {n} files in one run: wall {wall * 1000:.0f} ms, "
                  f"CPU {cpu * 1000:.0f} ms")
        except SystemExit as exc:
            print(f"inbox parse with {n} files in one run: not supported ({str(exc)[:80]})")


def cpu(n: int) -> None:
    import inbox

    print(f"inbox from: {inbox.__file__}")
    for name, make in KINDS.items():
        raw = make(1)
        best = float("inf")
        for _ in range(5):
            t0 = time.process_time()
            for _ in range(n):
                parse_message(raw)
            best = min(best, (time.process_time() - t0) / n)
        print(f"{name:<22}{best * 1000:>8.3f} ms CPU per message")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--count", type=int, default=2000)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--cold-start", type=int, metavar="N", help="time N cold starts instead")
    ap.add_argument("--tree", help="with --cold-start: the checkout to measure")
    ap.add_argument("--cpu", type=int, metavar="N", help="CPU time of N parses per kind instead")
    args = ap.parse_args()
    if args.cpu:
        cpu(args.cpu)
        return
    if args.cold_start:
        cold_start(args.cold_start, args.tree)
        return
    per = args.count // len(KINDS)
    groups = {name: [make(i) for i in range(per)] for name, make in KINDS.items()}
    mixed = [m for ms in groups.values() for m in ms]
    print(f"{'messages':<22}{'n':>6}{'stdlib ms/msg':>16}{'parse ms/msg':>15}{'ratio':>8}")
    for name, msgs in [*groups.items(), ("mixed (all)", mixed)]:
        base = timeit(baseline, msgs, args.repeat)
        mine = timeit(ours, msgs, args.repeat)
        print(f"{name:<22}{len(msgs):>6}{base:>16.3f}{mine:>15.3f}{mine / base:>8.2f}")
    print("ratio = parse_message time / stdlib time (the target is <= 2.0)")


if __name__ == "__main__":
    main()
