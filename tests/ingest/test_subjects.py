"""Subject comparison keys and ticket tokens."""

from __future__ import annotations

import pytest

from inbox.ingest.subjects import find_ticket_token, normalize_subject


@pytest.mark.parametrize(
    ("subject", "key"),
    [
        ("Re: 配送について", "配送について"),
        ("RE: RE: re: 配送について", "配送について"),
        ("Re[2]: Re(3): Re^4: 配送について", "配送について"),
        ("Fw: FW: Fwd: 配送について", "配送について"),
        ("Aw: WG: SV: 配送について", "配送について"),
        ("返信: 転送: 配送について", "配送について"),
        ("RE：配送について", "配送について"),
        ("Ｒｅ：Ｆｗｄ：配送について", "配送について"),
        ("返信：Re : 配送について", "配送について"),
        ("RE：Re[2]: 返信: 転送: Fwd: 見積もりの件", "見積もりの件"),
        ("[ml-name:01234] Re: お知らせ", "お知らせ"),
        ("Re: [ml-name:01235] Re: お知らせ", "お知らせ"),
        ("Re: [#1234] 配送について", "[#1234] 配送について"),
        ("  Re:   Hello\t  World  ", "hello world"),
        ("ＡＢＣ　ｶﾀｶﾅ", "abc カタカナ"),
        ("Receipt for your order", "receipt for your order"),
        ("Fwd", "fwd"),
        ("Re:", ""),
        ("", ""),
    ],
)
def test_normalize_subject_strips_prefixes_and_folds(subject: str, key: str):
    assert normalize_subject(subject) == key


def test_reply_and_original_share_a_key():
    assert normalize_subject("Ｒｅ：配送　について") == normalize_subject("配送 について")


def test_none_subject_gives_empty_key():
    assert normalize_subject(None) == ""


@pytest.mark.parametrize(
    ("subject", "token"),
    [
        ("Re: [#1234] 配送について", "1234"),
        ("[#1] x [#2]", "1"),
        ("Re: ［＃５６７］ 全角", "567"),
        ("no token [#abc]", None),
        ("", None),
        (None, None),
    ],
)
def test_find_ticket_token_default_pattern(subject, token):
    assert find_ticket_token(subject, r"\[#(\d+)\]") == token


def test_find_ticket_token_custom_pattern_and_no_group():
    assert find_ticket_token("Re: [ACME-0042] hi", r"\[ACME-(\d+)\]") == "0042"
    assert find_ticket_token("Ticket T-77 here", r"T-\d+") == "T-77"
