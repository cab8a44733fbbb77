"""Write the demo sample mail (support/*.eml, sales/*.eml) deterministically, with CRLF line endings."""

from __future__ import annotations

import base64
import hashlib
import quopri
import struct
import textwrap
import zlib
from datetime import datetime, timedelta, timezone
from email.utils import format_datetime, formataddr
from pathlib import Path
from urllib.parse import quote as pct

HERE = Path(__file__).resolve().parent
CRLF = "\r\n"

JST = timezone(timedelta(hours=9))
PST = timezone(timedelta(hours=-8))
SGT = timezone(timedelta(hours=8))
CET = timezone(timedelta(hours=1))
AEDT = timezone(timedelta(hours=11))
IST = timezone(timedelta(hours=5, minutes=30))
GMT = timezone(timedelta(0))

CODECS = {"ISO-2022-JP": "iso-2022-jp", "UTF-8": "utf-8", "Shift_JIS": "cp932", "us-ascii": "ascii"}
WEEKDAYS_JA = "月火水木金土日"
WEEKDAYS_EN = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"]
MONTHS_EN = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
]


def at(
    month: int, day: int, hour: int, minute: int, second: int = 0, tz: timezone = JST
) -> datetime:
    return datetime(2026, month, day, hour, minute, second, tzinfo=tz)


def t(s: str) -> str:
    """Dedent a body written inside the code; full-width spaces are content and stay."""
    return textwrap.dedent(s).strip("\n")


# --- headers ---------------------------------------------------------------------------------


def _qword(data: bytes) -> str:
    safe = b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789!*+-/"
    return "".join("_" if b == 0x20 else chr(b) if b in safe else f"={b:02X}" for b in data)


def ew(
    text: str,
    charset: str = "UTF-8",
    enc: str = "B",
    keep_ascii_lead: bool = False,
    limit: int = 66,
) -> str:
    """RFC 2047 encoded words, split at character boundaries (each ISO-2022-JP word self-contained)."""
    if text.isascii():
        return text
    lead = ""
    if keep_ascii_lead:  # "Re: =?UTF-8?B?...?=" the way MIME libraries write it
        words = text.split(" ")
        i = 0
        while i < len(words) - 1 and words[i].isascii():
            i += 1
        lead, text = " ".join(words[:i]) + (" " if i else ""), " ".join(words[i:])
    codec = CODECS[charset]

    def word(s: str) -> str:
        data = s.encode(codec)
        payload = base64.b64encode(data).decode() if enc == "B" else _qword(data)
        return f"=?{charset}?{enc}?{payload}?="

    out, cur = [], ""
    for ch in text:
        if cur and len(word(cur + ch)) > limit:
            out.append(word(cur))
            cur = ch
        else:
            cur += ch
    out.append(word(cur))
    return lead + "\r\n ".join(out)


def addr(
    name: str, email: str, charset: str = "UTF-8", enc: str = "B", quoted: bool = False
) -> str:
    if not name:
        return email
    if name.isascii():
        return formataddr((name, email))
    word = ew(name, charset, enc, limit=75)
    assert "\r\n" not in word, f"display name {name!r} needs more than one encoded word"
    if quoted:
        word = f'"{word}"'
    sep = "\r\n " if len(word) + len(email) > 66 else " "  # keep "From: ..." lines near 78
    return f"{word}{sep}<{email}>"


def date(dt: datetime) -> str:
    return format_datetime(dt)


def refs(*ids: str) -> str:
    return "\r\n ".join(ids)


def received(helo: str, ip: str, dt: datetime, rcpt: str, msgid: str) -> tuple[str, str]:
    qid = hashlib.sha1(msgid.encode()).hexdigest()[:11].upper()
    when = format_datetime((dt + timedelta(seconds=3)).astimezone(JST)) + " (JST)"
    return (
        "Received",
        f"from {helo} ({helo} [{ip}])\r\n\tby mx.demo.example (Postfix) with ESMTPS id "
        f"4X{qid}\r\n\tfor <{rcpt}>; {when}",
    )


# --- bodies ----------------------------------------------------------------------------------

Part = tuple[list[tuple[str, str]], bytes]


def _b64(data: bytes) -> bytes:
    enc = base64.b64encode(data)
    return b"".join(enc[i : i + 76] + b"\r\n" for i in range(0, len(enc), 76))


def _crlf(data: bytes) -> bytes:
    return data.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")


def text_part(
    text: str, charset: str, cte: str, subtype: str = "plain", ct_extra: str = ""
) -> Part:
    text = text.strip("\n") + "\n"
    data = text.encode(CODECS[charset])
    if cte in ("7bit", "8bit"):
        body = _crlf(data)
    elif cte == "base64":
        body = _b64(_crlf(data))
    elif cte == "quoted-printable":
        body = _crlf(quopri.encodestring(data))
    else:
        raise ValueError(cte)
    headers = [
        ("Content-Type", f"text/{subtype}; charset={charset}{ct_extra}"),
        ("Content-Transfer-Encoding", cte),
    ]
    return headers, body


def auto_text(text: str) -> Part:
    """What a MIME library picks for the team's own replies: 7bit if ASCII, else UTF-8 base64/QP."""
    if text.isascii():
        return text_part(text, "us-ascii", "7bit")
    if sum(ord(c) > 127 for c in text) < 20:
        return text_part(text, "UTF-8", "quoted-printable")
    return text_part(text, "UTF-8", "base64")


def attachment(data: bytes, ctype: str, filename: str, rfc2231: bool = False) -> Part:
    if rfc2231:  # Thunderbird: B-encoded name= for old readers, RFC 2231 continuations in filename*
        pieces, cur = [], "UTF-8''"
        for ch in filename:  # never split a character's octets across two segments
            enc = pct(ch.encode("utf-8"), safe="")
            if len(cur) + len(enc) > 60:
                pieces.append(cur)
                cur = ""
            cur += enc
        pieces.append(cur)
        disp = "attachment;" + ";".join(f"\r\n filename*{n}*={p}" for n, p in enumerate(pieces))
        name = ew(filename, "UTF-8", limit=998)  # one word: folding inside quotes would add a space
        ct = f'{ctype};\r\n name="{name}"'
    else:
        disp = f'attachment;\r\n filename="{filename}"'
        ct = f'{ctype};\r\n name="{filename}"'
    return [
        ("Content-Type", ct),
        ("Content-Disposition", disp),
        ("Content-Transfer-Encoding", "base64"),
    ], _b64(data)


def render(headers: list[tuple[str, str]], body: bytes) -> bytes:
    head = "".join(f"{k}: {v}\r\n" for k, v in headers)
    return head.encode("ascii") + b"\r\n" + body


def multipart(
    subtype: str,
    boundary: str,
    parts: list[Part],
    params: str = "",
    preamble: str | None = "This is a multi-part message in MIME format.",
) -> Part:
    b = boundary.encode("ascii")
    body = (preamble.encode("ascii") + b"\r\n\r\n") if preamble else b""
    for ph, pb in parts:
        body += b"--" + b + b"\r\n" + render(ph, pb)
        if not pb.endswith(b"\r\n"):
            body += b"\r\n"
    body += b"--" + b + b"--\r\n"
    return [("Content-Type", f'multipart/{subtype};{params}\r\n boundary="{boundary}"')], body


def quote(text: str) -> str:
    lines = text.strip("\n").split("\n")
    return "\n".join(
        ">" if not ln else ">" + ln if ln.startswith(">") else "> " + ln for ln in lines
    )


def ja_attr(dt: datetime) -> str:
    d = dt.astimezone(JST)
    return f"{d.year}年{d.month}月{d.day}日({WEEKDAYS_JA[d.weekday()]}) {d:%H:%M}"


def ja_stamp(dt: datetime) -> str:
    d = dt.astimezone(JST)
    return f"{d.year}年{d.month}月{d.day}日 {d:%H:%M}"


def en_attr(dt: datetime, tz: timezone) -> str:
    d = dt.astimezone(tz)
    hour = d.hour % 12 or 12
    return (
        f"{WEEKDAYS_EN[d.weekday()][:3]}, {MONTHS_EN[d.month - 1][:3]} {d.day}, {d.year} at "
        f"{hour}:{d:%M} {'AM' if d.hour < 12 else 'PM'}"
    )


def en_sent(dt: datetime, tz: timezone) -> str:
    d = dt.astimezone(tz)
    hour = d.hour % 12 or 12
    return (
        f"{WEEKDAYS_EN[d.weekday()]}, {MONTHS_EN[d.month - 1]} {d.day}, {d.year} "
        f"{hour}:{d:%M} {'AM' if d.hour < 12 else 'PM'}"
    )


# --- attachments -----------------------------------------------------------------------------


def tiny_png() -> bytes:
    """A 48x36 RGB photo-ish picture of a white mug with a crack by the handle (stored deflate)."""
    w, h = 48, 36

    def pixel(x: int, y: int) -> tuple[int, int, int]:
        crack = {
            (33, 12),
            (32, 13),
            (32, 14),
            (31, 15),
            (32, 16),
            (31, 17),
            (30, 18),
            (31, 19),
            (30, 20),
        }
        if (x, y) in crack:
            return (60, 52, 48)
        if 10 <= x <= 31 and 8 <= y <= 31:
            shade = 245 - (x - 10)
            return (shade, shade, shade - 6)
        if 32 <= x <= 39 and 12 <= y <= 25 and not (32 <= x <= 35 and 15 <= y <= 22):
            return (236, 236, 230)
        grain = 8 if (x + 2 * y) % 7 == 0 else 0
        return (176 - grain, 134 - grain, 96 - grain)

    raw = b"".join(b"\x00" + bytes(c for x in range(w) for c in pixel(x, y)) for y in range(h))
    z = b"\x78\x01"
    for i in range(0, len(raw), 65535):
        block = raw[i : i + 65535]
        final = 1 if i + 65535 >= len(raw) else 0
        z += bytes([final]) + struct.pack("<HH", len(block), len(block) ^ 0xFFFF) + block
    z += struct.pack(">I", zlib.adler32(raw))

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
        )

    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0))
        + chunk(b"IDAT", z)
        + chunk(b"IEND", b"")
    )


