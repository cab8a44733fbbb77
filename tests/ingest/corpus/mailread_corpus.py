"""Corpus part two: mail that is not Japanese-first, and the odd shapes real mailers send.

Raw 8-bit headers in European, Cyrillic, Chinese and Korean charsets; UTF-7 and charset
aliases; carrier emoji; attachment names as really sent; broken encoded words; broken MIME
structure around the text part. Written by make_corpus.py (which passes its helpers in);
EXPECTED holds what each message must read as (subject, sender, text, attachment names).
"""

from __future__ import annotations

import base64
import urllib.parse
from collections.abc import Callable
from typing import Any

JA = "お問い合わせありがとうございます。"

EXPECTED: dict[str, dict[str, Any]] = {
    "raw8bit_latin1_nohint": {
        "subject": "Bestellung für Jürgen – Größe ändern",
        "from": ("Jürgen Müller", "juergen@example.de"),
        "text": "Sehr geehrte Damen und Herren,\nich möchte die Größe meiner Bestellung ändern.\nGrüße aus München",
        "attachments": [],
    },
    "raw8bit_german_subject_only": {
        "subject": "Lösung gesucht",
        "from": ("Jörg Böse", "joerg@example.de"),
        "text": "Please help.",
        "attachments": [],
    },
    "raw8bit_latin1_declared_body": {
        "subject": "Réservation confirmée – élève",
        "from": ("Élodie Côté", "elodie@example.fr"),
        "text": "Bonjour, la réservation de l'élève est confirmée. À bientôt !",
        "attachments": [],
    },
    "raw8bit_koi8r": {
        "subject": "Заказ номер 15 не пришёл",
        "from": ("Иван Петров", "ivan@example.ru"),
        "text": "Здравствуйте! Мой заказ до сих пор не пришёл.",
        "attachments": [],
    },
    "raw8bit_cp1251_undeclared": {
        "subject": "Вопрос о доставке",
        "from": ("Ольга", "olga@example.ru"),
        "text": "Добрый день. Когда будет доставка моего заказа? Спасибо.",
        "attachments": [],
    },
    "raw8bit_gb2312": {
        "subject": "订单查询：我的包裹还没有到",
        "from": ("王小明", "wang@example.cn"),
        "text": "您好，我的订单还没有到，请帮我查一下。谢谢！",
        "attachments": [],
    },
    "raw8bit_big5": {
        "subject": "訂單查詢：我的包裹還沒有到",
        "from": ("陳大文", "chan@example.tw"),
        "text": "您好，我的訂單還沒有到，請幫我查一下。謝謝！",
        "attachments": [],
    },
    "raw8bit_euckr": {
        "subject": "주문 문의: 아직 도착하지 않았습니다",
        "from": ("김민수", "kim@example.kr"),
        "text": "안녕하세요. 주문한 상품이 아직 도착하지 않았습니다. 확인 부탁드립니다.",
        "attachments": [],
    },
    "utf7_everywhere": {
        "subject": "Grüße – 日本語の件名",
        "from": ("山田 Taro", "taro@example.jp"),
        "text": "UTF-7で書かれた本文です。Grüße!",
        "attachments": [],
    },
    "charset_aliases": {
        "subject": "Aliases",
        "from": ("Taro Yamada", "taro@example.jp"),
        "text": "訂單\n\n주문\n\nПривет\n\nCafé",
        "attachments": [],
    },
    "emoji_docomo_sjis": {
        "subject": "晴れ☀",
        "from": ("花子", "hanako@docomo.ne.jp"),
        "text": "今日は☀、明日は☔です😃",
        "attachments": [],
        "codes": ["docomo Shift_JIS F89F → ☀", "docomo Shift_JIS F8A1 → ☔", "docomo Shift_JIS F995 → 😃"],
    },
    "emoji_au_iso2022jp": {
        "subject": "お知らせ⚠",
        "from": ("太郎", "taro@ezweb.ne.jp"),
        "text": "今日は☀です。🍂の季節。",
        "attachments": [],
        "codes": ["au ISO-2022-JP 753A → ⚠", "au ISO-2022-JP 7541 → ☀", "au ISO-2022-JP 7921 → 🍂"],
    },
    "emoji_softbank_sjis": {
        "subject": "天気☀",
        "from": ("次郎", "jiro@softbank.ne.jp"),
        "text": "こんにちは👦😥😄",
        "attachments": [],
        "codes": ["softbank U+E04A → ☀", "softbank Shift_JIS F941 → 👦", "softbank Shift_JIS FB41 → 😥"],
    },
    "emoji_docomo_utf8_unknown_sender": {
        "subject": "UTF-8の絵文字",
        "from": ("Taro Yamada", "taro@example.jp"),
        "text": "晴れ☀のち☁",
        "attachments": [],
        "codes": ["docomo U+E63E → ☀", "docomo U+E63F → ☁"],
    },
    "filename_raw_bytes": {
        "subject": "Raw names",
        "from": ("Taro Yamada", "taro@example.jp"),
        "text": "三つの添付です。",
        "attachments": ["見積書.pdf", "請求書.xlsx", "納品書.pdf"],
    },
    "filename_quotes_and_continuations": {
        "subject": "Odd names",
        "from": ("Taro Yamada", "taro@example.jp"),
        "text": "名前の変わった添付です。",
        "attachments": [
            "見積書.pdf",
            "report 2024.pdf",
            "注文書_2024年1月.pdf",
            "御見積書_最終版.pdf",
            "仕様書.docx",
            "attachment-6.bin",
        ],
    },
    "ew_broken_words": {
        "subject": "【重要】ご注文の確認について",
        "from": ("山田太郎", "yamada@example.jp"),
        "to": [("佐藤, 花子", "hanako@example.jp"), ("", "support@example.com"), ("鈴木", "suzuki@example.jp")],
        "text": "本文です。",
        "attachments": [],
    },
    "body_after_bad_part": {
        "subject": "Broken structure",
        "from": ("Taro Yamada", "taro@example.jp"),
        "text": "壊れた部分の後の本文です。",
        "attachments": ["a.pdf"],
    },
    "body_in_preamble": {
        "subject": "Text before the boundary",
        "from": ("Taro Yamada", "taro@example.jp"),
        "text": "境界の前に書かれた本文です。\nよろしくお願いします。",
        "attachments": ["a.pdf"],
    },
    "body_only_named_inline_part": {
        "subject": "Named text part",
        "from": ("Taro Yamada", "taro@example.jp"),
        "text": "名前付きの本文パートです。",
        "attachments": ["body.txt", "a.pdf"],
    },
    "body_nested_boundary_mismatch": {
        "subject": "Nested mismatch",
        "from": ("Taro Yamada", "taro@example.jp"),
        "text": "入れ子の境界が違います。",
        "attachments": [],
    },
}


