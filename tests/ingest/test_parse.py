"""parse_message over the byte-exact corpus: decoded values, attachments, JSON shape."""

from __future__ import annotations

import hashlib
import importlib.util
import json
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest

from inbox.ingest.parse import Address, ParsedMessage, parse_message

CORPUS = Path(__file__).parent / "corpus"
_spec = importlib.util.spec_from_file_location("ingest_make_corpus", CORPUS / "make_corpus.py")
make_corpus = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(make_corpus)

JST = timezone(timedelta(hours=9))


def load(name: str) -> bytes:
    return (CORPUS / f"{name}.eml").read_bytes()


def parse(name: str) -> ParsedMessage:
    return parse_message(load(name))


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


# --- corpus integrity --------------------------------------------------------------------------


def test_corpus_files_match_generator_byte_for_byte():
    built = make_corpus.build()
    on_disk = {p.stem: p.read_bytes() for p in CORPUS.glob("*.eml")}
    assert built == on_disk


def test_corpus_uses_crlf_line_endings():
    for name, data in make_corpus.build().items():
        if name == "no_headers_garbage":
            continue
        assert b"\n" not in data.replace(b"\r\n", b""), name


# --- Japanese charsets -------------------------------------------------------------------------


def test_iso2022jp_plain_decodes_subject_sender_and_body():
    m = parse("iso2022jp_plain")
    assert m.subject == "お問い合わせ：配送について"
    assert m.from_ == Address(name="山田太郎", address="taro@example.jp")
    assert m.text == "お世話になっております。\n注文番号12345の配送状況を教えてください。\n\n山田"
    assert m.charsets == ["iso-2022-jp"]
    assert m.warnings == []


def test_iso2022jp_nec_extensions_decode_in_subject_and_body():
    m = parse("iso2022jp_nec_extensions")
    assert m.subject == "①②の件 ㈱髙橋商事"
    assert m.text == "㈱髙橋商事の髙橋です。\n①注文の確認\n②配送の手配\nよろしくお願いいたします。"
    assert "iso-2022-jp-ms" in m.charsets
    assert "\ufffd" not in m.text + m.subject


def test_shift_jis_8bit_body_decodes_as_cp932_with_halfwidth_kana_and_nec():
    m = parse("shift_jis_8bit")
    assert m.subject == "シフトJISの件名①"
    assert m.text == "ｶﾀｶﾅと漢字①と髙島屋。\n機種依存文字㈱も含みます。"
    assert m.charsets == ["shift_jis", "cp932"]


def test_euc_jp_body_with_circled_digits_uses_cp51932_fallback():
    m = parse("euc_jp")
    assert m.subject == "EUCの件名"
    assert m.text == "日本語のテキストです。\n丸数字①も入っています。"
    assert m.charsets == ["euc-jp", "cp51932"]


def test_utf8_quoted_printable_soft_breaks_and_nbsp():
    m = parse("utf8_qp")
    assert m.subject == "品質 テスト"
    assert m.text == make_corpus.UTF8_QP_TEXT.rstrip("\n")


def test_missing_charset_on_7bit_jis_is_detected():
    m = parse("iso2022jp_missing_charset")
    assert m.text == "文字コードの指定がない本文です。"
    assert m.warnings == ["The text/plain body: No charset was declared; detected iso-2022-jp."]


def test_declared_iso2022jp_but_utf8_body_is_repaired():
    m = parse("declared_iso2022jp_really_utf8")
    assert m.text == "実際はUTF-8の本文です。"
    assert m.charsets == ["iso-2022-jp", "utf-8"]
    assert any(
        "Declared iso-2022-jp but had 8-bit bytes; decoded as utf-8" in w for w in m.warnings
    )


def test_declared_ascii_with_8bit_utf8_is_repaired():
    m = parse("declared_ascii_8bit_utf8")
    assert m.text == "Grüße aus München – 東京より"
    assert m.charsets == ["us-ascii", "utf-8"]


def test_declared_shift_jis_but_utf8_body_is_repaired():
    m = parse("declared_sjis_really_utf8")
    assert m.text == "宣言はShift_JISですが中身はUTF-8です。"
    assert "Declared shift_jis but was UTF-8" in " ".join(m.warnings)


# --- headers -----------------------------------------------------------------------------------


def test_multibyte_char_split_across_two_encoded_words_is_joined():
    m = parse("rfc2047_split_multibyte")
    assert m.subject == "日本語の件名"
    assert m.from_ == Address(name="山田", address="yamada@example.jp")