def tiny_pdf(lines: list[str]) -> bytes:
    """A one-page PDF 1.4 with Helvetica text and a correct xref table."""
    esc = [ln.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)") for ln in lines]
    content = "BT /F1 11 Tf 64 790 Td 18 TL\n" + "".join(f"({ln}) '\n" for ln in esc) + "ET\n"
    objs = [
        "<< /Type /Catalog /Pages 2 0 R >>",
        "<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] "
        "/Resources << /Font << /F1 4 0 R >> >> /Contents 5 0 R >>",
        "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>",
        f"<< /Length {len(content)} >>\nstream\n{content}endstream",
        "<< /Title (Request for Quotation) /Producer (inbox demo) "
        "/CreationDate (D:20261113161500+09'00') >>",
    ]
    out = b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n"
    offsets = []
    for n, obj in enumerate(objs, 1):
        offsets.append(len(out))
        out += f"{n} 0 obj\n{obj}\nendobj\n".encode("latin-1")
    xref = len(out)
    out += f"xref\n0 {len(objs) + 1}\n0000000000 65535 f \n".encode()
    out += "".join(f"{off:010d} 00000 n \n" for off in offsets).encode()
    out += (
        f"trailer\n<< /Size {len(objs) + 1} /Root 1 0 R /Info 6 0 R >>\nstartxref\n{xref}\n%%EOF\n"
    ).encode()
    return out


# --- assembling ------------------------------------------------------------------------------

MESSAGES: list[tuple[str, str, datetime, bytes]] = []


def mail(
    box: str,
    slug: str,
    dt: datetime,
    headers: list[tuple[str, str]],
    part: Part,
    trailing: tuple[tuple[str, str], ...] | list[tuple[str, str]] = (),
) -> None:
    """Queue one message: envelope headers, MIME-Version, the body's own headers, then `trailing`."""
    ph, pb = part
    MESSAGES.append(
        (box, slug, dt, render([*headers, ("MIME-Version", "1.0"), *ph, *trailing], pb))
    )


SUPPORT = "support@demo.example"
SALES = "sales@demo.example"
SUPPORT_NAME = "サンプル商店 サポート"
SUPPORT_FROM = addr(SUPPORT_NAME, SUPPORT)
SALES_FROM = addr("Sample Shoten Wholesale", SALES)


def support_sig(name: str) -> str:
    return t(f"""
        ──────────────────────────────
        株式会社サンプル商店 オンラインショップ
        {name}
        {SUPPORT} ／ 0120-000-000（平日 10:00〜17:00）
        https://shop.demo.example/
        ──────────────────────────────
        """)


SALES_SIG = t("""
    Kenji Mori
    Wholesale & Export
    Sample Shoten Co., Ltd.
    sales@demo.example | +81 3 0000 0000
    https://shop.demo.example/wholesale
    """)


def team_reply(
    box: str,
    slug: str,
    dt: datetime,
    to: str,
    subject: str,
    msgid: str,
    parent: tuple[str, str],
    text: str,
) -> None:
    """A reply the team sent from the shared address (UTF-8, written by a MIME library)."""
    parent_id, parent_refs = parent
    mail(
        box,
        slug,
        dt,
        [
            ("Date", date(dt)),
            ("From", SUPPORT_FROM if box == "support" else SALES_FROM),
            ("To", to),
            ("Subject", ew(subject, "UTF-8", keep_ascii_lead=True)),
            ("Message-ID", msgid),
            ("In-Reply-To", parent_id),
            ("References", refs(*(parent_refs.split() if parent_refs else []), parent_id)),
        ],
        auto_text(text),
    )


# =============================================================================================
# support@demo.example
# =============================================================================================