def build(
    *,
    msg: Callable[..., bytes],
    ew: Callable[..., str],
    to_jis: Callable[[str], bytes],
    std: Callable[..., list[tuple[str, str | bytes]]],
) -> dict[str, bytes]:
    c: dict[str, bytes] = {}

    def head(subject: str | bytes, frm: str | bytes, mid: str) -> list[tuple[str, str | bytes]]:
        return [
            ("From", frm),
            ("To", "support@example.com"),
            ("Subject", subject),
            ("Date", "Wed, 10 Jan 2024 10:00:00 +0100"),
            ("Message-ID", f"<{mid}@example.org>"),
            ("MIME-Version", "1.0"),
        ]

    def expect(name: str) -> dict[str, Any]:
        return EXPECTED[name]

    # --- 1. unlabelled 8-bit headers and bodies ------------------------------------------------
    e = expect("raw8bit_latin1_nohint")
    c["raw8bit_latin1_nohint"] = msg(
        [
            *head(e["subject"].encode("cp1252"), "Jürgen Müller <juergen@example.de>".encode("cp1252"), "de-1"),
            ("Content-Type", "text/plain"),
            ("Content-Transfer-Encoding", "8bit"),
        ],
        e["text"].encode("cp1252") + b"\n",
    )
    e = expect("raw8bit_german_subject_only")  # as cp932, "ös" is U+E49B (user-defined area)
    c["raw8bit_german_subject_only"] = msg(
        [*head(e["subject"].encode("latin-1"), "Jörg Böse <joerg@example.de>".encode("latin-1"), "de-2")],
        b"Please help.\n",
    )
    e = expect("raw8bit_latin1_declared_body")
    c["raw8bit_latin1_declared_body"] = msg(
        [
            *head(e["subject"].encode("cp1252"), "Élodie Côté <elodie@example.fr>".encode("cp1252"), "fr-1"),
            ("Content-Type", "text/plain; charset=iso-8859-1"),
            ("Content-Transfer-Encoding", "quoted-printable"),
        ],
        b"Bonjour, la r=E9servation de l'=E9l=E8ve est confirm=E9e. =C0 bient=F4t !\n",
    )
    for name, cs, language, declare in [
        ("raw8bit_koi8r", "koi8-r", None, True),
        ("raw8bit_cp1251_undeclared", "cp1251", None, False),
        ("raw8bit_gb2312", "gb2312", None, True),
        ("raw8bit_big5", "big5", "zh-TW", True),
        ("raw8bit_euckr", "euc-kr", "ko", False),
    ]:
        e = expect(name)
        frm = f"{e['from'][0]} <{e['from'][1]}>".encode(cs)
        headers = head(e["subject"].encode(cs), frm, name)
        if language:
            headers.append(("Content-Language", language))
        headers.append(("Content-Type", f"text/plain; charset={cs}" if declare else "text/plain"))
        headers.append(("Content-Transfer-Encoding", "8bit"))
        c[name] = msg(headers, e["text"].encode(cs) + b"\n")

    # --- 2. UTF-7 and charset aliases ----------------------------------------------------------
    def utf7_word(text: str) -> str:
        return f"=?UTF-7?B?{base64.b64encode(text.encode('utf-7')).decode()}?="

    e = expect("utf7_everywhere")
    c["utf7_everywhere"] = msg(
        [
            *head(utf7_word(e["subject"]), f"{utf7_word('山田 Taro')} <taro@example.jp>", "utf7-1"),
            ("Content-Type", 'text/plain; charset="unicode-1-1-utf-7"'),
            ("Content-Transfer-Encoding", "7bit"),
        ],
        e["text"].encode("utf-7") + b"\n",
    )
    parts = [
        ("x-x-big5", "訂單".encode("big5")),
        ("ks_c_5601-1989", "주문".encode("euc-kr")),
        ("x-mac-cyrillic", "Привет".encode("mac-cyrillic")),
        ("x-cp1252", "Café".encode("cp1252")),
    ]
    body = b"".join(
        b"--al\nContent-Type: text/plain; charset=" + cs.encode() + b"\n"
        b"Content-Transfer-Encoding: base64\n\n" + base64.b64encode(data) + b"\n"
        for cs, data in parts
    )
    c["charset_aliases"] = msg(
        [*std("Aliases", mid="alias-1"), ("Content-Type", 'multipart/mixed; boundary="al"')],
        body + b"--al--\n",
    )

    # --- 3. carrier pictographs ------------------------------------------------------------
    def sj(text: str, codes: dict[str, bytes]) -> bytes:
        out = text.encode("cp932")
        for marker, code in codes.items():
            out = out.replace(marker.encode("cp932"), code)
        return out

    docomo = {"＃": b"\xf8\x9f", "＄": b"\xf8\xa1", "％": b"\xf9\x95"}
    c["emoji_docomo_sjis"] = msg(
        [
            *head(
                f"=?Shift_JIS?B?{base64.b64encode(sj('晴れ＃', docomo)).decode()}?=",
                f"{ew('花子')} <hanako@docomo.ne.jp>",
                "docomo-1",
            ),
            ("Content-Type", "text/plain; charset=Shift_JIS"),
            ("Content-Transfer-Encoding", "8bit"),
        ],
        sj("今日は＃、明日は＄です％", docomo) + b"\n",
    )

    def au_jis(text: str, codes: dict[str, bytes]) -> bytes:
        out = to_jis(text)
        for marker, code in codes.items():
            out = out.replace(to_jis(marker)[3:-3], code)
        return out

    au = {"＃": b"\x75\x41", "＄": b"\x79\x21", "％": b"\x75\x3a"}
    c["emoji_au_iso2022jp"] = msg(
        [
            *head(
                f"=?ISO-2022-JP?B?{base64.b64encode(au_jis('お知らせ％', au)).decode()}?=",
                f"{ew('太郎', 'ISO-2022-JP')} <taro@ezweb.ne.jp>",
                "au-1",
            ),
            ("Content-Type", "text/plain; charset=ISO-2022-JP"),
            ("Content-Transfer-Encoding", "7bit"),
        ],
        au_jis("今日は＃です。＄の季節。", au) + b"\n",
    )
    softbank = {"＃": b"\xf9\x41", "＄": b"\xfb\x41", "％": b"\xfb\x55"}
    c["emoji_softbank_sjis"] = msg(
        [
            *head(ew("天気\ue04a"), f"{ew('次郎')} <jiro@softbank.ne.jp>", "sb-1"),
            ("Content-Type", "text/plain; charset=Shift_JIS"),
            ("Content-Transfer-Encoding", "8bit"),
        ],
        sj("こんにちは＃＄％", softbank) + b"\n",
    )
    c["emoji_docomo_utf8_unknown_sender"] = msg(
        [
            *std(ew("UTF-8の絵文字"), mid="utf8-emoji-1"),
            ("Content-Type", "text/plain; charset=utf-8"),
            ("Content-Transfer-Encoding", "8bit"),
        ],
        "晴れ\ue63eのち\ue63f\n".encode(),
    )

    # --- 4. attachment names as really sent ---------------------------------------------------
    def part(disposition: bytes, ctype: bytes = b"application/pdf") -> bytes:
        return (
            b"--p\nContent-Type: " + ctype + b"\nContent-Disposition: " + disposition
            + b"\nContent-Transfer-Encoding: base64\n\nJVBERi0xLjQK\n"
        )

    def pct(data: bytes) -> bytes:
        return urllib.parse.quote_from_bytes(data, safe="").encode()

    text_part = lambda text: (  # noqa: E731
        b"--p\nContent-Type: text/plain; charset=utf-8\n\n" + text.encode() + b"\n"
    )
    c["filename_raw_bytes"] = msg(
        [*std("Raw names", mid="names-1"), ("Content-Type", 'multipart/mixed; boundary="p"')],
        text_part("三つの添付です。")
        + part(b'attachment; filename="' + to_jis("見積書") + b'.pdf"')
        + part(b'attachment; filename="' + "請求書.xlsx".encode("cp932") + b'"', b"application/octet-stream")
        + part(b'attachment; filename="' + "納品書.pdf".encode() + b'"')
        + b"--p--\n",
    )
    c["filename_quotes_and_continuations"] = msg(
        [*std("Odd names", mid="names-2"), ("Content-Type", 'multipart/mixed; boundary="p"')],
        text_part("名前の変わった添付です。")
        + part(b'attachment; filename=""' + "見積書.pdf".encode() + b'""')
        + part(b'attachment; filename="report 2024.pdf')
        + part(
            b"attachment;\n filename*0*=UTF-8''%E6%B3%A8%E6%96%87%E6%9B%B8;\n"
            b" filename*1*=%5F2024%E5%B9%B4;\n filename*2=\"1\xe6\x9c\x88.pdf\""
        )
        + part(
            b"attachment;\n filename*0*=ISO-2022-JP''" + pct(to_jis("御見積書") + b"_") + b";\n"
            b" filename*1*=utf-8''" + pct("最終版.pdf".encode())
        )
        + part(
            b"inline",
            b'application/vnd.openxmlformats-officedocument.wordprocessingml.document;\n name="'
            + ew("仕様書.docx").encode()
            + b'"',
        )
        + part(b"attachment", b"application/octet-stream")
        + b"--p--\n",
    )

    # --- 5. broken encoded words --------------------------------------------------------------
    subj = to_jis("【重要】ご注文の確認について")
    cuts = [subj[:2], subj[2:10], subj[10:]]  # inside "ESC $ B", then inside a character
    name = "山田太郎".encode()
    c["ew_broken_words"] = msg(
        [
            (
                "From",
                f"=?UTF-8?B?{base64.b64encode(name[:4]).decode()}?= "
                f"=?utf8?B?{base64.b64encode(name[4:]).decode()}?= <yamada@example.jp>",
            ),
            (
                "To",
                f'"{ew("佐藤, 花子")}" <hanako@example.jp>, support@example.com,\n'
                f" =?ISO-8859-1?B?{base64.b64encode('鈴木'.encode()).decode()} <suzuki@example.jp>",
            ),
            (
                "Subject",
                f"=?ISO-2022-JP?B?{base64.b64encode(cuts[0]).decode()}?=\n"
                f" =?iso-2022-jp?B?{base64.b64encode(cuts[1]).decode()}?="
                f"=?ISO-2022-JP?B?{base64.b64encode(cuts[2]).decode()}?=",
            ),
            ("Date", "Wed, 10 Jan 2024 10:00:00 +0900"),
            ("Message-ID", "<ew-1@example.jp>"),
            ("MIME-Version", "1.0"),
            ("Content-Type", "text/plain; charset=utf-8"),
        ],
        "本文です。\n".encode(),
    )

    # --- 6. body choice in broken structure ---------------------------------------------------
    c["body_after_bad_part"] = msg(
        [*std("Broken structure", mid="bad-1"), ("Content-Type", 'multipart/mixed; boundary="b"')],
        b"--b\nContent-Type: multipart/alternative\n\n"  # no boundary, no delimiter: empty
        b"--b\nContent-Type: application/pdf\nContent-Transfer-Encoding: base64\n"
        b'Content-Disposition: attachment; filename="a.pdf"\n\nJVBERi0x###LjQK\n'
        b"--b\nContent-Type: text/plain; charset=utf-8\nContent-Transfer-Encoding: base64\n\n"
        + base64.b64encode("壊れた部分の後の本文です。\n".encode())
        + b"\n--b--\n",
    )
    c["body_in_preamble"] = msg(
        [
            *std("Text before the boundary", mid="bad-3"),
            ("Content-Type", 'multipart/mixed; boundary="b"'),
        ],
        b"This is a multi-part message in MIME format.\n"
        + "境界の前に書かれた本文です。\nよろしくお願いします。\n".encode()
        + b"--b\nContent-Type: application/pdf\nContent-Transfer-Encoding: base64\n"
        b'Content-Disposition: attachment; filename="a.pdf"\n\nJVBERi0xLjQK\n--b--\n',
    )
    c["body_only_named_inline_part"] = msg(
        [*std("Named text part", mid="bad-4"), ("Content-Type", 'multipart/mixed; boundary="b"')],
        b'--b\nContent-Type: text/plain; charset=iso-2022-jp; name="body.txt"\n\n'
        + to_jis("名前付きの本文パートです。")
        + b"\n--b\nContent-Type: application/pdf\nContent-Transfer-Encoding: base64\n"
        b'Content-Disposition: attachment; filename="a.pdf"\n\nJVBERi0xLjQK\n--b--\n',
    )
    c["body_nested_boundary_mismatch"] = msg(
        [*std("Nested mismatch", mid="bad-2"), ("Content-Type", 'multipart/mixed; boundary="outer"')],
        b'--outer\nContent-Type: multipart/alternative; boundary="declared"\n\n'
        b"--actual\nContent-Type: text/plain; charset=utf-8\n\n"
        + "入れ子の境界が違います。\n".encode()
        + b"--actual\nContent-Type: text/html; charset=utf-8\n\n<p>"
        + "入れ子の境界が違います。".encode()
        + b"</p>\n--actual--\n--outer--\n",
    )
    return c
