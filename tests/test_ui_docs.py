"""The docs stay true: every config key is documented, every example config loads, every image
the docs show exists."""
from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

from cloudsubmit.config import OPEN, load_config, packaged_defaults

DOCS = Path(__file__).resolve().parent.parent / "docs"


def config_keys(tree, prefix=""):
    for key, value in tree.items():
        if key == OPEN:
            continue
        if isinstance(value, dict) and not value.get(OPEN):
            yield from config_keys(value, f"{prefix}{key}.")
        else:
            yield prefix + key


def test_every_config_key_is_documented():
    text = (DOCS / "config.md").read_text(encoding="utf-8")

    def documented(key: str) -> bool:  # `a.b.c`, or a row like "`a.b.x` / `.c`"
        parent, leaf = key.rsplit(".", 1)
        return f"`{key}`" in text or (f"`.{leaf}`" in text and f"`{parent}." in text)

    assert [k for k in config_keys(packaged_defaults()) if not documented(k)] == []


@pytest.mark.parametrize("page", ["config.md", "studio-setup.md"])
def test_example_configs_in_the_docs_load(page, tmp_path):
    blocks = re.findall(r"```yaml\n(.*?)```", (DOCS / page).read_text(encoding="utf-8"), re.S)
    assert blocks
    for i, block in enumerate(blocks):
        path = tmp_path / f"example{i}.yaml"
        path.write_text(block, encoding="utf-8")
        cfg = load_config(studio_file=str(path), user_file=os.devnull, env={})
        assert cfg.sources[1] == str(path)


def test_images_the_docs_show_exist():
    for page in DOCS.glob("*.md"):
        for image in re.findall(r"!\[[^\]]*\]\(([^)]+)\)", page.read_text(encoding="utf-8")):
            assert (DOCS / image).is_file(), f"{page.name}: {image}"


def test_links_between_pages_resolve():
    for page in DOCS.glob("*.md"):
        for target in re.findall(r"\]\(([^)#:]+\.md)(?:#[^)]*)?\)", page.read_text(encoding="utf-8")):
            assert (DOCS / target).is_file(), f"{page.name}: link to {target}"


def test_the_first_make_demo_says_what_it_is_installing(tmp_path):
    """A newcomer's first `make demo` sits through the install: make's own dry run shows the
    message comes first, and that a second run (the venv there) skips both."""
    import shutil
    import subprocess

    make = shutil.which("make")
    if make is None:
        pytest.skip("no make on this machine")
    repo = DOCS.parent
    first = subprocess.run([make, "-n", "--no-print-directory", "demo", f"VENV={tmp_path / 'v'}"], cwd=str(repo),
                           capture_output=True, text=True, timeout=60)
    lines = first.stdout.splitlines()
    assert first.returncode == 0 and lines[0].startswith("echo \"First run: creating") and "a minute or two" in lines[0]
    (tmp_path / "v").mkdir()
    (tmp_path / "v" / ".installed-dev").write_text("")  # newer than setup.py: installed
    again = subprocess.run([make, "-n", "--no-print-directory", "demo", f"VENV={tmp_path / 'v'}"], cwd=str(repo),
                           capture_output=True, text=True, timeout=60)
    assert "First run" not in again.stdout and " demo --work-dir" in again.stdout
