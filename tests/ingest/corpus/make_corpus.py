"""Writes the awkward-mail corpus byte-exact (CRLF); tests import build() and the originals.

Run: .venv/bin/python tests/ingest/corpus/make_corpus.py
"""

from __future__ import annotations

import base64
import hashlib
import io
import struct
import sys
import urllib.parse
import zipfile
import zlib
from pathlib import Path

HERE = Path(__file__).resolve().parent

# --- original attachment bytes (tests compare sha256 against these) ---------------------------

PDF_BYTES = (
    b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<< /Type /Catalog >>\nendobj\n"
    + bytes(range(256)) * 8
    + b"\r\n\r\n\x00\x00\r\r\n\n"
    + b"%%EOF\n"
)


def _zip_bytes() -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression=zipfile.ZIP_STORED) as zf:
        info = zipfile.ZipInfo("資料/説明.txt", date_time=(2024, 1, 10, 10, 0, 0))
        zf.writestr(info, "これは説明です。\r\n".encode())
        info = zipfile.ZipInfo("data.bin", date_time=(2024, 1, 10, 10, 0, 0))
        zf.writestr(info, bytes(range(256)))
    return buf.getvalue()


def _png_bytes() -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data))
            + kind
            + data
            + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
        )

    ihdr = struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0)
    idat = zlib.compress(b"\x00\xff\x00\x00", 9)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", idat) + chunk(b"IEND", b"")


ZIP_BYTES = _zip_bytes()
PNG_BYTES = _png_bytes()
GARBAGE_BYTES = b"".join(hashlib.sha256(bytes([i])).digest() for i in range(64))


# --- encoders ----------------------------------------------------------------------------------


def to_jis(text: str) -> bytes:
    """ISO-2022-JP as Outlook writes it (CP50220): cp932 bytes transformed to JIS, so NEC
    row 13 (①, ㈱) and NEC-selected IBM extensions (髙) are representable."""
    sj = text.encode("cp932")
    out = bytearray()
    mode_jis = False
    i = 0
    while i < len(sj):
        b = sj[i]
        if b < 0x80:
            if mode_jis:
                out += b"\x1b(B"
                mode_jis = False
            out.append(b)
            i += 1
            continue
        s1, s2 = b, sj[i + 1]
        i += 2
        if s1 >= 0xE0:
            s1 -= 0x40
        j1 = (s1 - 0x81) * 2 + 0x21
        if s2 >= 0x9F:
            j1 += 1
            j2 = s2 - 0x7E
        else:
            j2 = s2 - 0x1F - (1 if s2 >= 0x80 else 0)
        if not mode_jis:
            out += b"\x1b$B"
            mode_jis = True
        out += bytes((j1, j2))
    if mode_jis:
        out += b"\x1b(B"
    return bytes(out)


def ew(text: str, charset: str = "UTF-8", enc: str = "B") -> str:
    """One RFC 2047 encoded word."""
    if charset.upper() == "ISO-2022-JP":
        data = to_jis(text)
    else:
        data = text.encode("cp932" if charset.lower() == "shift_jis" else charset)
    if enc.upper() == "B":
        return f"=?{charset}?{enc}?{base64.b64encode(data).decode()}?="
    q = "".join(
        chr(b) if b < 0x80 and chr(b).isalnum() else "_" if b == 0x20 else f"={b:02X}" for b in data
    )
    return f"=?{charset}?{enc}?{q}?="


def b64(data: bytes) -> bytes:
    return base64.encodebytes(data).replace(b"\n", b"\r\n")


def crlf(data: bytes) -> bytes:
    return data.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")


def msg(
    headers: list[tuple[str, str | bytes]], body: bytes = b"", *, raw_body: bool = False
) -> bytes:
    lines = []
    for name, value in headers:
        value = value.encode("utf-8") if isinstance(value, str) else value
        lines.append(name.encode("ascii") + b": " + value)
    head = crlf(b"\n".join(lines) + b"\n\n")
    return head + (body if raw_body else crlf(body))


