"""Order numbers found in real-looking Japanese and English customer mail, with exact expectations."""

from __future__ import annotations

import random

import pytest

from inbox.services.order_numbers import find, normalise

RAKUTEN = "123456-20261105-0000012345"

CASES = [
    # Japanese, labelled
    ("注文番号：123-456789-0123 の件で問い合わせます。", ["123-456789-0123"]),
    ("ご注文番号 123-456789-0123", ["123-456789-0123"]),
    ("【ご注文番号】123-456789-0123\n【商品名】タオル", ["123-456789-0123"]),
    ("注文番号は１２３－４５６７８９－０１２３です。", ["123-456789-0123"]),  # full width
    ("注文番号:\t987654321", ["987654321"]),
    ("受注番号：store-10000123（ヤフー）", ["STORE-10000123"]),
    ("オーダー番号 A-20261105-77", ["A-20261105-77"]),
    ("注文ID: 4567-8901", ["4567-8901"]),
    ("注文No.9988776", ["9988776"]),
    ("注文番号 ： #556677", ["556677"]),
    ("注文番号―123―456789―0123", ["123-456789-0123"]),  # horizontal bars as dashes
    ("［注文番号］ 123-456789-0123", ["123-456789-0123"]),
    # Rakuten order numbers need no label
    (f"楽天市場でのご注文（{RAKUTEN}）について", [RAKUTEN]),
    (f"[楽天市場]注文内容ご確認（自動配信メール）\n受注番号 {RAKUTEN}", [RAKUTEN]),
    (f"{RAKUTEN}と{RAKUTEN}", [RAKUTEN]),
    ("１２３４５６－２０２６１１０５－０００００１２３４５", [RAKUTEN]),
    # English
    ("Order #: 112-3456789-1234567 has shipped", ["112-3456789-1234567"]),
    ("Your order number is ABC-12345.", ["ABC-12345"]),
    ("ORDER NO. 55512 / order id 99887", ["55512", "99887"]),
    ("Re: Order #1234 and order #5678", ["1234", "5678"]),
    ("order number: 123-456789-0123\n> order number: 123-456789-0123", ["123-456789-0123"]),
    # several, in order of appearance
    (f"注文番号：111-222222-3333\nまた {RAKUTEN} も", ["111-222222-3333", RAKUTEN]),
    # nothing
    ("注文番号：未定です", []),
    ("ご注文番号をお知らせください。", []),
    ("お電話は 03-1234-5678 まで", []),
    ("〒150-0001 東京都渋谷区", []),
    ("合計 12,800円（税込）", []),
    ("Please order now 1234 units", []),
    ("Order #12 arrived", []),  # too short to be an order number
    ("注文番号：AB-CD", []),  # no digits
    ("12345-20261105-0000012345", []),  # five digits before the date: not Rakuten's shape
    (f"x{RAKUTEN}", []),
    ("", []),
]


@pytest.mark.parametrize(("text", "expected"), CASES, ids=[c[0][:30] for c in CASES])
def test_finds_exactly_the_order_numbers(text, expected):
    assert find(text) == expected


FILLERS = [
    "お世話になっております。",
    "商品がまだ届きません。",
    "Thanks for your help.",
    "\n> 引用\n",
    "電話 090-1234-5678",
    "郵便番号 100-0005",
    "¥3,980",
    "2026/11/05 10:00",
    "　",
    "\r\n",
    "Best regards,\nTaro",
    "https://example.jp/item/123456",
    "よろしくお願いいたします。",
]
LABELS = [
    "注文番号：",
    "ご注文番号 ",
    "【注文番号】",
    "受注番号:",
    "Order #",
    "order number ",
    "Order No. ",
]
NUMBERS = ["123-456789-0123", "112-3456789-1234567", "STORE-10000123", "9876543", "A1B2C3"]


def test_fuzz_labelled_numbers_among_noise():
    rng = random.Random(20261201)
    for _ in range(500):
        chosen = rng.sample(NUMBERS, rng.randint(0, 3))
        parts = [rng.choice(FILLERS) for _ in range(rng.randint(0, 6))]
        for number in chosen:
            parts.insert(
                rng.randint(0, len(parts)),
                f"\n{rng.choice(LABELS)}{number.lower() if rng.random() < 0.3 else number}\n",
            )
        if rng.random() < 0.3:
            chosen.append(RAKUTEN)
            parts.append(f"（{RAKUTEN}）")
        text = "".join(parts)
        assert sorted(find(text)) == sorted(set(chosen)), text


def test_normalise_folds_width_dashes_and_case():
    assert normalise(" ＃１２３－４５６ ") == "123-456"
    assert normalise("store‐10000123") == "STORE-10000123"
    assert normalise("x" * 100) == "X" * 64


def test_huge_text_is_read_only_so_far():
    text = "あ" * 300_000 + "注文番号：123-456789-0123"
    assert find(text) == []
    assert find("注文番号：123-456789-0123" + "\x00" * 10) == ["123-456789-0123"]