def support() -> None:
    box, rcpt = "support", SUPPORT

    # --- T1 配送遅延: ISO-2022-JP customer, reply, "RE：" follow-up -------------------------------
    subj = "注文した商品がまだ届きません（注文番号 SS-20261105-0412）"
    yamada = addr("山田 太郎", "taro.yamada@example.jp", "ISO-2022-JP")
    d1, id1 = at(11, 11, 9, 12, 34), "<20261111091234.3F2A.taro.yamada@example.jp>"
    b1 = t("""
        株式会社サンプル商店 御中

        お世話になっております。山田と申します。

        11月5日に注文した「有田焼 湯呑み 5客セット（藍）」がまだ届いておりません。
        注文確認メールでは「11月8日頃お届け予定」とありましたが、
        発送完了のメールも届いていない状況です。

        11月15日の来客に使いたいと考えておりますので、
        現在の状況と、お届けの見込みを教えていただけますでしょうか。

        　注文番号：SS-20261105-0412
        　注文日　：2026年11月5日
        　お届け先：ご登録住所（東京都世田谷区）

        よろしくお願いいたします。

        --
        山田 太郎
        taro.yamada@example.jp
        """)
    mail(
        box,
        "delivery-delay",
        d1,
        [
            ("Return-Path", "<taro.yamada@example.jp>"),
            received("smtp.example.jp", "192.0.2.25", d1, rcpt, id1),
            ("Date", date(d1)),
            ("From", yamada),
            ("To", rcpt),
            ("Subject", ew(subj, "ISO-2022-JP")),
            ("Message-ID", id1),
        ],
        text_part(b1, "ISO-2022-JP", "7bit"),
        [("X-Mailer", "Becky! ver. 2.81.05 [ja]")],
    )

    d2, id2 = at(11, 11, 13, 40, 12), "<20261111134012.a41c.support@demo.example>"
    b2 = (
        t("""
        山田 太郎 様

        株式会社サンプル商店 カスタマーサポートの佐藤でございます。
        このたびはお届けが遅れており、大変ご迷惑をおかけしております。

        ご注文（SS-20261105-0412）の「有田焼 湯呑み 5客セット（藍）」は、
        窯元からの入荷が遅れておりましたが、本日11月11日に入荷いたしました。
        明日11月12日（木）に発送し、13日（金）中にお届けできる見込みです。

        発送が完了しましたら、お問い合わせ伝票番号をメールでお知らせいたします。
        15日のご来客には間に合う予定ですので、ご安心くださいませ。

        ご連絡が遅くなりましたこと、重ねてお詫び申し上げます。
        """)
        + "\n\n"
        + support_sig("カスタマーサポート　佐藤 美咲")
        + "\n\n山田 太郎 様は書きました:\n"
        + quote(b1)
    )
    team_reply(box, "re-delivery-delay", d2, yamada, "Re: " + subj, id2, (id1, ""), b2)

    d3, id3 = at(11, 12, 8, 55, 3), "<20261112085503.7B11.taro.yamada@example.jp>"
    b3 = (
        t("""
        佐藤様

        ご連絡ありがとうございます。山田です。
        13日に届くとのことで安心しました。

        1点確認させてください。
        13日は日中不在にしておりますので、19時〜21時の時間帯指定は可能でしょうか。
        難しいようでしたら、最寄りの営業所止めでも構いません。

        よろしくお願いいたします。

        山田 太郎
        """)
        + f"\n\n{ja_attr(d2)} {SUPPORT_NAME} <{SUPPORT}>:\n"
        + quote(b2)
    )
    mail(
        box,
        "delivery-delay-followup",
        d3,
        [
            ("Return-Path", "<taro.yamada@example.jp>"),
            received("smtp.example.jp", "192.0.2.25", d3, rcpt, id3),
            ("Date", date(d3)),
            ("From", yamada),
            ("To", addr(SUPPORT_NAME, SUPPORT, "ISO-2022-JP")),
            ("Subject", ew("RE：" + subj, "ISO-2022-JP")),
            ("Message-ID", id3),
            ("In-Reply-To", id2),
            ("References", refs(id1, id2)),
        ],
        text_part(b3, "ISO-2022-JP", "7bit"),
        [("X-Mailer", "Becky! ver. 2.81.05 [ja]")],
    )

    # --- T2 サイズ交換: iPhone UTF-8 base64, reply, "返信:" follow-up ----------------------------
    subj = "サイズ交換のお願い（注文番号 SS-20261107-0288）"
    sasaki = addr("佐々木 花子", "hanako.sasaki@example.com")
    d1, id1 = at(11, 10, 21, 47, 19), "<5C0E8A2B-41D7-4F6B-9E3A-2B7C1D0F9A11@example.com>"
    b1 = t("""
        サンプル商店 ご担当者様

        先日こちらで購入した今治タオルのバスローブですが、
        Mサイズを注文したところ思ったより小さかったので、
        Lサイズに交換していただくことは可能でしょうか。

        タグは外しておらず、一度試着しただけです。
        交換の場合の送料や手順を教えてください。

        注文番号：SS-20261107-0288
        商品：今治タオル ガーゼバスローブ（ネイビー／M）

        佐々木 花子

        iPhoneから送信
        """)
    mail(
        box,
        "size-exchange",
        d1,
        [
            ("Return-Path", "<hanako.sasaki@example.com>"),
            received("mail.example.com", "198.51.100.17", d1, rcpt, id1),
            ("From", sasaki),
            ("Date", date(d1)),
            ("Subject", ew(subj)),
            ("Message-ID", id1),
            ("To", rcpt),
        ],
        text_part(b1, "UTF-8", "base64"),
        [("X-Mailer", "iPhone Mail (22B91)")],
    )

    d2, id2 = at(11, 11, 10, 30, 48), "<20261111103048.c9e2.support@demo.example>"
    b2 = (
        t("""
        佐々木 花子 様

        株式会社サンプル商店 カスタマーサポートの鈴木です。
        お問い合わせいただきありがとうございます。

        商品到着後8日以内・未使用（試着のみ）でしたら、サイズ交換を承っております。
        Lサイズ（ネイビー）の在庫もございますので、以下の手順でお手続きください。

        1. 同梱の納品書の「返品・交換」欄に「Lサイズへ交換」とご記入ください。
        2. 商品と納品書を、お届け時の箱などに入れてご返送ください。
           返送先：〒000-0000 東京都千代田区サンプル1-2-3 サンプル商店 物流センター
        3. 返送は着払い（宅配便）でお送りいただけます。
           ※サイズ交換の送料は、初回に限り当店で負担いたします。

        商品の到着を確認後、2営業日以内にLサイズを発送いたします。
        ご不明な点がございましたら、お気軽にお問い合わせください。
        """)
        + "\n\n"
        + support_sig("カスタマーサポート　鈴木 健")
        + "\n\n佐々木 花子 様は書きました:\n"
        + quote(b1)
    )
    team_reply(box, "re-size-exchange", d2, sasaki, "Re: " + subj, id2, (id1, ""), b2)

    d3, id3 = at(11, 12, 7, 58, 40), "<9D41F7C3-0B2E-4A8D-B6F1-6E3C2A9D7B54@example.com>"
    b3 = (
        t("""
        鈴木様

        ご丁寧にありがとうございます。
        本日、着払いで発送しました。伝票番号は 1234-5678-9012 です。

        Lサイズ、楽しみにしています。
        よろしくお願いします。

        佐々木

        iPhoneから送信
        """)
        + f"\n\n{d2.astimezone(JST):%Y/%m/%d %H:%M}、{SUPPORT_NAME} <{SUPPORT}>のメール:\n\n"
        + quote(b2)
    )
    mail(
        box,
        "size-exchange-followup",
        d3,
        [
            ("Return-Path", "<hanako.sasaki@example.com>"),
            received("mail.example.com", "198.51.100.17", d3, rcpt, id3),
            ("From", sasaki),
            ("Date", date(d3)),
            ("Subject", ew("返信: " + subj)),
            ("Message-ID", id3),
            ("References", refs(id1, id2)),
            ("In-Reply-To", id2),
            ("To", SUPPORT_FROM),
        ],
        text_part(b3, "UTF-8", "base64"),
        [("X-Mailer", "iPhone Mail (22B91)")],
    )

    # --- T3 領収書: Outlook multipart/alternative, reply, "-----Original Message-----" follow-up --
    subj = "領収書の発行について（注文番号 SS-20261028-0157）"
    takahashi = addr("高橋 誠", "makoto.takahashi@example.net")
    d1, id1 = (
        at(11, 11, 16, 5, 22),
        "<TYWP286MB21840F3A9C1D2E4B7A6C0D11E5A2@TYWP286MB2184.JPNP286.prod.example.net>",
    )
    b1 = t("""
        株式会社サンプル商店
        カスタマーサポート ご担当者様

        いつもお世話になっております。
        株式会社例示企画 経理部の高橋でございます。

        10月28日に弊社総務部より注文いたしました下記の件につき、
        経費精算のため領収書の発行をお願いできますでしょうか。

        　注文番号：SS-20261028-0157
        　金額　　：48,400円（税込）
        　お支払い：クレジットカード

        宛名は「株式会社例示企画」、但し書きは「お品代として」でお願いいたします。
        適格請求書（インボイス）の記載事項を満たす形式で、PDFでお送りいただけますと幸いです。

        何卒よろしくお願い申し上げます。

        ━━━━━━━━━━━━━━━━━━━━━━
        株式会社例示企画 経理部
        高橋 誠（Makoto Takahashi）
        〒000-0000 大阪府大阪市北区サンプル町4-5-6
        TEL: 06-0000-0000
        Mail: makoto.takahashi@example.net
        ━━━━━━━━━━━━━━━━━━━━━━
        """)

    def outlook_html(text: str) -> str:
        paras = []
        for ln in text.split("\n"):
            ln = ln.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
            paras.append(
                f'<p class="MsoNormal">{ln or "<o:p>&nbsp;</o:p>"}<o:p></o:p></p>'
                if ln
                else '<p class="MsoNormal"><o:p>&nbsp;</o:p></p>'
            )
        return (
            '<html xmlns:o="urn:schemas-microsoft-com:office:office" '
            'xmlns="http://www.w3.org/TR/REC-html40">\n<head>\n'
            '<meta http-equiv="Content-Type" content="text/html; charset=utf-8">\n'
            "<style><!--\np.MsoNormal {margin:0mm; font-size:10.5pt; "
            'font-family:"游ゴシック",sans-serif;}\n--></style>\n</head>\n'
            '<body lang="JA" link="#0563C1" vlink="#954F72" style="word-wrap:break-word">\n'
            '<div class="WordSection1">\n' + "\n".join(paras) + "\n</div>\n</body>\n</html>\n"
        )

    alt = multipart(
        "alternative",
        "_000_TYWP286MB21840F3A9C1D2E4B7A6C0D11E5A2TYWP286MB2184JPNP_",
        [
            text_part(b1, "UTF-8", "base64", ct_extra=""),
            text_part(outlook_html(b1), "UTF-8", "base64", "html"),
        ],
        preamble=None,
    )
    mail(
        box,
        "receipt-request",
        d1,
        [
            ("Return-Path", "<makoto.takahashi@example.net>"),
            received("mail-tywp286.example.net", "203.0.113.88", d1, rcpt, id1),
            ("From", takahashi),
            ("To", addr(SUPPORT_NAME, rcpt)),
            ("Cc", addr("経理部 共有", "keiri@example.net")),
            ("Subject", ew(subj)),
            ("Thread-Topic", ew(subj)),
            ("Thread-Index", "AdtUy3kQm1Jm8x0RTgS2Jc7h3vN1zA=="),
            ("Date", date(d1)),
            ("Message-ID", id1),
            ("Accept-Language", "ja-JP, en-US"),
            ("Content-Language", "ja-JP"),
            ("X-MS-Has-Attach", ""),
            ("X-MS-TNEF-Correlator", ""),
        ],
        alt,
    )

    d2, id2 = at(11, 12, 11, 20, 5), "<20261112112005.e07d.support@demo.example>"
    b2 = (
        t("""
        株式会社例示企画
        経理部 高橋 誠 様

        いつもご利用いただき、誠にありがとうございます。
        株式会社サンプル商店 カスタマーサポートの佐藤でございます。

        領収書につきましては、マイページの「注文履歴」から、
        宛名・但し書きを入力のうえPDFで発行いただけます。
        当店の領収書は適格請求書（インボイス）の記載事項に対応しており、
        登録番号（T0000000000000）も記載されております。

        　マイページ：https://shop.demo.example/mypage/orders

        ゲスト購入などでマイページをご利用いただけない場合は、
        当方で発行してお送りいたしますので、お知らせくださいませ。
        """)
        + "\n\n"
        + support_sig("カスタマーサポート　佐藤 美咲")
        + "\n\n高橋 誠 様は書きました:\n"
        + quote(b1)
    )
    team_reply(box, "re-receipt-request", d2, takahashi, "Re: " + subj, id2, (id1, ""), b2)

    d3, id3 = (
        at(11, 12, 14, 2, 51),
        "<TYWP286MB2184A71C0E5B9D3F2C4E8A60B1D7@TYWP286MB2184.JPNP286.prod.example.net>",
    )
    b3 = (
        t("""
        佐藤様

        お世話になっております。例示企画の高橋です。
        ご案内ありがとうございました。

        マイページから発行したのですが、宛名を「例示企画」と入力してしまい、
        「株式会社」が抜けた状態でダウンロードしてしまいました。
        再度発行しようとすると「発行済み」と表示され、変更ができません。

        お手数ですが、宛名「株式会社例示企画」で再発行いただくことは可能でしょうか。
        ※誤って発行した領収書は破棄いたします。

        よろしくお願いいたします。

        ━━━━━━━━━━━━━━━━━━━━━━
        株式会社例示企画 経理部
        高橋 誠
        ━━━━━━━━━━━━━━━━━━━━━━

        -----Original Message-----
        """)
        + "\n"
        + t(f"""
        差出人: {SUPPORT_NAME} <{SUPPORT}>
        送信日時: {ja_stamp(d2)}
        宛先: 高橋 誠 <makoto.takahashi@example.net>
        件名: Re: {subj}
        """)
        + "\n\n"
        + b2
    )
    mail(
        box,
        "receipt-request-followup",
        d3,
        [
            ("Return-Path", "<makoto.takahashi@example.net>"),
            received("mail-tywp286.example.net", "203.0.113.88", d3, rcpt, id3),
            ("From", takahashi),
            ("To", addr(SUPPORT_NAME, rcpt)),
            ("Cc", addr("経理部 共有", "keiri@example.net")),
            ("Subject", ew("RE: " + subj)),
            ("Thread-Topic", ew(subj)),
            ("Thread-Index", "AdtUy3kQm1Jm8x0RTgS2Jc7h3vN1zAAAlPwQ"),
            ("Date", date(d3)),
            ("Message-ID", id3),
            ("References", refs(id1, id2)),
            ("In-Reply-To", id2),
            ("Content-Language", "ja-JP"),
            ("X-MS-Has-Attach", ""),
        ],
        text_part(b3, "UTF-8", "base64"),
    )

    # --- T4 在庫確認: Shift_JIS 8bit (cp932 bytes: ①② and ～ in the body), unanswered ----------
    subj = "南部鉄器の急須の在庫について"
    d1, id1 = at(11, 13, 10, 41, 7), "<202611131041.GA07.yumi.ito@example.com>"
    b1 = t("""
        サンプル商店さま

        はじめてご連絡いたします。伊藤と申します。

        貴店のサイトで「南部鉄器 急須 アラレ 0.6L（黒）」を拝見しました。
        現在「在庫切れ」と表示されていますが、再入荷の予定はございますか？

        また、以下の点も教えていただけると助かります。
        ①再入荷時にお知らせいただくことは可能でしょうか
        ②同じ形で容量違い（0.4L～0.8L）の取り扱いはありますか
        ③IH調理器で使用できますか

        母の誕生日（12月3日）に贈りたいと考えております。
        お忙しいところ恐縮ですが、よろしくお願いいたします。

        伊藤 由美
        """)
    mail(
        box,
        "stock-inquiry",
        d1,
        [
            ("Return-Path", "<yumi.ito@example.com>"),
            received("webmail.example.com", "198.51.100.63", d1, rcpt, id1),
            ("Date", date(d1)),
            ("From", addr("伊藤 由美", "yumi.ito@example.com", "Shift_JIS")),
            ("To", rcpt),
            ("Subject", ew(subj, "Shift_JIS")),
            ("Message-ID", id1),
        ],
        text_part(b1, "Shift_JIS", "8bit"),
        [("X-Mailer", "Example WebMail 6.2")],
    )

    # --- T7 パスワード: Apple Mail UTF-8 quoted-printable, reply --------------------------------
    subj = "パスワード再設定メールが届きません"
    kato = addr("加藤 翔太", "shota.kato@example.net")
    d1, id1 = at(11, 13, 15, 30, 26), "<8E3B1C55-7A20-4D9E-A1F4-0C6D2B8E9F37@example.net>"
    b1 = t("""
        サンプル商店 サポート御中

        会員ログインのパスワードを忘れてしまったため、
        「パスワードをお忘れの方」から再設定を3回ほど試しましたが、
        再設定用のメールが届きません。迷惑メールフォルダも確認しました。

        登録メールアドレス：shota.kato@example.net
        会員ID（たぶん）：skato1988

        カートに商品を入れたままなので、早めにログインできると助かります。

        加藤 翔太
        """)
    mail(
        box,
        "password-reset",
        d1,
        [
            ("Return-Path", "<shota.kato@example.net>"),
            received("smtp.example.net", "203.0.113.12", d1, rcpt, id1),
            ("From", kato),
            ("Subject", ew(subj)),
            ("Date", date(d1)),
            ("Message-ID", id1),
            ("To", rcpt),
        ],
        text_part(b1, "UTF-8", "quoted-printable"),
        [("X-Mailer", "Apple Mail (2.3826.300.87)")],
    )

    d2, id2 = at(11, 13, 17, 10, 33), "<20261113171033.1b84.support@demo.example>"
    b2 = (
        t("""
        加藤 翔太 様

        株式会社サンプル商店 カスタマーサポートの鈴木です。
        ご不便をおかけしており、申し訳ございません。

        お調べしたところ、会員情報のメールアドレスが
        「shota.kato@example.ne」（末尾の「t」が抜けた状態）で登録されておりました。
        こちらで「shota.kato@example.net」に修正いたしましたので、
        お手数ですが、もう一度パスワード再設定をお試しください。

        なお、再設定用URLの有効期限は発行から30分です。
        届かない場合は「@demo.example」からのメールを受信できるよう
        設定をご確認ください。

        カート内の商品はログイン後もそのまま残っております。
        """)
        + "\n\n"
        + support_sig("カスタマーサポート　鈴木 健")
        + "\n\n加藤 翔太 様は書きました:\n"
        + quote(b1)
    )
    team_reply(box, "re-password-reset", d2, kato, "Re: " + subj, id2, (id1, ""), b2)

    # --- T9 法人見積依頼: Thunderbird ISO-2022-JP + PDF (RFC 2231 filename), reply, auto-reply ----
    subj = "【見積依頼】名入れタンブラー300個（創業30周年記念品）"
    soumu = addr("例示ホテルズ 総務部 松本", "soumu@example.jp", "ISO-2022-JP")
    d1, id1 = at(11, 13, 16, 20, 44), "<7f3c2a91-5d4e-4b8a-9c61-0e2f8d3b1a77@example.jp>"
    b1 = t("""
        株式会社サンプル商店
        法人ご担当者様

        突然のご連絡失礼いたします。
        例示ホテルズ株式会社 総務部の松本と申します。

        弊社創業30周年の記念品として、従業員およびお取引先様向けに
        名入れのステンレスタンブラーを検討しております。
        つきましては、下記の条件でお見積りをお願いできますでしょうか。

        　品目　　：真空断熱ステンレスタンブラー 400ml 程度
        　数量　　：300個（色は2〜3色の混在を希望）
        　名入れ　：弊社ロゴ（1色）＋「30th Anniversary 2027」
        　個包装　：化粧箱入り
        　納期　　：2027年1月20日（水）必着
        　納品先　：東京都港区の本社へ一括

        詳細は添付の見積依頼書（PDF）をご確認ください。
        お支払いは請求書払い（月末締め翌月末払い）を希望しております。

        ご多忙のところ恐縮ですが、11月20日（金）までにご回答いただけますと幸いです。

        ────────────────────────
        例示ホテルズ株式会社 総務部
        松本 直樹
        〒000-0000 東京都港区サンプル7-8-9
        TEL 03-0000-0000（代表）
        soumu@example.jp
        ────────────────────────
        """)
    pdf = tiny_pdf(
        [
            "REQUEST FOR QUOTATION",
            "",
            "Date: 2026-11-13",
            "From: Reiji Hotels Co., Ltd. - General Affairs Dept. (Naoki Matsumoto)",
            "To: Sample Shoten Co., Ltd. - Corporate Sales",
            "",
            "Item: Vacuum-insulated stainless steel tumbler, approx. 400 ml",
            "Quantity: 300 pcs (2-3 colours mixed)",
            'Imprint: company logo (1 colour) + "30th Anniversary 2027"',
            "Packaging: individual gift box",
            "Delivery: to arrive by 2027-01-20, Tokyo head office, one lot",
            "Payment: invoice, closing at month end, payment at end of following month",
            "",
            "Please reply by 2026-11-20.  Contact: soumu@example.jp / 03-0000-0000",
        ]
    )
    mixed = multipart(
        "mixed",
        "------------A1B2C3D4E5F60718293A4B5C",
        [
            text_part(b1, "ISO-2022-JP", "7bit", ct_extra="; format=flowed; delsp=yes"),
            attachment(
                pdf, "application/pdf", "見積依頼書_例示ホテルズ_名入れタンブラー.pdf", rfc2231=True
            ),
        ],
    )
    mail(
        box,
        "corporate-quote-request",
        d1,
        [
            ("Return-Path", "<soumu@example.jp>"),
            received("mail.example.jp", "192.0.2.140", d1, rcpt, id1),
            ("Message-ID", id1),
            ("Date", date(d1)),
            ("User-Agent", "Mozilla Thunderbird"),
            ("Content-Language", "ja"),
            ("To", addr("株式会社サンプル商店", rcpt, "ISO-2022-JP")),
            ("From", soumu),
            ("Subject", ew(subj, "ISO-2022-JP")),
        ],
        mixed,
    )

    d2, id2 = at(11, 16, 10, 15, 2), "<20261116101502.5a90.support@demo.example>"
    b2 = (
        t("""
        例示ホテルズ株式会社
        総務部 松本 直樹 様

        このたびはお見積りのご依頼をいただき、誠にありがとうございます。
        株式会社サンプル商店 法人窓口の田中でございます。

        見積依頼書を拝見いたしました。ご指定の条件で、
        メーカーに名入れ加工の版代と納期を確認しております。
        正式なお見積書は11月19日（木）までにPDFでお送りいたします。

        確認のため、以下2点をお教えいただけますでしょうか。
        1. ロゴデータ（ai形式またはeps形式）のご用意は可能でしょうか。
        2. 色の内訳（例：黒150個・白100個・シルバー50個）はお決まりでしょうか。

        なお、請求書払い（月末締め翌月末払い）も承っております。
        引き続きよろしくお願いいたします。
        """)
        + "\n\n"
        + support_sig("法人窓口　田中 絵里")
        + "\n\n松本 直樹 様は書きました:\n"
        + quote(b1)
    )
    team_reply(box, "re-corporate-quote-request", d2, soumu, "Re: " + subj, id2, (id1, ""), b2)

    d3, id3 = at(11, 16, 10, 15, 41), "<autoreply.20261116101541.0031@example.jp>"
    b3 = t("""
        ※このメールはシステムからの自動返信です。

        例示ホテルズ株式会社 総務部です。
        メールを受信いたしました。

        内容を確認のうえ、担当者より2営業日以内にご連絡いたします。
        なお、11月16日（月）〜11月17日（火）は社内研修のため、
        ご返信にお時間をいただく場合がございます。

        ※このメールへの返信はご遠慮ください。
        ───────────────
        例示ホテルズ株式会社 総務部
        ───────────────
        """)
    mail(
        box,
        "auto-reply",
        d3,
        [
            ("Return-Path", "<>"),
            received("mail.example.jp", "192.0.2.140", d3, rcpt, id3),
            ("Date", date(d3)),
            ("From", addr("例示ホテルズ株式会社 総務部", "soumu@example.jp", "ISO-2022-JP")),
            ("To", SUPPORT_FROM),
            ("Subject", ew("【自動返信】お問い合わせありがとうございます", "ISO-2022-JP")),
            ("Message-ID", id3),
            ("In-Reply-To", id2),
            ("References", refs(id1, id2)),
            ("Auto-Submitted", "auto-replied"),
            ("X-Auto-Response-Suppress", "All"),
            ("Precedence", "bulk"),
        ],
        text_part(b3, "ISO-2022-JP", "7bit"),
    )

    # --- T10 配送先変更: UTF-8 base64, reply, bounce (mailbox full) ------------------------------
    subj = "お届け先住所の変更をお願いします"
    kimura = addr("木村 大輔", "daisuke.kimura@example.net")
    d1, id1 = at(11, 16, 13, 0, 17), "<CAK7x0dPq2Wm9=Hn4R1sVbE8tYf3uGz6LcJ0aN5kQ@mail.example.net>"
    b1 = t("""
        サンプル商店 カスタマーサポート様

        11月15日に注文した件（注文番号 SS-20261115-0650）について、
        お届け先を変更していただきたくご連絡しました。

        誤って旧住所のまま注文してしまいました。正しくは下記です。

        　〒000-0000
        　神奈川県横浜市中区サンプル通り10-11 サンプルハイツ203
        　木村 大輔

        すでに発送済みの場合は、どうすればよいか教えてください。

        木村
        """)
    mail(
        box,
        "change-address",
        d1,
        [
            ("Return-Path", "<daisuke.kimura@example.net>"),
            received("mail.example.net", "203.0.113.45", d1, rcpt, id1),
            ("From", kimura),
            ("Date", date(d1)),
            ("Message-ID", id1),
            ("Subject", ew(subj)),
            ("To", rcpt),
        ],
        text_part(b1, "UTF-8", "base64", ct_extra="; format=flowed; delsp=yes"),
    )

    d2, id2 = at(11, 16, 15, 20, 31), "<20261116152031.d3f6.support@demo.example>"
    b2 = (
        t("""
        木村 大輔 様

        株式会社サンプル商店 カスタマーサポートの鈴木です。
        ご連絡ありがとうございます。

        ご注文（SS-20261115-0650）は発送前でしたので、
        お届け先を下記のご住所に変更いたしました。

        　〒000-0000
        　神奈川県横浜市中区サンプル通り10-11 サンプルハイツ203
        　木村 大輔 様

        発送は11月17日（火）、お届けは11月18日（水）の予定です。
        念のため、マイページのご登録住所も更新をお願いいたします。
        """)
        + "\n\n"
        + support_sig("カスタマーサポート　鈴木 健")
        + "\n\n木村 大輔 様は書きました:\n"
        + quote(b1)
    )
    sent_headers = [
        ("Date", date(d2)),
        ("From", SUPPORT_FROM),
        ("To", kimura),
        ("Subject", ew("Re: " + subj, "UTF-8", keep_ascii_lead=True)),
        ("Message-ID", id2),
        ("In-Reply-To", id1),
        ("References", id1),
    ]
    reply_part = auto_text(b2)
    mail(box, "re-change-address", d2, sent_headers, reply_part)

    d3, id3 = at(11, 16, 15, 20, 37), "<20261116062037.4XkQ2m0Yz9z1B@mx2.example.net>"
    boundary = f"4XkQ2m0Yz9z1B.{int(d3.timestamp())}/mx2.example.net"
    returned = render(
        [
            (
                "Received",
                "from mx.demo.example (mx.demo.example [198.51.100.5])\r\n\tby mx2.example.net (Postfix) "
                "with ESMTPS id 4XkQ2m0Yz9z1B\r\n\tfor <daisuke.kimura@example.net>; "
                + date(at(11, 16, 15, 20, 35))
                + " (JST)",
            ),
        ]
        + sent_headers
        + [("MIME-Version", "1.0")]
        + reply_part[0],
        b"",
    )
    notification = t("""
        This is the mail system at host mx2.example.net.

        I'm sorry to have to inform you that your message could not
        be delivered to one or more recipients. It's attached below.

        For further assistance, please send mail to postmaster.

        If you do so, please include this problem report. You can
        delete your own text from the attached returned message.

                           The mail system

        <daisuke.kimura@example.net>: host mbox3.example.net[192.0.2.41] said: 552
            5.2.2 <daisuke.kimura@example.net>: Mailbox full, quota exceeded (in reply
            to RCPT TO command)
        """)
    status = (
        t(f"""
        Reporting-MTA: dns; mx2.example.net
        X-Postfix-Queue-ID: 4XkQ2m0Yz9z1B
        X-Postfix-Sender: rfc822; {SUPPORT}
        Arrival-Date: {date(at(11, 16, 15, 20, 35))} (JST)

        Final-Recipient: rfc822; daisuke.kimura@example.net
        Original-Recipient: rfc822;daisuke.kimura@example.net
        Action: failed
        Status: 5.2.2
        Remote-MTA: dns; mbox3.example.net
        Diagnostic-Code: smtp; 552 5.2.2 <daisuke.kimura@example.net>: Mailbox full,
            quota exceeded
        """)
        + "\n\n"
    )
    report = multipart(
        "report",
        boundary,
        [
            (
                [
                    ("Content-Description", "Notification"),
                    ("Content-Type", "text/plain; charset=us-ascii"),
                ],
                _crlf(notification.encode() + b"\n\n"),
            ),
            (
                [
                    ("Content-Description", "Delivery report"),
                    ("Content-Type", "message/delivery-status"),
                ],
                _crlf(status.encode()),
            ),
            (
                [
                    ("Content-Description", "Undelivered Message Headers"),
                    ("Content-Type", "text/rfc822-headers"),
                ],
                returned,
            ),
        ],
        params=" report-type=delivery-status;",
        preamble="This is a MIME-encapsulated message.",
    )
    report = (report[0] + [("Content-Transfer-Encoding", "8bit")], report[1])
    mail(
        box,
        "bounce",
        d3,
        [
            ("Return-Path", "<>"),
            (
                "Received",
                "by mx2.example.net (Postfix)\r\n\tid 4XkQ2m0Yz9z1B; " + date(d3) + " (JST)",
            ),
            (
                "Received",
                "from mx2.example.net (mx2.example.net [192.0.2.40])\r\n\tby mx.demo.example (Postfix) "
                "with ESMTPS id 4XDEMO0B0UNC\r\n\tfor <support@demo.example>; "
                + date(d3 + timedelta(seconds=2))
                + " (JST)",
            ),
            ("Date", date(d3)),
            ("From", "MAILER-DAEMON@example.net (Mail Delivery System)"),
            ("Subject", "Undelivered Mail Returned to Sender"),
            ("To", SUPPORT),
            ("Auto-Submitted", "auto-replied"),
        ],
        report,
        [("Message-Id", id3)],
    )

    # --- T12 HTML-only customer mail (newsletter-like), unanswered -----------------------------
    subj = "【ご相談】カフェでの茶葉の取り扱いについて"
    d1, id1 = (
        at(11, 16, 13, 48, 55),
        "<0100019a3c5e7f21-8d2b4c6e-1f3a-4b5c-9d7e-2a1b3c4d5e6f-000000@example.com>",
    )
    html = t("""
        <!DOCTYPE html>
        <html lang="ja">
        <head>
        <meta charset="utf-8">
        <title>カフェでの茶葉の取り扱いについて</title>
        </head>
        <body style="margin:0; padding:24px; background:#f7f4ee;">
        <div style="max-width:600px; margin:0 auto; padding:24px; background:#ffffff; font-family:'Hiragino Sans','Meiryo',sans-serif; font-size:14px; line-height:1.8; color:#333333;">
        <p>サンプル商店 ご担当者様</p>
        <p>はじめまして。鎌倉で小さなカフェ「<strong>こもれび珈琲</strong>」を営んでおります、井上と申します。</p>
        <p>貴店の日本茶をいくつか個人的に購入して大変気に入り、来年春からお店のメニューに加えたいと考えております。業務用としての仕入れについて、以下を教えていただけますでしょうか。</p>
        <ul>
        <li>業務用（500g〜1kg袋）の取り扱いと価格</li>
        <li>月に3〜5kg程度の定期購入が可能かどうか</li>
        <li>メニューに「サンプル商店の茶葉を使用」と記載してもよいか</li>
        </ul>
        <p>お店の雰囲気は、こちらのページでご覧いただけます。<br>
        <a href="https://komorebi-cafe.example.com/about" style="color:#6b8e23;">https://komorebi-cafe.example.com/about</a></p>
        <p>お忙しいところ恐れ入りますが、ご検討のほどよろしくお願いいたします。</p>
        <hr style="border:none; border-top:1px solid #e0dacd;">
        <p style="font-size:12px; color:#888888;">こもれび珈琲　井上 真理<br>
        〒000-0000 神奈川県鎌倉市サンプル1-1<br>
        mari.inoue@example.com</p>
        </div>
        </body>
        </html>
        """)
    mail(
        box,
        "cafe-wholesale-html",
        d1,
        [
            ("Return-Path", "<mari.inoue@example.com>"),
            received("a48-12.smtp-out.example.com", "198.51.100.212", d1, rcpt, id1),
            ("Date", date(d1)),
            ("From", addr("井上 真理（こもれび珈琲）", "mari.inoue@example.com")),
            ("Reply-To", "mari.inoue@example.com"),
            ("To", rcpt),
            ("Subject", ew(subj)),
            ("Message-ID", id1),
        ],
        text_part(html, "UTF-8", "quoted-printable", "html"),
    )

    # --- T11 ポイント: the same customer writes twice, same subject, no In-Reply-To -------------
    subj = "ポイントが付与されていません"
    hayashi = addr("林 和子", "kazuko.hayashi@example.com")
    d1, id1 = at(11, 17, 19, 22, 8), "<a3f0c1e2-6b7d-4e89-8a01-5c2d3e4f6a7b@mobile.example.com>"
    b1 = t("""
        サンプル商店さま

        11月3日に購入した商品のポイントがまだ付与されていません。
        注文番号はSS-20261103-0091です。
        マイページでは「付与予定」のままになっています。
        確認をお願いします。

        林 和子
        """)
    d2, id2 = at(11, 19, 8, 12, 40), "<e8b41d07-2c3a-4f5e-b6d9-0a1c7e3f5b92@mobile.example.com>"
    b2 = t("""
        サンプル商店さま

        17日にもメールしましたが、お返事がないので再度連絡します。

        11月3日の注文（SS-20261103-0091）のポイント（480ポイント）が、
        今日の時点でもまだ付与されていません。
        今月末で期限が切れるポイントと合わせて使いたいので、
        早めに確認していただけますか。

        林 和子
        """)
    for slug, d, mid, body in (
        ("points-missing", d1, id1, b1),
        ("points-missing-again", d2, id2, b2),
    ):
        mail(
            box,
            slug,
            d,
            [
                ("Return-Path", "<kazuko.hayashi@example.com>"),
                received("mobile.example.com", "198.51.100.77", d, rcpt, mid),
                ("Date", date(d)),
                ("From", hayashi),
                ("To", rcpt),
                ("Subject", ew(subj)),
                ("Message-ID", mid),
            ],
            text_part(body, "UTF-8", "base64"),
        )

    # --- T16 クーポン: UTF-8 base64, unanswered ------------------------------------------------
    subj = "クーポンコードが使えません"
    d1, id1 = at(11, 17, 20, 5, 14), "<CAH2b9xRk4Tn7=Wq1Ls8VdE3mPa6uYc0FgJ5oZ2iX@mail.example.com>"
    b1 = t("""
        サンプル商店様

        メールマガジンで届いた「冬のギフトフェア 10%OFF」のクーポンコード
        （WINTER2026）を入力すると、「このクーポンはご利用いただけません」と表示されます。

        購入予定の商品は「今治タオル フェイスタオル 5枚セット」（3,300円）です。
        対象外の商品なのでしょうか。

        有効期限は11月30日までと書いてありました。
        ご確認をお願いします。

        池田 愛
        """)
    mail(
        box,
        "coupon-not-working",
        d1,
        [
            ("Return-Path", "<ai.ikeda@example.com>"),
            received("mail.example.com", "198.51.100.18", d1, rcpt, id1),
            ("Date", date(d1)),
            ("Message-ID", id1),
            ("Subject", ew(subj)),
            ("From", addr("池田 愛", "ai.ikeda@example.com")),
            ("To", rcpt),
        ],
        text_part(b1, "UTF-8", "base64"),
    )

    # --- T5 不良品: multipart/mixed with a small PNG, unanswered --------------------------------
    subj = "届いたマグカップが割れていました"
    d1, id1 = at(11, 18, 10, 33, 2), "<CAJ5r1nTq8Xw2=Bv6Mk9PsD4hUe7yGa3LcN0fH1jR@mail.example.jp>"
    b1 = t("""
        サンプル商店 御中

        本日届いた商品について連絡いたします。

        注文番号 SS-20261114-0733 で購入した「波佐見焼 マグカップ ペアセット（白・灰）」のうち、
        白の方の取っ手の付け根にひびが入っていました。
        箱を開けた時点で割れていたので、配送中に破損したものと思います。

        写真を添付しますのでご確認ください（IMG_2041.png）。
        交換品を送っていただくことはできますでしょうか。
        割れた商品はどうすればよいかも教えてください。

        中村 健一
        """)
    mixed = multipart(
        "mixed",
        "000000000000f3a9c20624a1b7e5",
        [
            text_part(b1, "UTF-8", "base64", ct_extra="; format=flowed; delsp=yes"),
            attachment(tiny_png(), "image/png", "IMG_2041.png"),
        ],
        preamble=None,
    )
    mail(
        box,
        "broken-mug-photo",
        d1,
        [
            ("Return-Path", "<kenichi.nakamura@example.jp>"),
            received("mail.example.jp", "192.0.2.77", d1, rcpt, id1),
            ("Date", date(d1)),
            ("Message-ID", id1),
            ("Subject", ew(subj)),
            ("From", addr("中村 健一", "kenichi.nakamura@example.jp")),
            ("To", rcpt),
        ],
        mixed,
    )

    # --- T13 電子レンジ: ISO-2022-JP, unanswered ----------------------------------------------
    subj = "電子レンジや食洗機で使えますか"
    d1, id1 = at(11, 18, 11, 50, 29), "<20261118115029.9C3E.ryo.shimizu@example.net>"
    b1 = t("""
        お世話になります。清水です。

        「美濃焼 取り皿 5枚組（織部）」の購入を検討しています。
        商品ページに記載が見つからなかったのですが、
        電子レンジと食器洗い乾燥機で使用できますか？
        また、金や銀の装飾は入っていないでしょうか。

        よろしくお願いします。

        清水 亮
        """)
    mail(
        box,
        "microwave-question",
        d1,
        [
            ("Return-Path", "<ryo.shimizu@example.net>"),
            received("smtp.example.net", "203.0.113.12", d1, rcpt, id1),
            ("Date", date(d1)),
            ("From", addr("清水 亮", "ryo.shimizu@example.net", "ISO-2022-JP")),
            ("To", rcpt),
            ("Subject", ew(subj, "ISO-2022-JP")),
            ("Message-ID", id1),
        ],
        text_part(b1, "ISO-2022-JP", "7bit"),
        [("X-Mailer", "Becky! ver. 2.81.05 [ja]")],
    )

    # --- T8 ギフト包装: ISO-2022-JP, unanswered -----------------------------------------------
    subj = "ギフト包装とのし紙について"
    d1, id1 = at(11, 18, 14, 10, 51), "<20261118141051.keiko.yoshida.4471@example.jp>"
    b1 = t("""
        サンプル商店 御中

        お歳暮用に「静岡 深蒸し茶 詰め合わせ（3本入）」を10セット注文したいと考えております。
        注文前にいくつか確認させてください。

        ・ギフト包装（包装紙）は1点ずつお願いできますか。
        ・のし紙は「御歳暮」、名入れは「吉田」でお願いしたいです。外のし・内のしは選べますか。
        ・送り先が10か所に分かれるのですが、1回の注文でそれぞれに配送していただけますか。
        ・12月10日頃の到着を希望しています。

        お手数ですがご回答よろしくお願いいたします。

        吉田 恵子
        """)
    mail(
        box,
        "gift-wrapping",
        d1,
        [
            ("Return-Path", "<keiko.yoshida@example.jp>"),
            received("mail.example.jp", "192.0.2.77", d1, rcpt, id1),
            ("Date", date(d1)),
            ("From", addr("吉田 恵子", "keiko.yoshida@example.jp", "ISO-2022-JP")),
            ("To", rcpt),
            ("Subject", ew(subj, "ISO-2022-JP")),
            ("Message-ID", id1),
        ],
        text_part(b1, "ISO-2022-JP", "7bit"),
    )

    # --- T6 注文キャンセル: mobile ISO-2022-JP, quoted encoded-word display name, unanswered ---
    subj = "注文のキャンセルをお願いします"
    d1, id1 = at(11, 19, 12, 30, 45), "<2026111912304.0AB1.sakura-k@example.jp>"
    b1 = t("""
        サンプル商店様

        今朝注文したものをキャンセルしたいです。
        同じ商品を間違えて2回注文してしまいました。

        注文番号：SS-20261119-0915（こちらをキャンセルしてください）
        　　　　　SS-20261119-0902（こちらは残してください）

        まだ発送前だと思いますが、よろしくお願いします。
        支払いはクレジットカードです。

        小林さくら
        """)
    mail(
        box,
        "cancel-order",
        d1,
        [
            ("Return-Path", "<sakura-k@example.jp>"),
            received("mobile.example.jp", "192.0.2.201", d1, rcpt, id1),
            ("Date", date(d1)),
            ("From", addr("小林さくら", "sakura-k@example.jp", "ISO-2022-JP", quoted=True)),
            ("To", rcpt),
            ("Subject", ew(subj, "ISO-2022-JP")),
            ("Message-ID", id1),
        ],
        text_part(b1, "ISO-2022-JP", "7bit"),
    )

    # --- T15 退会: ISO-2022-JP, unanswered ----------------------------------------------------
    subj = "退会の手続きについて"
    d1, id1 = at(11, 19, 22, 18, 3), "<20261119221803.3D5F.masato.mori@example.jp>"
    b1 = t("""
        サンプル商店 御中

        会員登録を解除（退会）したいのですが、マイページに退会のボタンが見当たりません。
        手続きの方法を教えてください。

        また、退会した場合、登録しているクレジットカード情報や住所も削除されますか。
        メールマガジンも停止してほしいです。

        森 正人
        """)
    mail(
        box,
        "unsubscribe-account",
        d1,
        [
            ("Return-Path", "<masato.mori@example.jp>"),
            received("smtp.example.jp", "192.0.2.25", d1, rcpt, id1),
            ("Date", date(d1)),
            ("From", addr("森 正人", "masato.mori@example.jp", "ISO-2022-JP")),
            ("To", rcpt),
            ("Subject", ew(subj, "ISO-2022-JP")),
            ("Message-ID", id1),
        ],
        text_part(b1, "ISO-2022-JP", "7bit"),
        [("X-Mailer", "Microsoft Outlook 16.0")],
    )

    # --- T14 お届け日: UTF-8 quoted-printable, unanswered, newest -----------------------------
    subj = "お届け日の指定について（注文番号 SS-20261119-0958）"
    d1, id1 = at(11, 20, 9, 5, 36), "<3A9F2E71-B8C4-4D05-9E6A-7F1B0C2D3E48@example.com>"
    b1 = t("""
        サンプル商店 カスタマーサポート 御中

        昨晩注文した件でご相談です。

        注文時にお届け日を「11月22日（日）午前中」と指定しましたが、
        予定が変わり、その日は終日不在になってしまいました。
        11月23日（月・祝）の午前中に変更していただくことはできますか。

        難しい場合は、24日（火）以降でも大丈夫です。

        山口 綾
        """)
    mail(
        box,
        "change-delivery-date",
        d1,
        [
            ("Return-Path", "<aya.yamaguchi@example.com>"),
            received("smtp.example.com", "198.51.100.30", d1, rcpt, id1),
            ("From", addr("山口 綾", "aya.yamaguchi@example.com")),
            ("Subject", ew(subj)),
            ("Date", date(d1)),
            ("Message-ID", id1),
            ("To", rcpt),
        ],
        text_part(b1, "UTF-8", "quoted-printable"),
        [("X-Mailer", "Apple Mail (2.3826.300.87)")],
    )


