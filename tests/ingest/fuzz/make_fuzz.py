"""Deterministic fuzz mail: mutants of the real mail in tests/ingest/corpus, interleaved with valid mail.

``fuzz_set(seed)`` gives the same list of (name, bytes, valid) every time for one seed;
the poll test generates it at test time. ``python -m tests.ingest.fuzz.make_fuzz DIR``
writes it as files (NNNN-name.eml) to look at or to feed ``inbox import``.

Kinds of mutant (each mutant gets a Message-ID of its own first, so that every one of
them must be stored as a message of its own):
truncated at a random byte, random bytes flipped, MIME boundaries broken, NUL and 8-bit
bytes in every header, absurd dates, absurd ticket tokens, huge headers, 100,000 header
lines, a 0-byte message, multipart nested 1,000 deep.
"""

from __future__ import annotations

import random
import re
import sys
from pathlib import Path

CORPUS = Path(__file__).resolve().parents[1] / "corpus"
SEED = 20261130

ABSURD_DATES = [
    b"Fri, 31 Dec 9999 23:59:59 -1200",
    b"Mon, 01 Jan 0001 00:00:00 +1400",
    b"Sat, 01 Jan 0000 00:00:00 +0000",
    b"Thu, 31 Feb 2026 25:61:61 +0900",
    b"Mon, 99 Jan 99999999999999999999 99:99:99 +9999",
    b"-1",
    b"",
    b"\xff\xfe\x00",
    b"Tue, 1 Jan 1970 00:00:00 -9999",
    b"Wed, 01 Jan 10000 00:00:00 +0000",
    b"yesterday at noon",
    b"Sun, 29 Feb 2100 12:00:00 +0900",
]
ABSURD_TOKENS = [
    b"[#99999999999999999999] hello",
    b"[#0] zero",
    b"[#-1] minus",
    b"[#9223372036854775808] just over bigint",
    b"[#9223372036854775807] bigint max",
    b"[#" + b"9" * 1000 + b"] long",
    "［＃１２３４５６７８９０１２３４５６７８９０１２］ full width".encode(),
    b"[#00000000000000000000000000000001] zeros",
]


def _header_end(raw: bytes) -> int:
    m = re.search(rb"\r?\n\r?\n", raw)
    return m.start() if m else len(raw)


def with_message_id(raw: bytes, mid: bytes) -> bytes:
    """``raw`` with its Message-ID header replaced by (or given) ``mid``."""
    end = _header_end(raw)
    head, rest = raw[:end], raw[end:]
    head, n = re.subn(rb"(?im)^message-id:[^\r\n]*(\r?\n[ \t][^\r\n]*)*", b"Message-ID: " + mid, head)
    if not n:
        head = b"Message-ID: " + mid + b"\r\n" + head
    return head + rest


def set_header(raw: bytes, name: bytes, value: bytes) -> bytes:
    end = _header_end(raw)
    head, rest = raw[:end], raw[end:]
    pattern = rb"(?im)^" + re.escape(name) + rb":[^\r\n]*(\r?\n[ \t][^\r\n]*)*"
    head, n = re.subn(pattern, lambda _m: name + b": " + value, head)
    if not n:
        head = name + b": " + value + b"\r\n" + head
    return head + rest


def valid_mail(i: int) -> bytes:
    return (
        f"From: 顧客 {i} <customer{i % 7}@example.jp>\r\nTo: support@example.test\r\n"
        f"Subject: =?UTF-8?B?5Zyo5bqr44Gu56K66KqN?= {i}\r\nMessage-ID: <valid-{i}@fuzz.example.jp>\r\n"
        "Date: Mon, 23 Nov 2026 10:00:00 +0900\r\nMIME-Version: 1.0\r\n"
        "Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n"
        f"在庫はありますか。配送 {i}\r\n"
    ).encode()


def _truncate(rng: random.Random, raw: bytes) -> bytes:
    return raw[: rng.randrange(1, max(2, len(raw)))]


