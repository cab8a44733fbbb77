"""split_quoted(): new text versus folded quoted history and signatures."""

from __future__ import annotations

import pytest

from inbox.ingest.quoting import split_quoted


def test_gt_quote_block_after_attribution_is_folded():
    text = "了解です。\n\n山田太郎さんは書きました:\n> 明日届きますか？\n> よろしく\n"
    assert split_quoted(text) == (
        "了解です。",
        "山田太郎さんは書きました:\n> 明日届きますか？\n> よろしく",
    )


def test_fullwidth_gt_quote_is_folded():
    assert split_quoted("はい。\n＞ 質問です\n＞ 以上")[0] == "はい。"


def test_sama_attribution_with_fullwidth_colon():
    new, rest = split_quoted("確認しました。\n\n佐藤様は書きました：\n> 元の文\n")
    assert new == "確認しました。"
    assert rest.startswith("佐藤様は書きました：")


def test_english_on_wrote_wrapped_over_two_lines():
    text = (
        "Thanks!\n\nOn Wed, Jan 10, 2024 at 10:00 AM Taro Yamada <\ntaro@example.jp> wrote:\n> hi\n"
    )
    new, rest = split_quoted(text)
    assert new == "Thanks!"
    assert rest.startswith("On Wed, Jan 10, 2024")


def test_wave_dash_wrote_attribution():
    new, rest = split_quoted("OKです\n\n山田〜 wrote:\n> 元\n")
    assert (new, rest) == ("OKです", "山田〜 wrote:\n> 元")


def test_gmail_japanese_date_header():
    text = "ありがとうございます。\n\n2024年1月10日(水) 10:00 山田太郎 <taro@example.jp>:\n> 元の本文\n"
    new, rest = split_quoted(text)
    assert new == "ありがとうございます。"
    assert rest.startswith("2024年1月10日(水) 10:00 山田太郎")


@pytest.mark.parametrize(
    "marker",
    ["-----Original Message-----", "----- Original Message -----", "-----元のメッセージ-----"],
)
def test_original_message_separators(marker: str):
    new, rest = split_quoted(f"再送します。\n\n{marker}\nFrom: a@example.com\n本文")
    assert new == "再送します。"
    assert rest.startswith(marker)


def test_outlook_header_block_with_underscore_rule():
    text = (
        "承知しました。\n\n________________________________\n差出人: 山田 <taro@example.jp>\n"
        "送信日時: 2024年1月10日 10:00\n宛先: support@example.com\n件名: 配送\n\n元の本文"
    )
    new, rest = split_quoted(text)
    assert new == "承知しました。"
    assert rest.startswith("________________________________\n差出人:")


def test_english_outlook_from_sent_block():
    text = "See below.\n\nFrom: Taro <taro@example.jp>\nSent: Wednesday, January 10, 2024 10:00\nTo: us\n\nold"
    assert split_quoted(text)[0] == "See below."


def test_single_from_line_is_not_a_header_block():
    text = "From: the warehouse, the parcel left today.\nThanks"
    assert split_quoted(text) == (text, "")


def test_forwarded_message_is_new_text():
    text = "FYI\n\n---------- Forwarded message ---------\nFrom: a@example.com\nDate: today\n\nbody"
    assert split_quoted(text)[0].startswith("FYI\n\n---------- Forwarded message")


def test_dash_dash_space_signature():
    assert split_quoted("本文です。\n-- \n山田\n090-0000-0000") == (
        "本文です。",
        "-- \n山田\n090-0000-0000",
    )


def test_decorated_rule_signature_near_the_end():
    text = (
        "本文です。\n\n━━━━━━━━━━━━\n株式会社サンプル\nTEL: 03-0000-0000\n"
        "support@example.com\n━━━━━━━━━━━━"
    )
    new, rest = split_quoted(text)
    assert new == "本文です。"
    assert rest.startswith("━━━━━━━━━━━━\n株式会社サンプル")


def test_decorative_rule_in_the_middle_of_a_long_body_is_kept():
    body = "\n".join(f"行{i}" for i in range(30))
    text = f"ご注文内容\n――――――――\n{body}"
    assert split_quoted(text) == (text, "")


def test_inline_replies_between_quotes_are_not_cut():
    text = "Hi,\n> question one?\nanswer one\n> question two?\nanswer two"
    assert split_quoted(text) == (text, "")


def test_bottom_posted_reply_keeps_everything_as_new_text():
    text = "> the question\n> more\n\nMy answer below the quote."
    assert split_quoted(text) == (text, "")


def test_message_that_is_only_a_quote_is_not_emptied():
    text = "> only quoted\n> lines"
    assert split_quoted(text) == (text, "")


def test_empty_text():
    assert split_quoted("") == ("", "")
