"""Byte decoding with declared, missing and wrong charsets; RFC 2047 and RFC 2231 values."""

from __future__ import annotations

import base64

import pytest

from inbox.ingest.charsets import (
    b64decode_lenient,
    decode_bytes,
    decode_header,
    decode_jis,
    decode_rfc2231,
    normalize_charset,
)

NEC = "①②③㈱㈲№℡髙﨑"


def jis(text: str) -> bytes:
    """CP50220-style encoder: cp932 bytes -> JIS (covers NEC row 13 and IBM extensions)."""
    out, mode = bytearray(), False
    sj = text.encode("cp932")
    i = 0
    while i < len(sj):
        b = sj[i]
        if b < 0x80:
            if mode:
                out += b"\x1b(B"
                mode = False
            out.append(b)
            i += 1
            continue
        s1, s2 = b - (0x40 if b >= 0xE0 else 0), sj[i + 1]
        i += 2
        j1 = (s1 - 0x81) * 2 + 0x21
        if s2 >= 0x9F:
            j1, j2 = j1 + 1, s2 - 0x7E
        else:
            j2 = s2 - 0x1F - (1 if s2 >= 0x80 else 0)
        if not mode:
            out += b"\x1b$B"
            mode = True
        out += bytes((j1, j2))
    return bytes(out + (b"\x1b(B" if mode else b""))


def test_stdlib_cannot_decode_nec_row13_but_decode_jis_can():
    data = jis(NEC)
    with pytest.raises(UnicodeDecodeError):
        data.decode("iso2022_jp_ext")
    assert decode_jis(data) == (NEC, True)


def test_decode_jis_matches_stdlib_mapping_for_wave_dash_and_friends():
    text = "〜‖−¢£¬①"  # JIS 0x2141 etc. decode to the JIS code points, not cp932's
    data = "〜‖−¢£¬".encode("iso2022_jp")[:-3] + jis("①")[3:]
    assert decode_jis(data)[0] == text


def test_decode_jis_halfwidth_katakana_escape():
    assert decode_jis(b"\x1b(I\x36\x40\x36\x45\x1b(B!")[0] == "ｶﾀｶﾅ!"


@pytest.mark.parametrize("label", ["ISO-2022-JP", "iso-2022-jp-ms", "CP50220", "csISO2022JP"])
def test_iso2022jp_labels_use_the_extended_decoder(label: str):
    got = decode_bytes(jis("㈱髙橋"), label)
    assert (got.text, got.charset, got.warning) == ("㈱髙橋", "iso-2022-jp-ms", "")


def test_plain_iso2022jp_reports_iso2022jp():
    got = decode_bytes("日本語".encode("iso2022_jp"), "iso-2022-jp")
    assert (got.text, got.charset) == ("日本語", "iso-2022-jp")


@pytest.mark.parametrize("label", ["Shift_JIS", "shift-jis", "x-sjis", "SJIS", "Windows-31J"])
def test_shift_jis_labels_decode_as_cp932(label: str):
    got = decode_bytes("①髙ｶﾅ～".encode("cp932"), label)
    assert (got.text, got.charset, got.warning) == ("①髙ｶﾅ～", "cp932", "")


def test_euc_jp_with_nec_row13_uses_cp51932_like_transform():
    got = decode_bytes("丸①".encode("euc_jis_2004"), "EUC-JP")
    assert (got.text, got.charset, got.warning) == ("丸①", "cp51932", "")


def test_euc_jp_with_jis_x0213_only_characters_uses_euc_jis_2004():
    got = decode_bytes("森鷗外".encode("euc_jis_2004"), "EUC-JP")
    assert (got.text, got.charset) == ("森鷗外", "euc-jis-2004")


def test_euc_jp_with_ibm_extension_uses_cp51932_like_transform():
    # 髙 is NEC-selected IBM extension row 92 (JIS 0x7C62), EUC 0xFC 0xE2: not in euc_jp/2004
    got = decode_bytes(b"\xb9\xe2\xfc\xe2", "euc-jp")
    assert got.text == "高髙"
    assert got.charset == "cp51932"


@pytest.mark.parametrize(
    ("declared", "data", "text", "charset"),
    [
        ("iso-2022-jp", "本文".encode(), "本文", "utf-8"),
        ("us-ascii", "Grüße".encode(), "Grüße", "utf-8"),
        ("shift_jis", "宣言と違う".encode(), "宣言と違う", "utf-8"),
        ("utf-8", "シフトJISです".encode("cp932"), "シフトJISです", "cp932"),
        ("utf-8", "日本語のEUCです".encode("euc_jp"), "日本語のEUCです", "euc-jp"),
        ("x-unknown", "ラベル不明".encode(), "ラベル不明", "utf-8"),
    ],
)
def test_mislabelled_bodies_are_repaired_with_a_warning(declared, data, text, charset):
    got = decode_bytes(data, declared)
    assert (got.text, got.charset) == (text, charset)
    assert got.warning