def std(
    subject: str, *, mid: str, frm: str = "Taro Yamada <taro@example.jp>"
) -> list[tuple[str, str | bytes]]:
    return [
        ("From", frm),
        ("To", "support@example.com"),
        ("Subject", subject),
        ("Date", "Wed, 10 Jan 2024 10:00:00 +0900"),
        ("Message-ID", f"<{mid}@example.jp>"),
        ("MIME-Version", "1.0"),
    ]


# --- the corpus --------------------------------------------------------------------------------

JA_BODY = "お世話になっております。\n注文番号12345の配送状況を教えてください。\n\n山田\n"
NEC_SUBJECT = "①②の件 ㈱髙橋商事"
NEC_BODY = "㈱髙橋商事の髙橋です。\n①注文の確認\n②配送の手配\nよろしくお願いいたします。\n"
SJIS_BODY = "ｶﾀｶﾅと漢字①と髙島屋。\n機種依存文字㈱も含みます。\n"
EUC_BODY = "日本語のテキストです。\n丸数字①も入っています。\n"
UTF8_QP_TEXT = "こんにちは、世界。\nThis line is long enough that the encoder has to wrap it with a soft line break here.\nno-break\u00a0space\n"
HTML_ONLY = (
    "<html><head><title>タイトル</title><style>p{color:red}</style></head><body>"
    "<p>お客様&nbsp;各位</p><p>ご注文&amp;お支払い&lt;確認&gt;のお知らせ&#12354;&copy;</p>"
    "<ul><li>商品A</li><li>商品B</li></ul>"
    '<p>詳細は<a href="https://shop.example.jp/orders/1">こちら</a>をご覧ください。<br>'
    "以上</p><script>alert(1)</script></body></html>"
)
XSS_HTML = (
    '<html><head><meta http-equiv="refresh" content="0;url=https://evil.example/">'
    '<base href="https://evil.example/"><style>body{background:url(javascript:alert(1))}</style>'
    "</head><body onload=\"alert('body')\">"
    "<p>Hello <b>there</b></p><script>alert('xss')</script>"
    '<img src="https://img.example/x.png" onerror="alert(\'img\')">'
    '<img src="javascript:alert(1)"><img src="data:image/svg+xml;base64,PHN2Zz4=">'
    '<a href="javascript:alert(\'link\')">click</a> <a href="JaVaScRiPt:alert(2)">click2</a>'
    '<a href="https://ok.example/">safe link</a>'
    "<div style=\"width: expression(alert('css')); color: red\">styled</div>"
    '<svg onload="alert(\'svg\')"><circle r="1"/></svg>'
    '<iframe src="https://evil.example/frame"></iframe>'
    '<form action="https://evil.example/steal"><input name="password"><button>Go</button></form>'
    '<object data="https://evil.example/x.swf"></object><embed src="https://evil.example/e">'
    "<p onclick=\"alert('p')\">end</p></body></html>"
)