def _flip(rng: random.Random, raw: bytes) -> bytes:
    data = bytearray(raw)
    for _ in range(max(1, len(data) // 100)):
        data[rng.randrange(len(data))] = rng.randrange(256)
    return bytes(data)


def _break_boundaries(rng: random.Random, raw: bytes) -> bytes:
    m = re.search(rb'boundary="?([^";\r\n]+)"?', raw, re.I)
    if not m:
        return raw + b"\r\n--unopened-boundary\r\nContent-Type: text/plain\r\n\r\nhalf"
    boundary = m.group(1)
    choice = rng.randrange(3)
    if choice == 0:  # the parts name a different boundary than the header
        return raw.replace(b"--" + boundary, b"--X" + boundary[::-1])
    if choice == 1:  # no closing boundary, part cut in the middle
        closing = raw.rfind(b"--" + boundary + b"--")
        return raw[: closing if closing > 0 else len(raw)][: -7 or None]
    return raw.replace(boundary, b"", 1)  # an empty boundary in the header


def _poison_headers(rng: random.Random, raw: bytes) -> bytes:
    end = _header_end(raw)
    lines = raw[:end].split(b"\n")
    junk = [b"\x00", b"\xff\xfe", b"\x93\xfa\x96{", b"\x1b$B", b"\xe9\x80", b"\x00\x00\xc0"]
    out = [
        line.rstrip(b"\r") + rng.choice(junk) + (b"\r" if line.endswith(b"\r") else b"")
        if b":" in line else line
        for line in lines
    ]
    return b"\n".join(out) + raw[end:]


def _nested(depth: int) -> bytes:
    head = b"From: deep@example.jp\r\nTo: support@example.test\r\nSubject: nested\r\nMIME-Version: 1.0\r\n"
    parts, tail = [], []
    for d in range(depth):
        parts.append(b'Content-Type: multipart/mixed; boundary="b%d"\r\n\r\n--b%d\r\n' % (d, d))
        tail.append(b"\r\n--b%d--\r\n" % d)
    return head + b"".join(parts) + b"Content-Type: text/plain\r\n\r\nthe bottom" + b"".join(reversed(tail))


def fuzz_set(seed: int = SEED) -> list[tuple[str, bytes, bool]]:
    """(name, raw bytes, is valid mail) in delivery order: mutants with valid mail between them."""
    rng = random.Random(seed)
    real = sorted((p.stem, p.read_bytes()) for p in CORPUS.glob("*.eml"))
    shapes = [
        ("truncated", _truncate), ("truncated-again", _truncate), ("flipped", _flip),
        ("flipped-again", _flip), ("boundaries", _break_boundaries), ("nul-8bit-headers", _poison_headers),
    ]  # fmt: skip
    mutants: list[tuple[str, bytes]] = []
    reshape: dict[int, tuple] = {}  # mutant index -> (function, source mail): applied after the id
    for name, raw in real:
        for shape, fn in shapes:
            reshape[len(mutants)] = (fn, raw)
            mutants.append((f"{shape}-{name}", raw))
    base = dict(real)
    some = [raw for _name, raw in real]
    for i, date in enumerate(ABSURD_DATES):
        mutants.append((f"date-{i}", set_header(rng.choice(some), b"Date", date)))
    for i, token in enumerate(ABSURD_TOKENS):
        mutants.append((f"ticket-{i}", set_header(rng.choice(some), b"Subject", token)))
    plain = base.get("iso2022jp_plain", some[0])
    mutants += [
        ("huge-subject", set_header(plain, b"Subject", b"A" * 1_000_000)),
        ("huge-8bit-header", set_header(plain, b"X-Junk", bytes(rng.randrange(128, 256) for _ in range(300_000)))),
        ("huge-references", set_header(plain, b"References", b" ".join(b"<r%d@x>" % i for i in range(50_000)))),
        ("huge-in-reply-to", set_header(plain, b"In-Reply-To", b"<" + b"x" * 5000 + b"@x>")),
        ("many-recipients", set_header(plain, b"To", b", ".join(b"u%d@example.jp" % i for i in range(20_000)))),
        ("100000-header-lines", b"".join(b"X-Line-%d: v\r\n" % i for i in range(100_000)) + plain),
        ("zero-bytes", b""),
        ("only-newlines", b"\r\n\r\n\r\n"),
        ("nested-1000", _nested(1000)),
        ("nul-body", plain + b"\x00" * 1000),
    ]
    out: list[tuple[str, bytes, bool]] = []
    for i, (name, raw) in enumerate(mutants):
        mid = b"<fuzz-%d@fuzz.example.jp>" % i
        if i in reshape:  # the id first, then the damage (which may hit the id too)
            fn, source = reshape[i]
            raw = fn(rng, with_message_id(source, mid))
        elif raw and name not in ("zero-bytes", "only-newlines"):
            raw = with_message_id(raw, mid)
        out.append((name, raw, False))
        out.append((f"valid-{i}", valid_mail(i), True))
    return out


def main(argv: list[str]) -> None:
    target = Path(argv[1] if len(argv) > 1 else "fuzz-mail")
    target.mkdir(parents=True, exist_ok=True)
    for n, (name, raw, _valid) in enumerate(fuzz_set()):
        (target / f"{n:04d}-{name}.eml").write_bytes(raw)
    print(f"wrote {n + 1} files to {target}")


if __name__ == "__main__":
    main(sys.argv)
