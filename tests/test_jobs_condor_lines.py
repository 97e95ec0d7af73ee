"""Injection through line breaks: the one value check refuses every character any reader treats
as a line break, and the fallback ``.sub`` reader (machines without htcondor2) reads submit text
exactly as htcondor2 does, proven on the same corpus of hostile values."""
from __future__ import annotations

import random
from pathlib import Path

import pytest

from cloudsubmit.errors import SubmitError
from cloudsubmit.jobs import condor
from cloudsubmit.jobs.local_runner import KEYS, _expand_fallback

htcondor2 = pytest.importorskip("htcondor2")

#: every character str.splitlines breaks at, plus what HTCondor itself breaks at (\n)
LINE_BREAKS = ["\n", "\r", "\v", "\f", "\x1c", "\x1d", "\x1e", "\x85", "\u2028", "\u2029"]
OTHER_CONTROLS = ["\x00", "\x01", "\x1b", "\x7f", "\x80", "\x9f"]
INJECTION = 'job{}executable = /bin/touch{}arguments = "/x"'

PIECES = ["a", " ", "\t", "\\", "#", "=", "queue", "executable", "+", "$(DOLLAR)", "$(x:d)", "$$(y)",
          "$ENV(HOME)", '"', "'", ",", "日本", "\ufeff"] + LINE_BREAKS
TEMPLATES = [
    'executable = /bin/true\narguments = "x {v}"\ninitialdir = {v}\n',
    "executable = {v}\n",
    "executable = /b\narguments = $(node)\n",   # the value arrives as a DAG VARS macro
    "executable = /b\narguments = {v}",         # a last line with no newline
]


def _corpus(count: int, seed: int):
    rng = random.Random(seed)
    fixed = [INJECTION.format(c, c) for c in LINE_BREAKS] + ["a\\", "a \\", "x\\\n# c", "x\\\n#c d", "q\nqueue=1",
                                                            "$(DOLLAR)$(DOLLAR)", "\n+$(DOLLAR)#= ", "\\\n\\\n"]
    return fixed + ["".join(rng.choice(PIECES) for _ in range(rng.randint(1, 8))) for _ in range(count)]


def _htcondor(text: str, macros):
    try:
        sub = htcondor2.Submit(text)
        for k, v in macros.items():
            sub[k] = v
        out = {}
        for k in KEYS:
            try:
                out[k] = sub.expand(k) if k in sub else ""
            except KeyError:  # htcondor2's answer for a value that expands to nothing
                out[k] = ""
        return out
    except Exception:
        return "refused"


def _fallback(text: str, macros):
    try:
        return _expand_fallback(text, macros)
    except SubmitError:
        return "refused"


def test_the_fallback_reader_agrees_with_htcondor2_byte_for_byte():
    disagree = []
    for value in _corpus(1500, seed=20261201):
        for template in TEMPLATES:
            text = template.format(v=value)
            macros = {"node": value, "JOB": "render_0001"}
            if _htcondor(text, macros) != _fallback(text, macros):
                disagree.append(text)
    assert disagree == []


@pytest.mark.parametrize("ch", LINE_BREAKS + OTHER_CONTROLS, ids=repr)
def test_every_writer_refuses_line_breaks_and_controls(ch):
    value = INJECTION.format(ch, ch)
    writers = [condor.check_line, condor.submit_value, condor.classad_string, condor.quote_argument,
               condor.vars_value, condor.vars_argument, condor.dag_token]
    for write in writers:
        with pytest.raises(SubmitError) as err:
            write(value, "job name")
        assert err.value.exit_code == 2 and "job name" in err.value.message and "\n" not in err.value.message


def test_tabs_and_non_latin_names_still_pass():
    assert condor.check_line("/gs/日本語シーン/出力\tx", "output") == "/gs/日本語シーン/出力\tx"


@pytest.mark.parametrize("ch", ["\u2028", "\x85", "\r"], ids=repr)
def test_submit_name_with_a_line_separator_is_one_line_exit_2(cli, tmp_path, ch):
    scene = tmp_path / "shot.ma"
    scene.write_text('//Maya ASCII 2023 scene\nrequires maya "2023";\n', encoding="utf-8")
    bundle = tmp_path / "bundle"
    res = cli("submit", str(scene), "--frames", "1-2", "--place", "render=local", "--scheduler", "local",
              "--name", INJECTION.format(ch, ch), "--bundle-dir", str(bundle), "--dry-run")
    assert res.returncode == 2, res.stderr
    assert res.stderr.startswith("cloudsubmit: error: ") and res.stderr.count("\n") == 1
    assert not any(p.read_text(errors="replace").count("/bin/touch") for p in Path(tmp_path).rglob("*.sub"))
