"""`inbox parse`: the corpus read through parse_message, printed as JSON; stdin, empty input, bad paths."""

from __future__ import annotations

import hashlib
import importlib.util
import json
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from inbox.cli import cli

CORPUS = Path(__file__).resolve().parent.parent / "ingest" / "corpus"
_spec = importlib.util.spec_from_file_location("cli_make_corpus", CORPUS / "make_corpus.py")
corpus = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(corpus)
ROOT = Path(__file__).resolve().parents[2]


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def parse(name: str, *extra: str) -> dict:
    result = CliRunner().invoke(cli, ["parse", str(CORPUS / f"{name}.eml"), *extra])
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def attachments(d: dict) -> list[tuple[str, str]]:
    return [(a["filename"], a["sha256"]) for a in d["attachments"]]


def test_iso2022jp_with_microsoft_extensions_keeps_circled_digits_and_kanji_variants():
    d = parse("iso2022jp_nec_extensions")
    assert d["subject"] == "①②の件 ㈱髙橋商事"
    assert d["from"] == {"name": "Taro Yamada", "address": "taro@example.jp"}
    assert d["text"] == "㈱髙橋商事の髙橋です。\n①注文の確認\n②配送の手配\nよろしくお願いいたします。"
    assert "iso-2022-jp-ms" in d["charsets"]
    assert d["warnings"] == []


def test_iso2022jp_sender_name_is_decoded():
    d = parse("iso2022jp_plain")
    assert d["from"] == {"name": "山田太郎", "address": "taro@example.jp"}
    assert d["subject"] == "お問い合わせ：配送について"
    assert "注文番号12345の配送状況" in d["text"]


def test_shift_jis_body_with_halfwidth_kana_and_nec_characters():
    d = parse("shift_jis_8bit")
    assert d["subject"] == "シフトJISの件名①"
    assert d["text"] == "ｶﾀｶﾅと漢字①と髙島屋。\n機種依存文字㈱も含みます。"
    assert d["charsets"] == ["shift_jis", "cp932"]


def test_euc_jp_body():
    d = parse("euc_jp")
    assert d["subject"] == "EUCの件名"
    assert "丸数字①も入っています。" in d["text"]


@pytest.mark.parametrize(
    ("name", "text", "warning"),
    [
        ("declared_iso2022jp_really_utf8", "実際はUTF-8の本文です。", "Declared iso-2022-jp but had 8-bit bytes"),
        ("declared_sjis_really_utf8", "宣言はShift_JISですが中身はUTF-8です。", "Declared shift_jis but was UTF-8"),
        ("declared_ascii_8bit_utf8", "Grüße aus München – 東京より", "Declared us-ascii"),
        ("iso2022jp_missing_charset", "文字コードの指定がない本文です。", "No charset was declared"),
    ],
)
def test_mislabelled_charsets_decode_and_say_so(name, text, warning):
    d = parse(name)
    assert d["text"] == text
    assert any(warning in w for w in d["warnings"]), d["warnings"]


def test_rfc2047_word_split_inside_a_character_is_joined():
    d = parse("rfc2047_split_multibyte")
    assert d["subject"] == "日本語の件名"
    assert d["from"]["name"] == "山田"


def test_malformed_rfc2047_words_are_repaired_with_warnings():
    d = parse("rfc2047_malformed")
    assert d["subject"] == "café au lait日本語テスト"
    assert d["from"] == {"name": "山田", "address": "yamada@example.jp"}
    assert d["date"] is None
    assert any("without its ?= terminator" in w for w in d["warnings"])
    assert any("could not be parsed" in w for w in d["warnings"])


