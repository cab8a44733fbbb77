"""Undeclared 8-bit text decided by evidence; charset aliases; UTF-7; carrier pictographs."""

from __future__ import annotations

import base64

import pytest

from inbox.ingest import emoji
from inbox.ingest.charsets import Hints, decode_bytes, decode_header, normalize_charset
from inbox.ingest.detect import best_guess, plausibility
from inbox.ingest.japanese import decode_jis


def raw_header(text: str, charset: str) -> str:
    """A header value as compat32 hands it over: raw bytes as surrogate escapes."""
    return text.encode(charset).decode("ascii", "surrogateescape")


@pytest.mark.parametrize(
    ("text", "charset"),
    [
        ("Lösung gesucht", "latin-1"),  # as cp932 "ös" is user-defined U+E49B
        ("Größe ändern, schön", "cp1252"),
        ("Élève à côté – déjà", "cp1252"),
        ("Привет, как дела", "koi8-r"),
        ("Привет, как дела", "cp1251"),
    ],
)
def test_raw_8bit_european_and_cyrillic_headers_without_any_hint(text, charset):
    got = decode_header(raw_header(text, charset))
    assert got.text == text


@pytest.mark.parametrize(
    ("text", "charset", "hints"),
    [
        ("订单查询：我的包裹还没有到", "gb2312", Hints(declared=("gb18030",))),
        ("訂單查詢：我的包裹還沒有到", "big5", Hints(language="zh-tw")),
        ("주문 문의: 아직 도착하지 않았습니다", "euc-kr", Hints(language="ko")),
        ("Заказ номер 15", "koi8-r", Hints(declared=("koi8-r",))),
        ("請求書", "cp932", Hints(language="ja")),  # kanji only: Japanese because the mail is
    ],
)
def test_raw_8bit_headers_follow_the_messages_declared_charsets_and_language(text, charset, hints):
    assert decode_header(raw_header(text, charset), hints=hints).text == text


def test_japanese_without_hints_still_wins_when_it_shows_kana():
    got = decode_header(raw_header("【重要】ご注文の確認", "cp932"))
    assert (got.text, got.charset) == ("【重要】ご注文の確認", "cp932")
    assert decode_bytes("ご注文ありがとうございます".encode("euc_jp"), None).charset == "euc-jp"


def test_a_guess_with_private_use_characters_is_a_failed_guess():
    data = "Lösung".encode("latin-1")
    got = best_guess(data, None, {"cp932": lambda d: "L\ue49bung"})
    assert got == ("Lösung", "cp1252")


def test_plausibility_penalises_mixed_case_and_mixed_scripts():
    good = "Привет, как дела"
    assert plausibility(good) == 1.0
    assert plausibility(good.encode("koi8-r").decode("cp1251")) < 1.0
    assert plausibility(good.encode("cp1251").decode("cp1252")) <= 0  # rejected
    assert plausibility("ｶﾀｶﾅ") < 0


def test_hints_from_message_read_declared_charsets_language_and_japanese_evidence():
    raw = "Subject: x\r\nContent-Type: text/plain\r\n\r\nこんにちは\r\n".encode()
    assert Hints.from_message(raw, [], None).language == "ja"
    assert Hints.from_message(b"Subject: x\r\n\r\n\xe9t\xe9\r\n", [], None).language is None
    assert Hints.from_message(b"\r\n\xe9", ["cp1252"], "fr").candidates() == ["cp1252"]


@pytest.mark.parametrize(
    ("label", "name"),
    [
        ("unicode-1-1-utf-7", "utf-7"),
        ("UTF-7", "utf-7"),
        ("x-unicode-2-0-utf-7", "utf-7"),
        ("x-x-big5", "cp950"),
        ("ks_c_5601-1989", "cp949"),
        ("x-mac-cyrillic", "mac-cyrillic"),
        ("windows-874", "cp874"),
        ("x-cp1250", "cp1250"),
        ("ibm-850", "cp850"),
        ("x-sjis-docomo", "cp932"),
        ("iso-8859-8-i", "iso8859-8"),
    ],
)
def test_charset_aliases_python_does_not_know(label, name):
    assert normalize_charset(label) == name


def test_utf7_bodies_and_encoded_words_decode():
    assert decode_bytes("日本語 Grüße".encode("utf-7"), "unicode-1-1-utf-7").text == "日本語 Grüße"
    word = base64.b64encode("件名です".encode("utf-7")).decode()
    assert decode_header(f"=?UTF-7?B?{word}?=").text == "件名です"


def test_encoded_words_split_mid_character_under_two_spellings_of_one_charset():
    raw = "山田".encode()
    value = f"=?UTF-8?B?{base64.b64encode(raw[:2]).decode()}?= =?utf8?B?{base64.b64encode(raw[2:]).decode()}?="
    assert decode_header(value).text == "山田"


def test_au_rows_0x79_to_0x7b_are_pictographs_only_from_au():
    data = b"\x1b$By!\x1b(B"  # JIS 0x7921: an IBM kanji in CP50220, a pictograph from au
    assert decode_jis(data)[0] == "纊"
    notes: list[str] = []
    assert decode_jis(data, carrier=emoji.AU, notes=notes)[0] == "🍂"
    assert notes == ["au ISO-2022-JP 7921 → 🍂"]
    assert decode_jis(b"\x1b$BuA\x1b(B")[0] == "☀"  # rows 0x75-0x78 are au's from anyone


def test_carrier_from_domain_or_label():
    assert emoji.carrier_for("Hanako <hanako@docomo.ne.jp>") == emoji.DOCOMO
    assert emoji.carrier_for("x@ezweb.ne.jp") == emoji.AU
    assert emoji.carrier_for("x@i.softbank.jp") == emoji.SOFTBANK
    assert emoji.carrier_for("x@example.jp", ("x-sjis-kddi",)) == emoji.AU
    assert emoji.carrier_for("x@example.jp") is None


def test_shift_jis_pictographs_from_each_carrier():
    got = decode_bytes(b"\x82\xa0\xf8\x9f", "Shift_JIS")  # docomo sun, sender unknown
    assert (got.text, got.notes) == ("あ☀", ("docomo Shift_JIS F89F → ☀",))
    got = decode_bytes(b"\xf6\x60", "x-sjis-kddi")
    assert got.text == "☀"
    softbank = Hints(carrier=emoji.SOFTBANK)
    assert decode_bytes(b"\xfb\x41\x82\xa0", "Shift_JIS", hints=softbank).text == "😥あ"
    assert decode_bytes(b"\xfb\x41", "Shift_JIS").text == "涬"  # an IBM kanji from anyone else
