"""Bigram keys: every two-character window of indexable characters, never across parts or spaces."""

from inbox.search_bigrams import bigram_keys, has_key


def test_keys_are_every_window_once():
    assert bigram_keys("配送配送") == "配送 送配"


def test_keys_never_span_white_space_ascii_punctuation_or_two_parts():
    assert bigram_keys("配 送", None, "a-b", "") == ""
    assert set(bigram_keys("返品", "qa@x.jp", "交換").split()) == {"返品", "qa", "jp", "交換"}


def test_japanese_punctuation_and_long_vowel_marks_are_part_of_keys():
    assert set(bigram_keys("「カー」").split()) == {"「カ", "カー", "ー」"}
    assert bigram_keys("配　送") == ""  # ideographic space


def test_only_two_indexable_characters_have_a_key():
    assert has_key("配送") and has_key("Ab") and has_key("、と")
    assert not has_key("傘") and not has_key("a-") and not has_key("配送が")