def test_rfc2231_and_rfc2047_filenames_with_exact_attachment_hashes():
    d = parse("rfc2231_filename_japanese")
    assert attachments(d) == [
        ("見積書.pdf", sha(corpus.PDF_BYTES)),
        ("請求書_2024年1月.csv", sha(b"a,b\n1,2\n")),
    ]
    assert attachments(parse("rfc2047_filename")) == [("注文書①.pdf", sha(corpus.PDF_BYTES))]
    assert attachments(parse("attachments_binary")) == [
        ("仕様書.pdf", sha(corpus.PDF_BYTES)),
        ("資料一式.zip", sha(corpus.ZIP_BYTES)),
    ]


def test_html_only_mail_gets_a_text_body_and_sanitized_html():
    d = parse("html_only")
    assert d["subject"] == "HTMLのみ"
    assert "ご注文&お支払い<確認>のお知らせ" in d["text"]
    assert "<script" not in d["html"] and "商品A" in d["html"]


def test_truncated_mime_still_prints_json_with_warnings_and_exit_zero():
    d = parse("truncated_mime")
    assert d["text"] == "The attachment is cut off."
    assert [a["filename"] for a in d["attachments"]] == ["cut.pdf"]
    assert any("truncated" in w for w in d["warnings"])
    assert any("base64 data" in w for w in d["warnings"])


def test_garbage_without_headers_prints_json_with_warnings():
    d = parse("no_headers_garbage")
    assert d["subject"] == "" and d["from"] is None
    assert any("header block is malformed" in w for w in d["warnings"])


def test_auto_replies_bounces_and_bulk_are_classified():
    assert parse("auto_reply_ooo")["kind"] == "auto_reply"
    ja = parse("auto_reply_japanese")
    assert (ja["kind"], ja["subject"]) == ("auto_reply", "自動応答：お問い合わせありがとうございます")
    bounce = parse("bounce_dsn")
    assert bounce["kind"] == "bounce"
    assert bounce["from"] == {"name": "Mail Delivery System", "address": "MAILER-DAEMON@mx.example.com"}
    assert "could not be delivered" in bounce["text"]
    assert parse("bulk_list")["kind"] == "bulk"


def test_ticket_token_and_threading_keys_are_shown():
    d = parse("ticket_token_subject")
    assert d["thread"] == {"normalized_subject": "[#1234] 配送について", "ticket_token": "1234"}
    assert d["in_reply_to"] == "t-2@support.example.com"
    assert d["references"] == ["t-1@support.example.com", "t-2@support.example.com"]


def test_json_keeps_japanese_as_characters_and_is_indented():
    result = CliRunner().invoke(cli, ["parse", str(CORPUS / "iso2022jp_plain.eml")])
    assert "お問い合わせ" in result.stdout and "\\u" not in result.stdout
    assert result.stdout.startswith('{\n  "subject"')


def test_raw_headers_adds_the_undecoded_headers():
    d = parse("raw_8bit_subject_sjis", "--raw-headers")
    names = [n for n, _v in d["raw_headers"]]
    assert names[:3] == ["From", "To", "Subject"]
    subject_raw = dict(d["raw_headers"])["Subject"]
    assert subject_raw == "【重要】ご注文の確認".encode("cp932").decode("latin-1")
    assert "raw_headers" not in parse("raw_8bit_subject_sjis")


def run(*args: str, stdin: bytes = b"", cwd: Path) -> subprocess.CompletedProcess:
    """The real command in a bare environment: no config file, no secrets, no database."""
    env = {"PATH": "/usr/bin:/bin", "HOME": str(cwd), "PYTHONPATH": str(ROOT)}
    return subprocess.run(
        [sys.executable, "-m", "inbox.cli", *args], input=stdin, cwd=cwd, env=env, capture_output=True
    )


def test_stdin_is_read_without_any_configuration(tmp_path):
    proc = run("parse", "-", stdin=(CORPUS / "euc_jp.eml").read_bytes(), cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout.decode("utf-8"))["subject"] == "EUCの件名"
    assert proc.stderr == b""