# =============================================================================================
# sales@demo.example
# =============================================================================================


def sales() -> None:
    box, rcpt = "sales", SALES

    # --- A1 quote request, reply, Outlook "RE:" with -----Original Message----- ----------------
    subj = "Request for quotation - Arita porcelain teacups (500 pcs)"
    laura = formataddr(("Laura Bennett", "laura.bennett@example.com"))
    d1, id1 = (
        at(11, 10, 16, 20, 11, PST),
        "<BY5PR11MB41810C2F7A9E3D4B6C1A8E2F90D4@BY5PR11MB4181.namprd11.prod.example.com>",
    )
    b1 = t("""
        Hello,

        I'm the purchasing manager at Bennett & Rowe Home Goods, an independent
        homeware retailer with three stores in Portland, Oregon, and an online shop.

        We are interested in carrying your Arita porcelain range for spring 2027 and
        would like a quotation for the following:

          - Arita-yaki teacup, indigo (item AR-TC-01): 500 pcs
          - Arita-yaki teapot, indigo (item AR-TP-01): 120 pcs
          - Matching saucers, if available: 500 pcs

        Could you please include:
          1. Unit prices at these quantities (and your price breaks, if any)
          2. Lead time from order confirmation
          3. Shipping cost to Portland, OR (we can also use our own forwarder, FOB)
          4. Minimum order quantity for reorders

        We would need the goods in our warehouse by the end of February 2027.

        Best regards,

        Laura Bennett
        Purchasing Manager
        Bennett & Rowe Home Goods
        laura.bennett@example.com | +1 503 555 0142
        """)
    mail(
        box,
        "quote-arita-teacups",
        d1,
        [
            ("Return-Path", "<laura.bennett@example.com>"),
            received("mail-by5pr11.example.com", "203.0.113.150", d1, rcpt, id1),
            ("From", laura),
            ("To", formataddr(("Sample Shoten Sales", rcpt))),
            ("Subject", subj),
            ("Thread-Topic", subj),
            ("Thread-Index", "AdtTfQ2b8kR0v1cNQwKZ4m9yZ3pH7g=="),
            ("Date", date(d1)),
            ("Message-ID", id1),
            ("Accept-Language", "en-US"),
            ("Content-Language", "en-US"),
            ("X-MS-Has-Attach", ""),
        ],
        text_part(b1, "us-ascii", "7bit"),
    )

    d2, id2 = at(11, 11, 10, 5, 40), "<20261111100540.71ae.sales@demo.example>"
    b2 = (
        t("""
        Dear Ms. Bennett,

        Thank you for your interest in our Arita porcelain range.

        Please find our quotation below (USD, valid until December 31, 2026):

          Item                        Qty   Unit price   Amount
          AR-TC-01 Teacup, indigo     500   USD  9.80    USD  4,900.00
          AR-TP-01 Teapot, indigo     120   USD 38.50    USD  4,620.00
          AR-SC-01 Saucer, indigo     500   USD  6.20    USD  3,100.00
                                                  Total  USD 12,620.00

          - Price break: 5% off each item at 1,000 pcs or more
          - Lead time: 4-5 weeks from order confirmation (the kiln closes
            December 28 - January 5)
          - Shipping: FOB Yokohama. Sea freight (LCL) to Portland is approx.
            USD 1,450 and takes 4-5 weeks; we are happy to work with your forwarder.
          - MOQ for reorders: 100 pcs per item
          - Payment: 30% deposit, balance before shipment (T/T)

        To have the goods in Portland by the end of February by sea, we would need
        your order by December 4. If you would like samples, we can send one set by
        courier for USD 60, credited against your first order.
        """)
        + "\n\n"
        + SALES_SIG
        + f"\n\nOn {en_attr(d1, JST)} Laura Bennett <laura.bennett@example.com> wrote:\n"
        + quote(b1)
    )
    team_reply(box, "re-quote-arita-teacups", d2, laura, "Re: " + subj, id2, (id1, ""), b2)

    d3, id3 = (
        at(11, 11, 9, 40, 52, PST),
        "<BY5PR11MB4181F1E2D3C4B5A69788A0B1C2D3@BY5PR11MB4181.namprd11.prod.example.com>",
    )
    b3 = (
        t("""
        Hi Kenji,

        Thanks for the quick and detailed reply.

        A couple of follow-up questions before I take this to our owner:
          - Could you do USD 9.20 on the teacups if we commit to 800 pcs?
          - Our forwarder is Example Logistics (ops@example.net). Please quote
            FOB Yokohama only and we'll handle it from there.
          - Yes, please send a sample set. A payment link for the USD 60 is fine.

        Best,
        Laura

        -----Original Message-----
        """)
        + "\n"
        + t(f"""
        From: Sample Shoten Wholesale <{SALES}>
        Sent: {en_sent(d2, PST)}
        To: Laura Bennett <laura.bennett@example.com>
        Subject: Re: {subj}
        """)
        + "\n\n"
        + b2
    )
    mail(
        box,
        "quote-arita-teacups-followup",
        d3,
        [
            ("Return-Path", "<laura.bennett@example.com>"),
            received("mail-by5pr11.example.com", "203.0.113.150", d3, rcpt, id3),
            ("From", laura),
            ("To", SALES_FROM),
            ("Subject", "RE: " + subj),
            ("Thread-Topic", subj),
            ("Thread-Index", "AdtTfQ2b8kR0v1cNQwKZ4m9yZ3pH7gAAr9Kw"),
            ("Date", date(d3)),
            ("Message-ID", id3),
            ("References", refs(id1, id2)),
            ("In-Reply-To", id2),
            ("Content-Language", "en-US"),
            ("X-MS-Has-Attach", ""),
        ],
        text_part(b3, "us-ascii", "7bit"),
    )

    # --- A2 shipping to Singapore, reply ------------------------------------------------------
    subj = "Shipping to Singapore - lead time and Incoterms"
    tan = formataddr(("Wei Ling Tan", "weiling.tan@example.com"))
    d1, id1 = (
        at(11, 12, 14, 15, 9, SGT),
        "<CAB4k2mXy7Qv3=Rt8Np1LsW6dJc9eHa0FgT5oU2iK@mail.example.com>",
    )
    b1 = t("""
        Hi Sample Shoten team,

        We run a Japanese lifestyle concept store in Singapore and are planning our
        Chinese New Year gift range.

        Do you ship wholesale orders to Singapore? If so:
         - Which Incoterms do you offer (DAP / DDP)?
         - Approximate air vs. sea freight cost for 2 cartons
           (60 x 40 x 40 cm, 18 kg each)
         - Can you provide the commercial invoice and packing list with HS codes?
           Our customs broker needs them for GST.

        CNY is on 6 Feb 2027, so we'd want the goods by mid-January at the latest.

        Thanks,
        Wei Ling Tan
        Buyer, Tan & Co. Living
        """)
    mail(
        box,
        "shipping-to-singapore",
        d1,
        [
            ("Return-Path", "<weiling.tan@example.com>"),
            received("mail.example.com", "198.51.100.18", d1, rcpt, id1),
            ("Date", date(d1)),
            ("Message-ID", id1),
            ("Subject", subj),
            ("From", tan),
            ("To", rcpt),
        ],
        text_part(b1, "UTF-8", "7bit"),
    )

    d2, id2 = at(11, 13, 11, 0, 18), "<20261113110018.2c57.sales@demo.example>"
    b2 = (
        t("""
        Dear Ms. Tan,

        Thank you for your inquiry. Yes, we ship wholesale orders to Singapore
        regularly.

          - Incoterms: DAP Singapore (standard) or FCA Tokyo. We do not offer DDP
            to Singapore at the moment, so GST and import clearance would be
            handled by your broker.
          - Freight for 2 cartons (36 kg, 0.192 m3):
              Air (4-6 days):               approx. JPY 38,000
              Sea, LCL via our forwarder
              (14-18 days):                 approx. JPY 24,000
            At this volume air is usually the better choice once port fees are
            counted.
          - Every shipment comes with a commercial invoice and packing list
            showing HS codes (e.g. 6911.10 porcelain tableware, 0902.10 green tea).

        For arrival by mid-January we recommend ordering by December 15 (air).
        I'd be glad to send our 2027 wholesale price list - could you let me know
        which categories you're interested in?
        """)
        + "\n\n"
        + SALES_SIG
        + f"\n\nOn {en_attr(d1, JST)} Wei Ling Tan <weiling.tan@example.com> wrote:\n"
        + quote(b1)
    )
    team_reply(box, "re-shipping-to-singapore", d2, tan, "Re: " + subj, id2, (id1, ""), b2)

    # --- A3 distributor application, UTF-8 QP, Q-encoded display name, unanswered ------------
    subj = "Distributor application - Denmark, Sweden & Norway"
    d1, id1 = at(11, 13, 9, 30, 2, CET), "<5b1e9f0a-3c7d-4e2b-8f6a-9d0c1b2e3f4a@example.net>"
    b1 = t("""
        Dear Sales Team,

        My name is Søren Østergaard, and I am the founder of Nordisk Bord ApS, a
        Copenhagen-based distributor of tableware and kitchenware for independent
        shops and restaurants in Denmark, Sweden and Norway.

        We currently represent 14 brands (mostly Scandinavian and Japanese) and sell
        to around 220 retail accounts. We would like to apply to become your
        exclusive distributor for the Nordic region.

        A few facts about us:
          • Founded 2015, 11 employees, warehouse in Glostrup
          • 2025 turnover: approx. EUR 4.2 million
          • Trade fairs: Formland (Herning), Ambiente (Frankfurt)

        Could you tell me what you require from a distributor (minimum annual
        volume, marketing commitments, exclusivity terms)? I'd be happy to set up
        a video call at your convenience — we are 8 hours behind Tokyo.

        Med venlig hilsen / Kind regards,
        Søren Østergaard
        Founder & Managing Director
        Nordisk Bord ApS
        """)
    mail(
        box,
        "distributor-application-nordics",
        d1,
        [
            ("Return-Path", "<soren@example.net>"),
            received("smtp.example.net", "203.0.113.12", d1, rcpt, id1),
            ("Date", date(d1)),
            ("From", addr("Søren Østergaard", "soren@example.net", "UTF-8", "Q")),
            ("To", rcpt),
            ("Subject", subj),
            ("Message-ID", id1),
        ],
        text_part(b1, "UTF-8", "quoted-printable"),
        [("User-Agent", "Mozilla Thunderbird")],
    )

    # --- A4 complaint, reply ------------------------------------------------------------------
    subj = "Damaged cartons - order PO-55812"
    mark = formataddr(("Mark Sullivan", "mark.sullivan@example.com"))
    d1, id1 = (
        at(11, 14, 8, 12, 37, AEDT),
        "<SY4P282MB3051B7E2A1C9D0F3E4A5B6C7D8E9@SY4P282MB3051.AUSP282.prod.example.com>",
    )
    b1 = t("""
        Hello,

        We received order PO-55812 (your invoice INV-2026-1042) yesterday and I'm
        sorry to say it's not in good shape.

        Two of the six cartons were crushed on one corner and the contents show it:
          - Hasami mug, grey (HS-MG-02): 14 of 48 broken
          - Hasami plate 21cm (HS-PL-21): 6 of 36 chipped

        The outer cartons had no "fragile" marking and the mugs were packed with
        only a single sheet of paper each, no dividers. This is the second time this
        year we have had breakage from you (see PO-53390 in June), and frankly I
        expected better packing after we raised it then.

        Photos are in our shared folder: https://files.example.com/s/po55812-damage

        We'd like replacement of the 20 damaged pieces on your account, shipped by
        air, and confirmation that packing will be improved on future orders.
        Otherwise we'll have to reconsider reordering for next season.

        Regards,
        Mark Sullivan
        Operations Manager, Harbour & Hearth Pty Ltd
        """)
    mail(
        box,
        "complaint-damaged-cartons",
        d1,
        [
            ("Return-Path", "<mark.sullivan@example.com>"),
            received("mail-sy4p282.example.com", "203.0.113.161", d1, rcpt, id1),
            ("From", mark),
            ("To", rcpt),
            ("Subject", subj),
            ("Thread-Topic", subj),
            ("Thread-Index", "AdtVc1tPq7WcE9m0R6yLd2KxJ8fN4w=="),
            ("Date", date(d1)),
            ("Message-ID", id1),
            ("Importance", "high"),
            ("X-Priority", "1"),
        ],
        text_part(b1, "us-ascii", "7bit"),
    )

    d2, id2 = at(11, 16, 9, 30, 14), "<20261116093014.8be0.sales@demo.example>"
    b2 = (
        t("""
        Dear Mr. Sullivan,

        Thank you for letting us know, and I am very sorry about the damage to
        PO-55812 - especially after the issue in June.

        Having reviewed your photos, we will:
          1. Send 14 x HS-MG-02 and 6 x HS-PL-21 by air at our cost. They will ship
             on Wednesday, November 18, and I will send you the tracking number then.
          2. Issue a credit note of AUD 86.40 for the freight share of the damaged
             items, to be deducted from your next invoice.
          3. Change the packing for all your future orders: cell dividers for mugs,
             double-wall cartons and FRAGILE labels on every side. Our warehouse lead
             has added this to your customer profile.

        You don't need to return the broken pieces; please dispose of them.

        Again, my apologies for the trouble.
        """)
        + "\n\n"
        + SALES_SIG
        + f"\n\nOn {en_attr(d1, JST)} Mark Sullivan <mark.sullivan@example.com> wrote:\n"
        + quote(b1)
    )
    team_reply(box, "re-complaint-damaged-cartons", d2, mark, "Re: " + subj, id2, (id1, ""), b2)

    # --- A5 reorder with CSV attachment, unanswered -------------------------------------------
    subj = "Reorder for Q1 2027 (CSV attached)"
    d1, id1 = (
        at(11, 16, 15, 45, 20, IST),
        "<PN2P287MB04129A8B7C6D5E4F3A2B1C0D9E8F@PN2P287MB0412.INDP287.prod.example.com>",
    )
    b1 = t("""
        Hi Kenji,

        Please find attached our reorder list for Q1 2027 (reorder_2027Q1.csv).
        Quantities are in pieces; two items are new for us (marked NEW).

        Could you confirm availability and send a proforma invoice? Same shipping
        address and terms as last time (FCA Tokyo, our forwarder collects).

        Thanks and regards,
        Priya Raman
        Chai & Clay Trading
        """)
    csv = _crlf(
        t("""
        sku,description,qty,unit_price_usd,note
        AR-TC-01,"Arita teacup, indigo",240,9.80,
        AR-TP-01,"Arita teapot, indigo",60,38.50,
        HS-MG-02,"Hasami mug, grey",180,7.40,
        HS-PL-21,Hasami plate 21cm,120,8.90,
        SZ-SN-100,Shizuoka sencha 100g,300,6.50,NEW
        MN-KY-06,"Nambu ironware kyusu 0.6L, black",24,42.00,NEW
        """).encode()
        + b"\n"
    )
    mixed = multipart(
        "mixed",
        "_004_PN2P287MB04129A8B7C6D5E4F3A2B1C0D9E8FPN2P287MB0412INDP_",
        [
            text_part(b1, "us-ascii", "7bit"),
            attachment(csv, "text/csv", "reorder_2027Q1.csv"),
        ],
        preamble=None,
    )
    mail(
        box,
        "reorder-csv",
        d1,
        [
            ("Return-Path", "<priya.raman@example.com>"),
            received("mail-pn2p287.example.com", "203.0.113.170", d1, rcpt, id1),
            ("From", formataddr(("Priya Raman", "priya.raman@example.com"))),
            ("To", formataddr(("Kenji Mori", "k.mori@demo.example"))),
            ("Cc", rcpt),
            ("Subject", subj),
            ("Date", date(d1)),
            ("Message-ID", id1),
            ("Content-Language", "en-GB"),
            ("X-MS-Has-Attach", "yes"),
        ],
        mixed,
    )

    # --- A6 "Fwd:" with a Gmail-style forwarded block, unanswered -----------------------------
    subj = "Fwd: Wholesale catalogue 2027?"
    d1, id1 = (
        at(11, 17, 10, 12, 44, GMT),
        "<CAD8p3qWz5Lr1=Yt6Hm2NsK9cFa4uEb7GjR0oT3vP@mail.example.net>",
    )
    tom_date = at(11, 16, 17, 48, 0, GMT)
    b1 = t(f"""
        Hello,

        Forwarding this from my colleague Tom, who met your team at the Spring Fair.
        Could you send us your 2027 wholesale catalogue and price list (GBP if
        possible)? We're a tearoom with a small retail corner, so we'd mostly be
        interested in teaware and loose-leaf tea.

        Many thanks,
        Hannah

        ---------- Forwarded message ---------
        From: Tom Hughes <tom.hughes@example.net>
        Date: Mon, 16 Nov 2026 at {tom_date:%H:%M}
        Subject: Wholesale catalogue 2027?
        To: Hannah Clarke <hannah.clarke@example.net>


        Hi Hannah,

        I picked up a card from Sample Shoten (Japanese teaware) at the Spring Fair
        in February - lovely stoneware, and their sencha was excellent. Worth asking
        for their 2027 wholesale catalogue? The email on the card is
        sales@demo.example.

        Tom
        """)
    mail(
        box,
        "fwd-catalogue-request",
        d1,
        [
            ("Return-Path", "<hannah.clarke@example.net>"),
            received("mail.example.net", "203.0.113.45", d1, rcpt, id1),
            ("Date", date(d1)),
            ("Message-ID", id1),
            ("References", "<CAF1t7nRq2Wx8=Ks4Lm9PdE6hUa3yGc0BvN5fJ2iQ@mail.example.net>"),
            ("In-Reply-To", "<CAF1t7nRq2Wx8=Ks4Lm9PdE6hUa3yGc0BvN5fJ2iQ@mail.example.net>"),
            ("Subject", subj),
            ("From", formataddr(("Hannah Clarke", "hannah.clarke@example.net"))),
            ("To", rcpt),
        ],
        text_part(b1, "UTF-8", "7bit"),
    )

    # --- A7 matcha samples, reply -------------------------------------------------------------
    subj = "Matcha samples for a 12-store cafe chain"
    daniel = formataddr(("Daniel Kim", "daniel.kim@example.com"))
    d1, id1 = (
        at(11, 17, 13, 30, 5, PST),
        "<CAE9u4rXy1Mt6=Qw3Nk8LsB2dHc5eFa7GjP0oV4iR@mail.example.com>",
    )
    b1 = t("""
        Hi there,

        I'm the beverage lead at Greenleaf Coffee, a 12-store cafe chain in the
        Seattle area. We're reworking our matcha latte for 2027 and would like to
        try your culinary and ceremonial grade matcha.

        Could you send samples (30-50 g each) of:
          - Uji matcha, culinary / cafe grade
          - Uji matcha, ceremonial grade
          - Hojicha powder, if you carry it

        Expected volume would be around 40-60 kg per month. Please also include
        pricing per kg for 10 kg and 50 kg orders, and whether you have organic
        certification (USDA / JAS).

        Shipping address:
        Greenleaf Coffee Co. - Attn: Daniel Kim
        1200 Example Ave, Suite 300, Seattle, WA 98100, USA

        Thanks!
        Daniel
        """)
    mail(
        box,
        "matcha-samples",
        d1,
        [
            ("Return-Path", "<daniel.kim@example.com>"),
            received("mail.example.com", "198.51.100.18", d1, rcpt, id1),
            ("Date", date(d1)),
            ("Message-ID", id1),
            ("Subject", subj),
            ("From", daniel),
            ("To", rcpt),
        ],
        text_part(b1, "UTF-8", "7bit"),
    )

    d2, id2 = at(11, 18, 11, 15, 27), "<20261118111527.f401.sales@demo.example>"
    b2 = (
        t("""
        Dear Daniel,

        Thank you for thinking of us for your new matcha latte.

        We'll send the following samples by courier on Thursday, November 19
        (about 3-4 business days to Seattle):
          - Uji matcha, cafe grade (MC-UJ-C), 50 g
          - Uji matcha, ceremonial grade (MC-UJ-S), 30 g
          - Hojicha powder (HJ-PW-01), 50 g

        Pricing (USD per kg, EXW Tokyo):
                        10 kg     50 kg
          MC-UJ-C       68.00     59.00
          MC-UJ-S      185.00    168.00
          HJ-PW-01      44.00     38.00

        The cafe grade and the hojicha are JAS organic certified; the ceremonial
        grade is not certified organic. At 40-60 kg per month we can also offer a
        fixed-price annual contract - happy to discuss once you've tasted them.
        """)
        + "\n\n"
        + SALES_SIG
        + f"\n\nOn {en_attr(d1, JST)} Daniel Kim <daniel.kim@example.com> wrote:\n"
        + quote(b1)
    )
    team_reply(box, "re-matcha-samples", d2, daniel, "Re: " + subj, id2, (id1, ""), b2)

    # --- A8 payment terms, UTF-8 QP, unanswered -----------------------------------------------
    subj = "Payment terms for new accounts"
    d1, id1 = at(11, 18, 16, 40, 58, CET), "<1f2e3d4c-5b6a-4798-8a9b-0c1d2e3f4a5b@example.net>"
    b1 = t("""
        Hello,

        We are a small épicerie fine in Lyon and would like to place a first order
        of around €3,000 (tea and teaware).

        Do you offer payment terms (net 30) to new accounts, or is prepayment
        required for the first order? We can provide trade references and our
        Kbis extract if needed.

        Also, can you invoice in EUR?

        Merci d'avance,
        Sophie Martin
        Maison Kura — épicerie japonaise
        Lyon, France
        """)
    mail(
        box,
        "payment-terms",
        d1,
        [
            ("Return-Path", "<sophie.martin@example.net>"),
            received("smtp.example.net", "203.0.113.12", d1, rcpt, id1),
            ("From", formataddr(("Sophie Martin", "sophie.martin@example.net"))),
            ("To", rcpt),
            ("Subject", subj),
            ("Date", date(d1)),
            ("Message-ID", id1),
        ],
        text_part(b1, "UTF-8", "quoted-printable"),
        [("X-Mailer", "Apple Mail (2.3826.300.87)")],
    )

    # --- A9 "RE:" to an invoice sent by another system (In-Reply-To not in the mailbox) ------
    subj = "RE: Invoice INV-2026-1107 from Sample Shoten Co., Ltd."
    d1, id1 = (
        at(11, 19, 10, 5, 33, CET),
        "<AM9P195MB1432C4D5E6F7A8B9C0D1E2F3A4B5@AM9P195MB1432.EURP195.prod.example.net>",
    )
    inv_id, inv_date = "<inv-2026-1107.20261116020011@billing.demo.example>", at(11, 16, 10, 0, 11)
    b1 = (
        t("""
        Hello,

        Thank you for the invoice. Unfortunately it is addressed to our old company
        name (Kanne & Tasse OHG) and shows our old VAT ID. Since September we are
        Kanne & Tasse GmbH, VAT ID DE000000002 - without the correct details we
        can't book the invoice under the reverse-charge rules.

        Could you please issue a corrected invoice? Payment is ready to go as soon
        as we have it.

        Mit freundlichen Grüßen / Kind regards
        Julia Hoffmann
        Accounting
        Kanne & Tasse GmbH, Hamburg

        ________________________________
        """)
        + "\n"
        + t(f"""
        From: Sample Shoten Billing <billing@demo.example>
        Sent: {en_sent(inv_date, CET)}
        To: Julia Hoffmann <j.hoffmann@example.net>
        Subject: Invoice INV-2026-1107 from Sample Shoten Co., Ltd.

        Dear customer,

        Please find attached invoice INV-2026-1107 (EUR 2,418.00) for your order
        KT-2026-088. Payment due: December 16, 2026 (net 30).

        Sample Shoten Co., Ltd.
        """)
    )
    mail(
        box,
        "invoice-wrong-vat",
        d1,
        [
            ("Return-Path", "<j.hoffmann@example.net>"),
            received("mail-am9p195.example.net", "203.0.113.190", d1, rcpt, id1),
            ("From", formataddr(("Julia Hoffmann", "j.hoffmann@example.net"))),
            ("To", rcpt),
            ("Subject", subj),
            ("Thread-Topic", subj[4:]),
            ("Thread-Index", "AQHbWn3xR7c2mK9pTk6yF0dLq8vZ1Q=="),
            ("Date", date(d1)),
            ("Message-ID", id1),
            ("References", inv_id),
            ("In-Reply-To", inv_id),
            ("Content-Language", "de-DE"),
            ("X-MS-Has-Attach", ""),
        ],
        text_part(b1, "UTF-8", "quoted-printable"),
    )

    # --- A10 trade fair meeting, unanswered, newest --------------------------------------------
    subj = "Meeting at Ambiente 2027?"
    d1, id1 = at(11, 20, 8, 45, 16, CET), "<0a9b8c7d-6e5f-4a3b-9c2d-1e0f9a8b7c6d@example.com>"
    b1 = t("""
        Dear Sample Shoten team,

        Will you be exhibiting at Ambiente in Frankfurt next February? We run two
        interior and tableware stores in Munich and have been looking for a
        Japanese supplier with a strong ceramics range.

        If you will be there, could we book a 30-minute meeting at your stand?
        Otherwise, a short video call in December would also work for us.

        Best regards,
        Markus Weber
        Weber Wohnkultur, München
        """)
    mail(
        box,
        "ambiente-meeting",
        d1,
        [
            ("Return-Path", "<markus.weber@example.com>"),
            received("smtp.example.com", "198.51.100.30", d1, rcpt, id1),
            ("Date", date(d1)),
            ("From", formataddr(("Markus Weber", "markus.weber@example.com"))),
            ("To", rcpt),
            ("Subject", subj),
            ("Message-ID", id1),
        ],
        text_part(b1, "UTF-8", "quoted-printable"),
        [("User-Agent", "Mozilla Thunderbird")],
    )


def main() -> None:
    support()
    sales()
    for box in ("support", "sales"):
        folder = HERE / box
        folder.mkdir(exist_ok=True)
        for old in folder.glob("*.eml"):
            old.unlink()
        items = sorted((m for m in MESSAGES if m[0] == box), key=lambda m: m[2])
        for n, (_, slug, _, raw) in enumerate(items, 1):
            (folder / f"{n:04d}-{slug}.eml").write_bytes(raw)
        print(f"{box}: {len(items)} messages")


if __name__ == "__main__":
    main()
