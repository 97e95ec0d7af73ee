"""Named submit presets: the show's (``jobs.presets`` in the studio config) and the artist's own
files, listed by ``cloudsubmit presets``, used by ``submit --preset`` and checked like the
settings they stand for (one line naming the file and the key)."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from cloudsubmit.config import load_config
from cloudsubmit.errors import ConfigError
from cloudsubmit.presets import check_name, load_presets, save_preset

REPO = Path(__file__).resolve().parent.parent
DEMO = REPO / "cloudsubmit" / "examples" / "demo_shot"

STUDIO = """jobs:
  presets:
    preview: {frames: 1-3, chunk: 1, scout: false, priority: 5, scheduler: local}
    final: {chunk: 4, priority: 50, render_options: {aa: "6"}}
"""


def _studio(tmp_path: Path, text: str = STUDIO) -> Path:
    path = tmp_path / "studio.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def _env(tmp_path: Path) -> dict:
    return {"XDG_CONFIG_HOME": str(tmp_path / "cfg"), "XDG_DATA_HOME": str(tmp_path / "data"),
            "XDG_CACHE_HOME": str(tmp_path / "cache")}


def _user_dir(tmp_path: Path) -> Path:
    folder = tmp_path / "cfg" / "cloudsubmit" / "presets"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def test_a_saved_preset_loads_again_and_the_users_wins_over_the_shows(tmp_path):
    cfg = load_config(studio_file=str(_studio(tmp_path)), user_file=str(tmp_path / "none.yaml"), env={})
    folder = tmp_path / "mine"
    path = save_preset("final", {"chunk": 2, "place": {"render": "local"}, "frames": "1-10x2"}, folder)
    assert path == folder / "final.yaml" and path.read_text().startswith("# cloudsubmit preset 'final'")
    table = load_presets(cfg, folder)
    assert table.names() == ["final", "preview"] and table.problems == {}
    final, preview = table.find("final"), table.find("preview")
    assert (final.scope, final.origin, final.settings) == (
        "user", str(path), {"chunk": 2, "place": {"render": "local"}, "frames": "1-10x2"})
    assert (preview.scope, preview.origin) == ("studio", str(tmp_path / "studio.yaml"))
    assert preview.summary() == "frames 1-3, chunk 1, priority 5, scheduler local, no scout"
    with pytest.raises(ConfigError, match=r"no preset named 'nope' \(presets: final, preview\)"):
        table.find("nope")


@pytest.mark.parametrize("name", ["", "../up", "a/b", "with space", "-dash", "x" * 65, "a..b"])
def test_a_preset_name_is_a_safe_file_name(name, tmp_path):
    with pytest.raises(ConfigError, match="preset name"):
        save_preset(name, {"chunk": 2}, tmp_path)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("text, key, words", [
    ('chunk: "4"\n', "chunk", "chunk: expected integer, got string"),
    ("chunk: 0\n", "chunk", "chunk: must be at least 1, got 0"),
    ("chunks: 4\n", "chunks", "unknown key chunks (did you mean chunk?)"),
    ("place: {upload: cloud}\n", "place.upload", "place.upload: expected local, got 'cloud'"),
    ("place: {render: gpu}\n", "place.render", "place.render: expected local or cloud, got 'gpu'"),
    ("frames: 10-1x\n", "frames", "frames: "),
    ("scheduler: slurm\n", "scheduler", "scheduler: expected htcondor or local, got 'slurm'"),
    ("render_options: {aa: 6}\n", "render_options.aa", "render_options.aa: expected string, got integer"),
    ("post: [{name: comp}]\n", "post[0]", "post[0]: missing command"),
    ("- chunk\n", None, "a preset file must be a mapping, not list"),
    ("chunk: [\n", None, "invalid YAML"),
])
def test_a_bad_preset_file_is_one_line_naming_the_file_and_the_key(cli, tmp_path, text, key, words):
    bad = _user_dir(tmp_path) / "broken.yaml"
    bad.write_text(text, encoding="utf-8")
    (bad.parent / "good.yaml").write_text("chunk: 3\n", encoding="utf-8")
    listed = cli("presets", "--json", env=_env(tmp_path))
    assert listed.returncode == 2 and "Traceback" not in listed.stderr
    lines = listed.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"cloudsubmit: error: {bad}: ") and words in lines[0]
    out = json.loads(listed.stdout)
    assert [p["name"] for p in out["presets"]] == ["good"]  # the other presets stay usable
    assert out["problems"] == [lines[0][len("cloudsubmit: error: "):]]
    used = cli("submit", str(DEMO / "scenes" / "shot010_lighting.ma"), "--preset", "broken", "--dry-run", "--json",
               env=_env(tmp_path))
    assert used.returncode == 2 and used.stderr.count("\n") == 1 and str(bad) in used.stderr
    error = json.loads(used.stdout)
    assert error["file"] == str(bad) and error.get("key") == key


def test_a_bad_show_preset_names_the_studio_file_and_its_dotted_key(cli, tmp_path):
    studio = _studio(tmp_path, "jobs:\n  presets:\n    fast: {chunk: -1}\n    ok: {chunk: 2}\n")
    listed = cli("--config", str(studio), "presets", env=_env(tmp_path))
    assert listed.returncode == 2
    assert listed.stderr.strip() == (f"cloudsubmit: error: {studio}: jobs.presets.fast.chunk: must be at least 1, "
                                     "got -1")
    assert listed.stdout.splitlines()[1].split() == ["ok", "studio", "chunk", "2"]


def test_submit_takes_a_preset_and_the_flags_win_over_it(cli, tmp_path):
    """`submit --preset preview` writes the preset's frames, chunk and priority into the bundle;
    `--chunk 3` on the same line beats the preset's chunk."""
    import shutil

    shot = tmp_path / "demo_shot"
    shutil.copytree(str(DEMO), str(shot))
    scene = shot / "scenes" / "shot010_lighting.ma"
    flags = ["--config", str(_studio(tmp_path)), "--set", f"jobs.bundle_root={tmp_path / 'jobs'}",
             "--set", f"jobs.registry={tmp_path / 'jobs.jsonl'}"]
    plain = cli(*flags, "submit", str(scene), "--preset", "preview", "--dry-run", "--json", env=_env(tmp_path))
    assert plain.returncode == 0, plain.stderr
    plan = json.loads((Path(json.loads(plain.stdout)["bundle"]) / "job.json").read_text())["plan"]
    assert (plan["frames"], plan["chunk"], plan["priority"], plan["scout"]) == ([1, 2, 3], 1, 5, False)
    assert json.loads(plain.stdout)["scheduler"] == "local"
    over = cli(*flags, "submit", str(scene), "--preset", "final", "--frames", "1-5", "--chunk", "3",
               "--priority", "0", "--dry-run", "--json", env=_env(tmp_path))
    assert over.returncode == 0, over.stderr
    plan = json.loads((Path(json.loads(over.stdout)["bundle"]) / "job.json").read_text())["plan"]
    assert (plan["frames"], plan["chunk"], plan["priority"]) == ([1, 2, 3, 4, 5], 3, 0)
    assert plan["render_options"]["aa"] == "6"  # the preset's renderer option reached the plan
    missing = cli(*flags, "submit", str(scene), "--preset", "nope", "--dry-run", env=_env(tmp_path))
    assert missing.returncode == 2 and "no preset named 'nope' (presets: final, preview)" in missing.stderr


def test_presets_lists_the_shows_and_the_users(cli, tmp_path):
    save_preset("mine", {"frames": "1-10", "scout": True}, _user_dir(tmp_path))
    out = cli("--config", str(_studio(tmp_path)), "presets", env=_env(tmp_path))
    assert out.returncode == 0, out.stderr
    assert out.stdout.splitlines() == [
        "NAME     FROM    SETTINGS",
        "final    studio  chunk 4, priority 50, aa=6",
        "mine     user    frames 1-10, scout",
        "preview  studio  frames 1-3, chunk 1, priority 5, scheduler local, no scout",
    ]
    empty = cli("presets", env=_env(tmp_path / "other"))
    assert empty.returncode == 0 and empty.stdout.startswith("no presets yet: save one from the panel")


def test_check_name_accepts_ordinary_names():
    assert [check_name(n) for n in ("final", "lighting-preview", "v2.1", "A_b")] == ["final", "lighting-preview",
                                                                                     "v2.1", "A_b"]