def test_malformed_encoded_words_are_repaired_with_warnings():
    m = parse("rfc2047_malformed")
    assert m.subject == "café au lait日本語テスト"
    assert m.from_ == Address(name="山田", address="yamada@example.jp")
    assert m.to == [Address(name="サポート", address="support@example.com")]
    joined = " ".join(m.warnings)
    assert "?= terminator" in joined
    assert "x-unknown-8bit" in joined
    assert m.date is None
    assert "The Date header '2024年1月10日 10時00分' could not be parsed." in m.warnings


def test_raw_8bit_shift_jis_subject_is_decoded():
    m = parse("raw_8bit_subject_sjis")
    assert m.subject == "【重要】ご注文の確認"
    assert "Subject had raw 8-bit bytes; decoded as cp932." in m.warnings
    assert m.text == "本文もシフトJISです。"


def test_raw_8bit_utf8_addresses_are_decoded():
    m = parse("raw_8bit_from_utf8")
    assert m.from_ == Address(name="山田 太郎", address="yamada@example.jp")
    assert m.to == [
        Address(name="サポート窓口", address="support@example.com"),
        Address(name="佐藤", address="sato@example.com"),
    ]
    assert "From had raw 8-bit bytes; decoded as utf-8." in m.warnings


def test_raw_headers_keep_undecoded_bytes_as_latin1():
    m = parse("raw_8bit_subject_sjis")
    subject = dict(m.raw_headers)["Subject"]
    assert subject.encode("latin-1") == "【重要】ご注文の確認".encode("cp932")


def test_date_message_id_and_references_are_normalized():
    m = parse("ticket_token_subject")
    assert m.date == datetime(2024, 1, 10, 10, 0, tzinfo=JST)
    assert m.date.utcoffset() == timedelta(hours=9)
    assert m.message_id == "token-1@example.jp"
    assert m.in_reply_to == "t-2@support.example.com"
    assert m.references == ["t-1@support.example.com", "t-2@support.example.com"]


def test_ticket_token_and_normalized_subject():
    m = parse("ticket_token_subject")
    assert m.subject == "Re: [#1234] 配送について"
    assert m.ticket_token == "1234"
    assert m.normalized_subject == "[#1234] 配送について"


def test_custom_ticket_pattern_and_invalid_pattern():
    raw = load("ticket_token_subject")
    assert parse_message(raw, ticket_pattern=r"#(\d{2})").ticket_token == "12"
    bad = parse_message(raw, ticket_pattern=r"[#(")
    assert bad.ticket_token is None
    assert any("not a valid regular expression" in w for w in bad.warnings)


def test_reply_subject_prefixes_are_stripped_from_the_key_only():
    m = parse("reply_subject_prefixes")
    assert m.subject == "RE：Re[2]: 返信: 転送: Fwd: 見積もりの件"
    assert m.normalized_subject == "見積もりの件"


def test_missing_message_id_is_none_without_warning():
    m = parse_message(b"From: a@example.com\r\nDate: Wed, 10 Jan 2024 10:00:00 +0000\r\n\r\nhi\r\n")
    assert m.message_id is None
    assert m.warnings == []
    assert m.date == datetime(2024, 1, 10, 10, 0, tzinfo=UTC)


# --- filenames and attachments -----------------------------------------------------------------


def test_rfc2231_filenames_single_and_continued():
    m = parse("rfc2231_filename_japanese")
    assert [a.filename for a in m.attachments] == ["見積書.pdf", "請求書_2024年1月.csv"]
    assert m.attachments[0].sha256 == sha(make_corpus.PDF_BYTES)
    assert m.attachments[1].data == b"a,b\n1,2\n"
    assert m.text == "添付します。"


def test_rfc2047_encoded_filename_with_nec_character():
    m = parse("rfc2047_filename")
    assert [a.filename for a in m.attachments] == ["注文書①.pdf"]
    assert m.attachments[0].content_type == "application/pdf"


def test_binary_attachments_survive_byte_exact():
    m = parse("attachments_binary")
    pdf, zf = m.attachments
    assert (pdf.filename, zf.filename) == ("仕様書.pdf", "資料一式.zip")
    assert pdf.sha256 == sha(make_corpus.PDF_BYTES) and pdf.data == make_corpus.PDF_BYTES
    assert zf.sha256 == sha(make_corpus.ZIP_BYTES) and zf.size == len(make_corpus.ZIP_BYTES)
    assert not pdf.inline and not zf.inline
    assert m.text == "資料を送ります。"


