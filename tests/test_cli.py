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
