"""Header parameters and attachment names as mailers really send them."""

from __future__ import annotations

import pytest

from inbox.ingest.params import clean_filename, param_text, split_params


def name_of(value: str) -> str | None:
    _token, plain, ext = split_params(value)
    return param_text("filename", plain, ext, None).text


@pytest.mark.parametrize(
    ("value", "name"),
    [
        ("attachment; filename*=''abc.pdf", "abc.pdf"),  # RFC 2231 allows an empty charset
        ("attachment; filename*=utf-8'ja'%E8%A6%8B.pdf", "見.pdf"),
        ("attachment; filename*0*=''a; filename*1*=b.pdf", "ab.pdf"),
        ("attachment; filename*0*=utf-8''%E8%A6%8B; filename*1*=shift_jis''%8F%91.pdf", "見書.pdf"),
        ('attachment; filename=""quoted twice.pdf""', "quoted twice.pdf"),
        ('attachment; filename="never closed.pdf', "never closed.pdf"),
        ('attachment; filename=stray.pdf"', "stray.pdf"),
        ('attachment; filename="=?UTF-8?B?6KaL56mN?=.pdf"', "見積.pdf"),
        ("attachment; filename=\"\x1b$B8+@Q\x1b(B.pdf\"", "見積.pdf"),
    ],
)
def test_attachment_names_as_sent(value, name):
    assert clean_filename(name_of(value) or "") == name


def test_clean_filename_strips_paths_quotes_and_controls():
    assert clean_filename('"C:\\\\tmp\\\\a.pdf"') == "a.pdf"
    assert clean_filename("'x.pdf'") == "x.pdf"
    assert clean_filename("..") == ""