def test_inline_cid_image_is_an_inline_attachment_and_html_keeps_cid():
    m = parse("multipart_related_cid")
    (img,) = m.attachments
    assert (img.filename, img.content_type, img.inline, img.content_id) == (
        "logo.png",
        "image/png",
        True,
        "logo@example.jp",
    )
    assert img.sha256 == sha(make_corpus.PNG_BYTES)
    assert m.text == "ロゴです：[logo]"
    assert 'src="cid:logo@example.jp"' in m.html


def test_attached_message_is_an_eml_attachment_named_from_its_subject():
    m = parse("forwarded_rfc822")
    (att,) = m.attachments
    assert att.filename == "[#1234] 配送について.eml"
    assert att.content_type == "message/rfc822"
    assert b"Message-ID: <orig-1@example.com>" in att.data
    assert m.text == "FYI"
    assert m.ticket_token is None  # the token in the attached message is not ours to thread on


def test_truncated_base64_keeps_the_decodable_prefix():
    m = parse("truncated_mime")
    assert m.text == "The attachment is cut off."
    (att,) = m.attachments
    assert att.filename == "cut.pdf"
    assert att.size > 700
    assert make_corpus.PDF_BYTES.startswith(att.data)
    assert any("truncated" in w for w in m.warnings)
    assert any("base64" in w for w in m.warnings)


def test_missing_boundary_is_guessed_and_parts_recovered():
    m = parse("missing_boundary")
    assert m.text == "境界がありません。"
    assert [a.filename for a in m.attachments] == ["a.pdf"]
    assert m.attachments[0].data == make_corpus.PDF_BYTES
    assert any("'XyZ123'" in w for w in m.warnings)


def test_headerless_binary_garbage_is_kept_as_an_attachment_not_text():
    m = parse("no_headers_garbage")
    assert (m.subject, m.from_, m.text) == ("", None, "")
    (att,) = m.attachments
    assert att.data == make_corpus.GARBAGE_BYTES
    assert att.filename == "attachment-1.bin"
    assert any("header block is malformed" in w for w in m.warnings)


# --- bodies ------------------------------------------------------------------------------------


def test_html_only_gets_text_from_html_and_sanitized_html():
    m = parse("html_only")
    assert m.text == (
        "お客様 各位\nご注文&お支払い<確認>のお知らせあ©\n- 商品A\n- 商品B\n"
        "詳細はこちら (https://shop.example.jp/orders/1)をご覧ください。\n以上"
    )
    assert "<script" not in m.html and "<style" not in m.html and "タイトル" not in m.html
    assert 'href="https://shop.example.jp/orders/1"' in m.html


def test_alternative_takes_text_from_plain_and_html_from_html():
    m = parse("xss_html")
    assert m.text == "Hello there"
    assert m.html.startswith("<p>Hello <b>there</b></p>")


def test_xss_payloads_are_removed_from_html():
    html = parse("xss_html").html.lower()
    for bad in (
        "<script",
        "onerror",
        "onload",
        "onclick",
        "javascript:",
        "expression(",
        "<svg",
        "<iframe",
        "<meta",
        "<base",
        "<form",
        "<input",
        "<object",
        "<embed",
        "alert(",
        "data:",
    ):
        assert bad not in html, bad
    assert 'href="https://ok.example/"' in html
    assert 'src="https://img.example/x.png"' in html


def test_multiple_inline_text_parts_are_joined_with_a_blank_line():
    raw = (
        b'Content-Type: multipart/mixed; boundary="m"\r\n\r\n'
        b"--m\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nfirst\r\n"
        b"--m\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nsecond\r\n--m--\r\n"
    )
    assert parse_message(raw).text == "first\n\nsecond"


def test_format_flowed_soft_breaks_are_joined():
    raw = (
        b"Content-Type: text/plain; charset=utf-8; format=flowed; delsp=yes\r\n\r\n"
        b"\xe6\x97\xa5\xe6\x9c\xac \r\n\xe8\xaa\x9e\r\n>quoted\r\n -- \r\nsig\r\n"
    )
    assert parse_message(raw).text == "日本語\n>quoted\n-- \nsig"


def test_address_display_names_and_unparsable_entries():
    raw = (
        b"From: =?UTF-8?B?5bGx55Sw?= <a@example.jp>\r\n"
        b'To: "Sato, Hanako" <hanako@example.jp>, undisclosed-recipients:;\r\n'
        b'Cc: bare@example.jp, Not An Address, "Yamada" <>\r\n'
        b"Reply-To: =?ISO-2022-JP?B?GyRCOzNFRBsoQg==?= <reply@example.jp>\r\n\r\nx"
    )
    m = parse_message(raw)
    assert m.from_ == Address("山田", "a@example.jp")
    assert m.to == [Address("Sato, Hanako", "hanako@example.jp")]
    assert m.cc == [Address("", "bare@example.jp"), Address("Yamada", "")]
    assert m.reply_to == [Address("山田", "reply@example.jp")]