def build() -> dict[str, bytes]:
    c: dict[str, bytes] = {}

    c["iso2022jp_plain"] = msg(
        [
            ("From", f"{ew('山田太郎', 'ISO-2022-JP')} <taro@example.jp>"),
            ("To", "support@example.com"),
            ("Subject", ew("お問い合わせ：配送について", "ISO-2022-JP")),
            ("Date", "Wed, 10 Jan 2024 10:00:00 +0900"),
            ("Message-ID", "<plain-1@example.jp>"),
            ("MIME-Version", "1.0"),
            ("Content-Type", "text/plain; charset=ISO-2022-JP"),
            ("Content-Transfer-Encoding", "7bit"),
        ],
        to_jis(JA_BODY),
    )

    c["iso2022jp_nec_extensions"] = msg(
        [
            *std(ew(NEC_SUBJECT, "ISO-2022-JP"), mid="nec-1"),
            ("Content-Type", 'text/plain; charset="iso-2022-jp"'),
            ("Content-Transfer-Encoding", "7bit"),
        ],
        to_jis(NEC_BODY),
    )

    c["shift_jis_8bit"] = msg(
        [
            *std(ew("シフトJISの件名①", "Shift_JIS"), mid="sjis-1"),
            ("Content-Type", "text/plain; charset=Shift_JIS"),
            ("Content-Transfer-Encoding", "8bit"),
        ],
        SJIS_BODY.encode("cp932"),
    )

    c["euc_jp"] = msg(
        [
            *std(ew("EUCの件名", "EUC-JP"), mid="euc-1"),
            ("Content-Type", "text/plain; charset=EUC-JP"),
            ("Content-Transfer-Encoding", "8bit"),
        ],
        EUC_BODY.encode("euc_jis_2004"),
    )

    import quopri

    c["utf8_qp"] = msg(
        [
            *std(ew("品質 テスト", "utf-8", "Q"), mid="qp-1"),
            ("Content-Type", "text/plain; charset=utf-8"),
            ("Content-Transfer-Encoding", "quoted-printable"),
        ],
        quopri.encodestring(UTF8_QP_TEXT.encode()),
    )

    c["iso2022jp_missing_charset"] = msg(
        [
            *std(ew("文字コード指定なし", "ISO-2022-JP"), mid="nocs-1"),
            ("Content-Type", "text/plain"),
            ("Content-Transfer-Encoding", "7bit"),
        ],
        to_jis("文字コードの指定がない本文です。\n"),
    )

    c["declared_iso2022jp_really_utf8"] = msg(
        [
            *std(ew("ラベル違い", "ISO-2022-JP"), mid="mislabel-1"),
            ("Content-Type", "text/plain; charset=ISO-2022-JP"),
            ("Content-Transfer-Encoding", "8bit"),
        ],
        "実際はUTF-8の本文です。\n".encode(),
    )

    c["declared_ascii_8bit_utf8"] = msg(
        [
            *std("ASCII label, UTF-8 body", mid="mislabel-2"),
            ("Content-Type", "text/plain; charset=us-ascii"),
            ("Content-Transfer-Encoding", "8bit"),
        ],
        "Grüße aus München – 東京より\n".encode(),
    )

    c["declared_sjis_really_utf8"] = msg(
        [
            *std(ew("シフトJISと宣言", "UTF-8"), mid="mislabel-3"),
            ("Content-Type", "text/plain; charset=Shift_JIS"),
            ("Content-Transfer-Encoding", "8bit"),
        ],
        "宣言はShift_JISですが中身はUTF-8です。\n".encode(),
    )

    subj = "日本語の件名".encode()
    w1 = base64.b64encode(subj[:4]).decode()  # 日 + first byte of 本
    w2 = base64.b64encode(subj[4:]).decode()
    c["rfc2047_split_multibyte"] = msg(
        [
            ("From", "=?UTF-8?Q?=E5=B1=B1?= =?UTF-8?Q?=E7=94=B0?= <yamada@example.jp>"),
            ("To", "support@example.com"),
            ("Subject", f"=?UTF-8?B?{w1}?=\r\n =?UTF-8?B?{w2}?="),
            ("Date", "Wed, 10 Jan 2024 10:00:00 +0900"),
            ("Message-ID", "<split-1@example.jp>"),
            ("MIME-Version", "1.0"),
            ("Content-Type", "text/plain; charset=utf-8"),
        ],
        b"split\n",
    )

    jis_utf8 = base64.b64encode("山田".encode()).decode()
    c["rfc2047_malformed"] = msg(
        [
            ("From", f"=?ISO-2022-JP?B?{jis_utf8}?= <yamada@example.jp>"),
            (
                "To",
                f"=?iso-2022-jp?b?{base64.b64encode(to_jis('サポート')).decode()}?= <support@example.com>",
            ),
            (
                "Subject",
                "=?utf-8?q?caf=C3=A9 au lait?= =?x-unknown-8bit?B?5pel5pys6Kqe?= =?UTF-8?b?44OG44K544OI",
            ),
            ("Date", "2024年1月10日 10時00分"),
            ("Message-ID", "<malformed-1@example.jp>"),
            ("MIME-Version", "1.0"),
            ("Content-Type", "text/plain; charset=utf-8"),
        ],
        b"body\n",
    )

    c["raw_8bit_subject_sjis"] = msg(
        [
            ("From", "shop@example.jp"),
            ("To", "support@example.com"),
            ("Subject", "【重要】ご注文の確認".encode("cp932")),
            ("Date", "Wed, 10 Jan 2024 10:00:00 +0900"),
            ("Message-ID", "<raw-sjis-1@example.jp>"),
            ("Content-Type", "text/plain; charset=Shift_JIS"),
            ("Content-Transfer-Encoding", "8bit"),
        ],
        "本文もシフトJISです。\n".encode("cp932"),
    )

    c["raw_8bit_from_utf8"] = msg(
        [
            ("From", "山田 太郎 <yamada@example.jp>".encode()),
            ("To", "サポート窓口 <support@example.com>, 佐藤 <sato@example.com>".encode()),
            ("Subject", "Raw UTF-8 in From"),
            ("Date", "Wed, 10 Jan 2024 10:00:00 +0900"),
            ("Message-ID", "<raw-utf8-1@example.jp>"),
            ("Content-Type", "text/plain; charset=utf-8"),
            ("Content-Transfer-Encoding", "8bit"),
        ],
        "本文\n".encode(),
    )

    q1 = urllib.parse.quote("見積書.pdf".encode())
    q2a = urllib.parse.quote("請求".encode())
    q2b = urllib.parse.quote("書_2024年1月.csv".encode())
    c["rfc2231_filename_japanese"] = msg(
        [
            *std("RFC 2231 filenames", mid="rfc2231-1"),
            ("Content-Type", 'multipart/mixed; boundary="b1"'),
        ],
        (
            "--b1\nContent-Type: text/plain; charset=utf-8\n\n添付します。\n"
            "--b1\nContent-Type: application/pdf\nContent-Transfer-Encoding: base64\n"
            f"Content-Disposition: attachment;\n filename*=UTF-8''{q1}\n\n"
        ).encode()
        + b64(PDF_BYTES).replace(b"\r\n", b"\n")
        + (
            "--b1\nContent-Type: text/csv; charset=utf-8\nContent-Transfer-Encoding: base64\n"
            f"Content-Disposition: attachment;\n filename*0*=UTF-8''{q2a};\n filename*1*={q2b}\n\n"
        ).encode()
        + base64.encodebytes(b"a,b\n1,2\n")
        + b"--b1--\n",
    )

    fn = ew("注文書①.pdf", "ISO-2022-JP")
    c["rfc2047_filename"] = msg(
        [
            *std("RFC 2047 filename", mid="rfc2047fn-1"),
            ("Content-Type", 'multipart/mixed; boundary="b2"'),
        ],
        (
            "--b2\nContent-Type: text/plain; charset=utf-8\n\nsee attached\n"
            f'--b2\nContent-Type: application/pdf; name="{fn}"\n'
            f'Content-Disposition: attachment; filename="{fn}"\nContent-Transfer-Encoding: base64\n\n'
        ).encode()
        + b64(PDF_BYTES).replace(b"\r\n", b"\n")
        + b"--b2--\n",
    )

    c["html_only"] = msg(
        [
            *std(ew("HTMLのみ", "UTF-8"), mid="html-1"),
            ("Content-Type", "text/html; charset=utf-8"),
            ("Content-Transfer-Encoding", "base64"),
        ],
        b64(HTML_ONLY.encode()),
    )

    related_html = '<p>ロゴです：<img src="cid:logo@example.jp" alt="logo"></p>'
    c["multipart_related_cid"] = msg(
        [
            *std("Inline image", mid="cid-1"),
            ("Content-Type", 'multipart/alternative; boundary="alt"'),
        ],
        (
            "--alt\nContent-Type: text/plain; charset=utf-8\n\nロゴです：[logo]\n"
            '--alt\nContent-Type: multipart/related; boundary="rel"; type="text/html"\n\n'
            "--rel\nContent-Type: text/html; charset=utf-8\nContent-Transfer-Encoding: 8bit\n\n"
            f"{related_html}\n"
            '--rel\nContent-Type: image/png; name="logo.png"\nContent-Transfer-Encoding: base64\n'
            'Content-ID: <logo@example.jp>\nContent-Disposition: inline; filename="logo.png"\n\n'
        ).encode()
        + b64(PNG_BYTES).replace(b"\r\n", b"\n")
        + b"--rel--\n--alt--\n",
    )

    c["attachments_binary"] = msg(
        [
            *std("Binary attachments", mid="bin-1"),
            ("Content-Type", 'multipart/mixed; boundary="=_bin_="'),
        ],
        (
            "This is a multi-part message in MIME format.\n"
            "--=_bin_=\nContent-Type: text/plain; charset=utf-8\n\n資料を送ります。\n"
            "--=_bin_=\nContent-Type: application/pdf\nContent-Transfer-Encoding: base64\n"
            f"Content-Disposition: attachment; filename*=utf-8''{urllib.parse.quote('仕様書.pdf'.encode())}\n\n"
        ).encode()
        + b64(PDF_BYTES).replace(b"\r\n", b"\n")
        + (
            f'--=_bin_=\nContent-Type: application/zip; name="{ew("資料一式.zip", "ISO-2022-JP")}"\n'
            "Content-Transfer-Encoding: base64\nContent-Disposition: attachment\n\n"
        ).encode()
        + b64(ZIP_BYTES).replace(b"\r\n", b"\n")
        + b"--=_bin_=--\n",
    )

    pdf64 = b64(PDF_BYTES).replace(b"\r\n", b"\n")
    c["truncated_mime"] = msg(
        [
            *std("Truncated", mid="trunc-1"),
            ("Content-Type", 'multipart/mixed; boundary="t1"'),
        ],
        (
            b"--t1\nContent-Type: text/plain; charset=utf-8\n\nThe attachment is cut off.\n"
            b"--t1\nContent-Type: application/pdf\nContent-Transfer-Encoding: base64\n"
            b'Content-Disposition: attachment; filename="cut.pdf"\n\n'
        )
        + pdf64[:1003],  # mid-line, mid-quantum, no closing boundary
    )

    c["missing_boundary"] = msg(
        [
            *std("Missing boundary", mid="nob-1"),
            ("Content-Type", "multipart/mixed"),
        ],
        (
            "--XyZ123\nContent-Type: text/plain; charset=utf-8\n\n境界がありません。\n"
            '--XyZ123\nContent-Type: application/pdf\nContent-Disposition: attachment; filename="a.pdf"\n'
            "Content-Transfer-Encoding: base64\n\n"
        ).encode()
        + pdf64
        + b"--XyZ123--\n",
    )

    c["no_headers_garbage"] = GARBAGE_BYTES

    c["auto_reply_ooo"] = msg(
        [
            *std("Automatic reply: Your order", mid="ooo-1", frm="Pat Doe <pat@example.com>"),
            ("Auto-Submitted", "auto-replied"),
            ("X-Auto-Response-Suppress", "All"),
            ("Content-Type", "text/plain; charset=utf-8"),
        ],
        b"I am out of the office until Monday.\n",
    )

    c["auto_reply_japanese"] = msg(
        [
            *std(ew("自動応答：お問い合わせありがとうございます", "ISO-2022-JP"), mid="ooo-ja-1"),
            ("Content-Type", "text/plain; charset=ISO-2022-JP"),
        ],
        to_jis("このメールは自動送信されています。\n"),
    )

    original = msg(
        [
            ("From", "support@example.com"),
            ("To", "nobody@invalid.example"),
            ("Subject", ew("[#1234] 配送について", "ISO-2022-JP")),
            ("Message-ID", "<orig-1@example.com>"),
        ],
        b"original body\n",
    )
    c["bounce_dsn"] = msg(
        [
            ("Return-Path", "<>"),
            ("From", "MAILER-DAEMON@mx.example.com (Mail Delivery System)"),
            ("To", "support@example.com"),
            ("Subject", "Undelivered Mail Returned to Sender"),
            ("Date", "Wed, 10 Jan 2024 10:05:00 +0900"),
            ("Message-ID", "<dsn-1@mx.example.com>"),
            ("MIME-Version", "1.0"),
            ("Content-Type", 'multipart/report; report-type=delivery-status; boundary="dsn"'),
        ],
        b"--dsn\nContent-Type: text/plain; charset=us-ascii\n\n"
        b"I'm sorry to have to inform you that your message could not be delivered.\n"
        b"<nobody@invalid.example>: host not found\n"
        b"--dsn\nContent-Type: message/delivery-status\n\n"
        b"Reporting-MTA: dns; mx.example.com\n\n"
        b"Final-Recipient: rfc822; nobody@invalid.example\nAction: failed\nStatus: 5.1.2\n\n"
        b"--dsn\nContent-Type: message/rfc822\n\n"
        + original.replace(b"\r\n", b"\n")
        + b"--dsn--\n",
    )

    c["bulk_list"] = msg(
        [
            *std("Weekly newsletter", mid="bulk-1", frm="News <news@lists.example.com>"),
            ("List-Id", "Example News <news.lists.example.com>"),
            (
                "List-Unsubscribe",
                "<https://lists.example.com/unsub?u=1>, <mailto:unsub@lists.example.com>",
            ),
            ("Precedence", "bulk"),
            ("Content-Type", "text/plain; charset=utf-8"),
        ],
        b"This week's news.\n",
    )

    c["reply_with_quote_ja"] = msg(
        [
            *std(ew("Re: 配送日について", "ISO-2022-JP"), mid="reply-ja-1"),
            ("In-Reply-To", "<orig-2@example.com>"),
            ("References", "<orig-1@example.com> <orig-2@example.com>"),
            ("Content-Type", "text/plain; charset=ISO-2022-JP"),
        ],
        to_jis(
            "佐藤様\n\nご連絡ありがとうございます。\n承知しました。明日発送いたします。\n\n"
            "山田太郎さんは書きました:\n> 配送日を変更できますか？\n> よろしくお願いします。\n"
        ),
    )

    c["reply_outlook_ja"] = msg(
        [
            *std(ew("RE: 配送について", "UTF-8"), mid="reply-ol-1"),
            ("Content-Type", "text/plain; charset=utf-8"),
            ("Content-Transfer-Encoding", "base64"),
        ],
        b64(
            (
                "お世話になっております。\n再送いたします。\n\n"
                "-----Original Message-----\n差出人: 山田 太郎 <taro@example.jp>\n"
                "送信日時: 2024年1月10日 10:00\n宛先: support@example.com\n件名: 配送について\n\n"
                "元の本文です。\n"
            ).encode()
        ),
    )

    c["reply_subject_prefixes"] = msg(
        [
            *std(ew("RE：Re[2]: 返信: 転送: Fwd: 見積もりの件", "UTF-8"), mid="prefix-1"),
            ("Content-Type", "text/plain; charset=utf-8"),
        ],
        b"prefixes\n",
    )

    c["ticket_token_subject"] = msg(
        [
            *std(ew("Re: [#1234] 配送について", "ISO-2022-JP"), mid="token-1"),
            ("In-Reply-To", "<t-2@support.example.com> (message from support)"),
            (
                "References",
                "<t-1@support.example.com>\r\n <t-2@support.example.com>\r\n\t<t-1@support.example.com>",
            ),
            ("Content-Type", "text/plain; charset=utf-8"),
        ],
        b"token\n",
    )

    c["xss_html"] = msg(
        [
            *std("XSS", mid="xss-1"),
            ("Content-Type", 'multipart/alternative; boundary="x"'),
        ],
        (
            "--x\nContent-Type: text/plain; charset=utf-8\n\nHello there\n"
            "--x\nContent-Type: text/html; charset=utf-8\n\n" + XSS_HTML + "\n--x--\n"
        ).encode(),
    )

    c["forwarded_rfc822"] = msg(
        [
            *std(ew("Fwd: 元のメール"), mid="fwd-1"),
            ("Content-Type", 'multipart/mixed; boundary="f"'),
        ],
        b"--f\nContent-Type: text/plain; charset=utf-8\n\nFYI\n"
        b"--f\nContent-Type: message/rfc822\nContent-Disposition: attachment\n\n"
        + original.replace(b"\r\n", b"\n")
        + b"--f--\n",
    )
    c.update(_mailread().build(msg=msg, ew=ew, to_jis=to_jis, std=std))
    return c


def _mailread():  # a module loaded by path, like this one
    import importlib.util

    spec = importlib.util.spec_from_file_location("mailread_corpus", HERE / "mailread_corpus.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def main() -> int:
    for name, data in build().items():
        (HERE / f"{name}.eml").write_bytes(data)
    return 0


if __name__ == "__main__":
    sys.exit(main())
