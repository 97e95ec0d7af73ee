"""The printing helpers every command shares: a Japanese path on a console that cannot encode it,
JSON that keeps paths readable, sizes, and progress only for a person at a terminal."""
from __future__ import annotations

import io
import json
import sys

from cloudsubmit.commands import output
from cloudsubmit.progress import ProgressReport


class _Tty(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_write_escapes_what_the_console_cannot_encode(monkeypatch):
    raw = io.BytesIO()
    monkeypatch.setattr(sys, "stdout", io.TextIOWrapper(raw, encoding="cp1252"))
    output.write("/show/日本語/a.ma")
    sys.stdout.flush()
    assert raw.getvalue().decode("cp1252") == "/show/\\u65e5\\u672c\\u8a9e/a.ma\n"


def test_emit_prints_json_or_text(capsys):
    output.emit(True, {"path": "/ショット/a.ma", "b": 1, "a": 2}, "ignored", sort_keys=True)
    output.emit(False, {"x": 1}, "readable line")
    out = capsys.readouterr().out.splitlines()
    assert json.loads(out[0]) == {"path": "/ショット/a.ma", "b": 1, "a": 2} and "ショット" in out[0]
    assert out[0].index('"a"') < out[0].index('"b"') and out[1] == "readable line"


def test_human_size():
    assert [output.human_size(n) for n in (0, 987, 4139, 5 * 1024 ** 2, 3 * 1024 ** 5)] == \
        ["0 B", "987 B", "4.0 KB", "5.0 MB", "3072.0 TB"]


def test_progress_only_for_a_terminal_and_one_line_even_with_a_newline_in_a_path(monkeypatch):
    monkeypatch.setattr(sys, "stderr", io.StringIO())
    assert output.progress_line() is None
    tty = _Tty()
    monkeypatch.setattr(sys, "stderr", tty)
    assert output.progress_line(enabled=False) is None
    show = output.progress_line()
    show(ProgressReport("upload", 1, 2, message="/a\nqueue 5"))
    output.end_progress_line()
    text = tty.getvalue()
    assert text.startswith("\rupload: 1/2  /a\\nqueue 5") and text.count("\n") == 1 and text.endswith("\n")
