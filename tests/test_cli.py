"""The CLI's contract with users: one-line errors, exit codes 0/1/2, help that works anywhere."""
from __future__ import annotations


def test_help_lists_commands(cli):
    res = cli("--help")
    assert res.returncode == 0
    assert "config" in res.stdout


def test_no_command_prints_help_and_exits_2(cli):
    res = cli()
    assert res.returncode == 2 and "usage" in res.stdout.lower()


def test_unknown_command_is_bad_input(cli):
    res = cli("frobnicate")
    assert res.returncode == 2
    assert "invalid choice" in res.stderr and "Traceback" not in res.stderr


def test_bad_override_is_one_line(cli):
    res = cli("--set", "nonsense", "config")
    assert res.returncode == 2
    assert res.stderr.strip() == "cloudsubmit: error: --set nonsense: expected KEY=VALUE"


def test_config_json_shows_sources(cli, tmp_path):
    studio = tmp_path / "studio.yaml"
    studio.write_text("scan:\n  tx_siblings: false\n", encoding="utf-8")
    res = cli("--config", str(studio), "config", "--json")
    assert res.returncode == 0, res.stderr
    import json

    out = json.loads(res.stdout)
    assert out["sources"][0] == "defaults" and str(studio) in out["sources"]
    assert out["config"]["scan"]["tx_siblings"] is False


def test_usage_errors_are_one_line(cli):
    res = cli("scan")  # missing SCENE
    assert res.returncode == 2
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1 and "scene" in lines[0] and "--help" in lines[0]


def test_resolve_exits_1_when_files_are_missing(cli, tmp_path):
    """Like `scan`: a script can tell that the scene cannot render as it stands."""
    import json

    present = tmp_path / "tex.exr"
    present.write_bytes(b"pixels")
    manifest = tmp_path / "m.json"
    manifest.write_text(json.dumps({"files": [str(present), str(tmp_path / "gone.exr")]}), encoding="utf-8")
    store = tmp_path / "store"
    store.mkdir()
    res = cli("resolve", "--manifest", str(manifest), "--store", "file://" + store.as_posix(), "--json")
    assert res.returncode == 1, res.stderr
    out = json.loads(res.stdout)
    assert out["to_upload_files"] == 1 and len(out["missing"]) == 1
    present_only = tmp_path / "ok.json"
    present_only.write_text(json.dumps({"files": [str(present)]}), encoding="utf-8")
    assert cli("resolve", "--manifest", str(present_only), "--store", "file://" + store.as_posix()).returncode == 0