@pytest.mark.parametrize(
    ("data", "text", "charset"),
    [
        (b"plain ascii", "plain ascii", "us-ascii"),
        ("日本語".encode(), "日本語", "utf-8"),
        ("ご注文ありがとうございます".encode("cp932"), "ご注文ありがとうございます", "cp932"),
        ("ご注文ありがとうございます".encode("euc_jp"), "ご注文ありがとうございます", "euc-jp"),
        (jis("①の件"), "①の件", "iso-2022-jp-ms"),
    ],
)
def test_missing_charset_is_detected_by_validity_cascade(data, text, charset):
    got = decode_bytes(data, None)
    assert (got.text, got.charset) == (text, charset)


def test_jis_body_labelled_ascii_is_detected():
    got = decode_bytes("日本語".encode("iso2022_jp"), "us-ascii")
    assert got.text == "日本語"
    assert got.charset == "iso-2022-jp"


def test_undetectable_bytes_fall_back_to_charset_normalizer_without_raising():
    data = "Ceci est un texte français déjà très accentué, à côté.".encode("cp1252") * 3
    got = decode_bytes(data, None)
    assert "français" in got.text


def test_normalize_charset_aliases():
    assert normalize_charset('"Shift_JIS"') == "cp932"
    assert normalize_charset("ISO-2022-JP*ja") == "iso-2022-jp"
    assert normalize_charset("iso-8859-1") == "cp1252"
    assert normalize_charset("bogus-charset") is None
    assert normalize_charset("rot13") is None  # a str->str transform, not a charset
    assert normalize_charset("utf-8\x00") is None
    assert normalize_charset("") is None


# --- RFC 2047 ----------------------------------------------------------------------------------


def test_header_multibyte_split_across_encoded_words():
    raw = "日本".encode()
    value = (
        f"=?UTF-8?B?{base64.b64encode(raw[:4]).decode()}?=\r\n"
        f" =?UTF-8?B?{base64.b64encode(raw[4:]).decode()}?="
    )
    assert decode_header(value).text == "日本"


def test_header_whitespace_between_encoded_words_dropped_but_kept_around_text():
    value = "=?UTF-8?Q?a?= =?UTF-8?Q?b?= plain =?UTF-8?Q?c?="
    assert decode_header(value).text == "ab plain c"


def test_header_lowercase_q_and_b_and_unencoded_spaces():
    assert decode_header("=?utf-8?q?hello world_again?=").text == "hello world again"
    assert decode_header("=?utf-8?b?5pel5pys?=").text == "日本"


def test_header_missing_terminator_is_decoded_with_warning():
    got = decode_header("Re: =?UTF-8?B?5pel5pys")
    assert got.text == "Re: 日本"
    assert "terminator" in got.warning


def test_header_wrong_charset_label_is_repaired():
    got = decode_header(f"=?ISO-2022-JP?B?{base64.b64encode('山田'.encode()).decode()}?=")
    assert got.text == "山田"
    assert "8-bit" in got.warning
    assert got.labels == ("iso-2022-jp",)


def test_header_nec_chars_in_iso2022jp_encoded_word():
    value = f"=?ISO-2022-JP?B?{base64.b64encode(jis('①㈱髙')).decode()}?="
    got = decode_header(value)
    assert (got.text, got.charset) == ("①㈱髙", "iso-2022-jp-ms")


def test_header_raw_8bit_surrogate_escaped_sjis():
    value = "【重要】".encode("cp932").decode("ascii", "surrogateescape")
    got = decode_header(value)
    assert (got.text, got.charset) == ("【重要】", "cp932")
    assert got.warning == "had raw 8-bit bytes; decoded as cp932"


def test_header_raw_iso2022jp_without_encoded_words():
    got = decode_header("Re: " + "配送".encode("iso2022_jp").decode("ascii"))
    assert got.text == "Re: 配送"


def test_header_bad_base64_does_not_raise():
    assert decode_header("=?utf-8?B?####?=").text == ""


def test_rfc2231_value_with_charset():
    assert decode_rfc2231("UTF-8", "%E8%A6%8B%E7%A9%8D.pdf").text == "見積.pdf"
    assert decode_rfc2231("iso-2022-jp", "%1B%24B-%21%1B%28B").text == "①"


def test_b64decode_lenient_keeps_the_decodable_prefix():
    data = base64.b64encode(bytes(range(30)))
    assert b64decode_lenient(data) == (bytes(range(30)), True)
    out, clean = b64decode_lenient(data[:-3])
    assert not clean and bytes(range(30)).startswith(out) and len(out) >= 27
    out, clean = b64decode_lenient(b"AAEC!!AwQF\x00")
    assert out == bytes(range(6))
