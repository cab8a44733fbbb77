"""html_to_text() readability and sanitize_html() safety."""

from __future__ import annotations

import pytest

from inbox.ingest.html_text import html_to_text, sanitize_html


def test_blocks_breaks_lists_and_entities():
    html = (
        "<html><head><title>T</title><style>p{}</style></head><body>"
        "<h1>見出し</h1><p>一行目<br>二行目&nbsp;&amp;&lt;&gt;&#12354;&copy;</p>"
        "<ul><li>りんご</li><li>みかん</li></ul><div>最後</div><script>x()</script></body></html>"
    )
    assert html_to_text(html) == "見出し\n一行目\n二行目 &<>あ©\n- りんご\n- みかん\n最後"


def test_links_show_url_only_when_different_from_text():
    html = (
        '<a href="https://a.example/x">詳細</a> <a href="https://b.example/">https://b.example/</a>'
        ' <a href="mailto:s@example.com">s@example.com</a> <a href="javascript:x()">js</a>'
    )
    assert html_to_text(html) == ("詳細 (https://a.example/x) https://b.example/ s@example.com js")


def test_whitespace_collapses_except_in_pre():
    assert html_to_text("<p>a \n\n   b</p><pre>x  y\n  z</pre>") == "a b\nx  y\n  z"


def test_tables_become_tab_separated_rows():
    assert (
        html_to_text(
            "<table><tr><td>品名</td><td>数量</td></tr><tr><td>A</td><td>1</td></tr></table>"
        )
        == "品名\t数量\nA\t1"
    )


def test_broken_html_still_gives_text():
    assert html_to_text("<p>未閉じ<b>太字<div>次") == "未閉じ太字\n次"
    assert html_to_text("") == ""


XSS = [
    "<script>alert(1)</script>",
    '<img src="x" onerror="alert(1)">',
    '<a href="javascript:alert(1)">x</a>',
    '<a href="  JaVaScRiPt:alert(1)">x</a>',
    '<a href="vbscript:msgbox(1)">x</a>',
    '<a href="data:text/html,<script>alert(1)</script>">x</a>',
    '<div style="width: expression(alert(1))">x</div>',
    '<div style="background: url(javascript:alert(1))">x</div>',
    '<svg onload="alert(1)"><circle/></svg>',
    '<iframe src="https://evil.example/"></iframe>',
    '<meta http-equiv="refresh" content="0;url=https://evil.example/">',
    '<base href="https://evil.example/">',
    '<form action="https://evil.example/"><input name="p"></form>',
    '<object data="x.swf"></object><embed src="x.swf">',
    '<math><mi xlink:href="javascript:alert(1)">x</mi></math>',
    '<p onclick="alert(1)" onmouseover="alert(1)">x</p>',
    '<img src="data:image/png;base64,iVBORw0KGgo=">',
    '<link rel="stylesheet" href="https://evil.example/x.css">',
    "<style>@import 'https://evil.example/x.css';</style>",
]


@pytest.mark.parametrize("html", XSS)
def test_sanitize_removes_active_content(html: str):
    out = sanitize_html(html).lower()
    for bad in (
        "<script",
        "alert(",
        "javascript:",
        "vbscript:",
        "expression(",
        "data:",
        "<svg",
        "<iframe",
        "<meta",
        "<base",
        "<form",
        "<input",
        "<object",
        "<embed",
        "<link",
        "<style",
        "@import",
        " on",
    ):
        assert bad not in out, (bad, out)


def test_sanitize_keeps_formatting_safe_styles_and_links():
    out = sanitize_html(
        '<p style="color: red; position: fixed"><b>太字</b> '
        '<a href="https://ok.example/">ok</a></p>'
    )
    assert out == (
        '<p style="color:red"><b>太字</b> <a href="https://ok.example/" target="_blank" '
        'rel="noopener noreferrer">ok</a></p>'
    )


def test_sanitize_images_keep_only_http_and_cid_sources():
    out = sanitize_html(
        '<img src="https://i.example/a.png"><img src="cid:a@b"><img src="/rel.png">'
        '<img src="file:///etc/passwd">'
    )
    assert out == '<img src="https://i.example/a.png"><img src="cid:a@b"><img><img>'


def test_sanitize_rewrites_cid_through_the_map():
    out = sanitize_html(
        '<img src="cid:logo@example.jp"><img src="cid:other">',
        cid_map={"logo@example.jp": "/attachments/12"},
    )
    assert out == '<img src="/attachments/12"><img src="cid:other">'


def test_sanitize_drops_relative_and_cid_links():
    out = sanitize_html(
        '<a href="/admin">a</a><a href="cid:x">b</a><a href="mailto:s@example.com">c</a>'
    )
    assert 'href="/admin"' not in out and 'href="cid:x"' not in out
    assert out.count('target="_blank"') == 3
    assert '<a href="mailto:s@example.com" target="_blank" rel="noopener noreferrer">c</a>' in out


def test_sanitize_overrides_existing_target_and_rel():
    out = sanitize_html('<a href="https://x.example/" target="_self" rel="opener">x</a>')
    assert out == '<a href="https://x.example/" target="_blank" rel="noopener noreferrer">x</a>'