def test_reply_quote_is_folded():
    m = parse("reply_with_quote_ja")
    assert (
        m.new_text == "佐藤様\n\nご連絡ありがとうございます。\n承知しました。明日発送いたします。"
    )
    assert m.quoted_text.startswith("山田太郎さんは書きました:\n> 配送日を変更できますか？")


def test_outlook_original_message_block_is_folded():
    m = parse("reply_outlook_ja")
    assert m.new_text == "お世話になっております。\n再送いたします。"
    assert m.quoted_text.startswith("-----Original Message-----\n差出人: 山田 太郎")


# --- kinds -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "kind"),
    [
        ("auto_reply_ooo", "auto_reply"),
        ("auto_reply_japanese", "auto_reply"),
        ("bounce_dsn", "bounce"),
        ("bulk_list", "bulk"),
        ("iso2022jp_plain", "normal"),
        ("reply_with_quote_ja", "normal"),
    ],
)
def test_kind_of_corpus_message(name: str, kind: str):
    assert parse(name).kind == kind


def test_bounce_keeps_report_text_and_the_returned_message():
    m = parse("bounce_dsn")
    assert m.text.startswith("I'm sorry to have to inform you")
    names = [a.filename for a in m.attachments]
    assert names == ["delivery-status.txt", "[#1234] 配送について.eml"]
    assert b"Status: 5.1.2" in m.attachments[0].data


# --- robustness and JSON -----------------------------------------------------------------------


def test_empty_bytes_raise_value_error():
    with pytest.raises(ValueError, match="empty message"):
        parse_message(b"")


@pytest.mark.parametrize("cut", [1, 7, 50, 200, 333, 640, 1000, 1500])
def test_every_corpus_prefix_parses_without_raising(cut: int):
    for path in CORPUS.glob("*.eml"):
        data = path.read_bytes()[:cut]
        if data:
            assert isinstance(parse_message(data), ParsedMessage)


@pytest.mark.parametrize(
    "raw",
    [
        b"\x00",
        b"\r\n\r\n",
        b"Subject: =?\r\n\r\n",
        b"Content-Type: multipart/mixed; boundary=\r\n\r\n--\r\n",
        b'Content-Type: text/plain; charset="\xff\xfe"\r\n\r\n\xff\xfe',
        b"Content-Type: message/rfc822\r\n\r\n",
        b"Subject: =?utf-8?B?####?=\r\n\r\n",
        b"Date: Mon, 99 Foo 99999 99:99:99 +9999\r\n\r\n" + b"x" * 10,
        b'Content-Type: multipart/mixed; boundary="a"\r\n\r\n'
        + b'--a\r\nContent-Type: multipart/mixed; boundary="a"\r\n\r\n' * 200,
    ],
)
def test_hostile_inputs_never_raise(raw: bytes):
    m = parse_message(raw)
    assert isinstance(m.to_json_dict(), dict)


def test_to_json_dict_shape_and_serializability():
    m = parse("ticket_token_subject")
    d = m.to_json_dict()
    assert list(d) == [
        "subject",
        "from",
        "to",
        "cc",
        "reply_to",
        "date",
        "message_id",
        "in_reply_to",
        "references",
        "thread",
        "kind",
        "text",
        "new_text",
        "html",
        "attachments",
        "charsets",
        "warnings",
    ]
    assert d["from"] == {"name": "Taro Yamada", "address": "taro@example.jp"}
    assert d["date"] == "2024-01-10T10:00:00+09:00"
    assert d["thread"] == {"normalized_subject": "[#1234] 配送について", "ticket_token": "1234"}
    json.dumps(d, ensure_ascii=False)
    with_raw = parse("raw_8bit_subject_sjis").to_json_dict(raw_headers=True)
    assert ["Message-ID", "<raw-sjis-1@example.jp>"] in with_raw["raw_headers"]
    json.dumps(with_raw, ensure_ascii=False).encode("utf-8")


def test_attachment_json_has_no_bytes():
    d = parse("attachments_binary").to_json_dict()
    assert d["attachments"][0] == {
        "filename": "仕様書.pdf",
        "content_type": "application/pdf",
        "size": len(make_corpus.PDF_BYTES),
        "sha256": sha(make_corpus.PDF_BYTES),
        "inline": False,
    }
