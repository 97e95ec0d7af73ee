"""The core must load inside any DCC: no maya, hou or Qt at import time, and Python 3.9 syntax."""
from __future__ import annotations

import ast
import json
import os
import pkgutil
import subprocess
import sys
from pathlib import Path

import cloudsubmit

REPO = Path(__file__).resolve().parent.parent
FORBIDDEN = ("maya", "hou", "PySide2", "PySide6", "PyQt5", "PyQt6", "Qt", "shiboken2", "shiboken6", "pxr")
NOT_CORE = ("cloudsubmit.ui", "cloudsubmit.hosts")


def core_modules():
    out = ["cloudsubmit"]
    for info in pkgutil.walk_packages(cloudsubmit.__path__, "cloudsubmit."):
        if not info.name.startswith(NOT_CORE):
            out.append(info.name)
    return out


def test_core_imports_no_dcc_and_no_qt():
    mods = core_modules()
    assert "cloudsubmit.cli" in mods and "cloudsubmit.config" in mods
    code = (
        "import importlib, json, sys\n"
        f"for m in {mods!r}: importlib.import_module(m)\n"
        f"print(json.dumps(sorted(n for n in sys.modules if n.split('.')[0] in {FORBIDDEN!r})))\n"
    )
    env = dict(os.environ, PYTHONPATH=str(REPO))
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True)
    assert json.loads(out.stdout) == []


def test_cli_help_imports_nothing_heavy():
    code = (
        "import sys\nfrom cloudsubmit.cli import build_parser\nbuild_parser()\n"
        "heavy=[m for m in ('boto3','htcondor2','fileseq','yaml','maya','hou','PySide6','PySide2') if m in sys.modules]\n"
        "print(','.join(heavy))\n"
    )
    env = dict(os.environ, PYTHONPATH=str(REPO))
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True)
    assert out.stdout.strip() == ""


def python_sources():
    for top in ("cloudsubmit", "maya", "houdini"):
        yield from sorted((REPO / top).rglob("*.py"))


def test_everything_a_dcc_loads_parses_as_python_39():
    files = list(python_sources())
    assert files
    for path in files:
        src = path.read_text(encoding="utf-8")
        try:
            ast.parse(src, filename=str(path), feature_version=(3, 9))
        except SyntaxError as exc:  # pragma: no cover - the message is the point
            raise AssertionError(f"{path}: not Python 3.9 syntax: {exc}") from None
        tree = ast.parse(src)
        uses_annotations = any(
            isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef)) and (n.returns or any(a.annotation for a in n.args.args))
            for n in ast.walk(tree)
        ) or any(isinstance(n, ast.AnnAssign) for n in ast.walk(tree))
        if uses_annotations:
            assert "from __future__ import annotations" in src, f"{path}: annotations without the __future__ import"