def test_empty_input_exits_non_zero_with_one_line_on_stderr(tmp_path):
    proc = run("parse", "-", stdin=b"", cwd=tmp_path)
    assert proc.returncode == 1
    assert proc.stdout == b""
    assert proc.stderr.decode() == "inbox: standard input is empty: there is no message to read.\n"


def test_missing_file_exits_non_zero_with_one_line_on_stderr(tmp_path):
    proc = run("parse", str(tmp_path / "nope.eml"), cwd=tmp_path)
    assert proc.returncode == 1
    assert proc.stdout == b""
    assert proc.stderr.decode() == f"inbox: cannot read {tmp_path}/nope.eml: No such file or directory.\n"


def test_a_directory_is_not_a_message(tmp_path):
    proc = run("parse", str(tmp_path), cwd=tmp_path)
    assert proc.returncode == 1
    assert proc.stderr.decode().count("\n") == 1 and "Is a directory" in proc.stderr.decode()


def test_several_files_print_one_json_object_per_line_in_order(tmp_path):
    names = ["euc_jp", "iso2022jp_plain", "shift_jis_8bit", "euc_jp"]
    proc = run("parse", *(str(CORPUS / f"{n}.eml") for n in names), cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.decode("utf-8").splitlines()
    assert len(lines) == 4
    objs = [json.loads(line) for line in lines]
    assert [o["file"] for o in objs] == [str(CORPUS / f"{n}.eml") for n in names]
    assert [o["subject"] for o in objs] == [
        "EUCの件名", "お問い合わせ：配送について", "シフトJISの件名①", "EUCの件名"
    ]


def test_several_files_with_stdin_and_a_missing_one_keep_their_places(tmp_path):
    proc = run(
        "parse", str(CORPUS / "euc_jp.eml"), str(tmp_path / "nope.eml"), "-",
        stdin=(CORPUS / "iso2022jp_plain.eml").read_bytes(), cwd=tmp_path,
    )
    assert proc.returncode == 1
    objs = [json.loads(line) for line in proc.stdout.decode("utf-8").splitlines()]
    assert [o["file"] for o in objs] == [str(CORPUS / "euc_jp.eml"), str(tmp_path / "nope.eml"), "-"]
    assert objs[0]["subject"] == "EUCの件名"
    assert "No such file or directory" in objs[1]["error"] and "subject" not in objs[1]
    assert objs[2]["subject"] == "お問い合わせ：配送について"
    assert proc.stderr.decode().count("\n") == 1 and "nope.eml" in proc.stderr.decode()


HEAVY = ("flask", "inbox.web", "sqlalchemy", "alembic", "argon2", "apscheduler", "inbox.services")


def loaded_after(code: str, tmp_path) -> list[str]:
    """Modules from HEAVY that are loaded after running `code` in a fresh interpreter."""
    probe = code + (
        "\nimport sys, json\n"
        f"print(json.dumps(sorted({{m.split('.')[0] if m.split('.')[0] != 'inbox' else "
        f"'.'.join(m.split('.')[:2]) for m in sys.modules}} & set({HEAVY!r}))))"
    )
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "PYTHONPATH": str(ROOT)}
    proc = subprocess.run([sys.executable, "-c", probe], cwd=tmp_path, env=env, capture_output=True)
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout.decode().splitlines()[-1])


def test_the_parse_command_loads_neither_the_web_app_nor_the_database(tmp_path):
    assert loaded_after("import inbox.cli.parse", tmp_path) == []
    run_it = (
        "import io, sys\n"
        "from inbox.cli import cli\n"
        "sys.stdout = io.TextIOWrapper(io.BytesIO())\n"
        f"cli(['parse', {str(CORPUS / 'shift_jis_8bit.eml')!r}], standalone_mode=False)\n"
        "sys.stdout = sys.__stdout__\n"
    )
    assert loaded_after(run_it, tmp_path) == []
    # the probe itself can see them: the full command set does load the web app and database
    assert "sqlalchemy" in loaded_after("from inbox.cli import cli\ncli.list_commands(None)", tmp_path)
