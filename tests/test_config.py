from __future__ import annotations

import pytest

from cloudsubmit.config import load_config, parse_override
from cloudsubmit.errors import ConfigError


def write(path, text):
    path.write_text(text, encoding="utf-8")
    return str(path)


def test_layers_apply_in_order(tmp_path):
    studio = write(tmp_path / "studio.yaml", "scan:\n  max_reference_depth: 10\n  tx_siblings: false\n")
    user = write(tmp_path / "user.yaml", "scan:\n  max_reference_depth: 5\n")
    cfg = load_config(studio_file=studio, user_file=user, overrides={"scan.max_reference_depth": 3}, env={})
    assert cfg.get("scan.tx_siblings") is False          # studio beat the default
    assert cfg.get("scan.max_reference_depth") == 3      # command line beat user beat studio
    assert cfg.sources == ["defaults", studio, user, "command line"]


def test_studio_file_from_environment(tmp_path):
    studio = write(tmp_path / "s.yaml", "scan:\n  follow_references: false\n")
    cfg = load_config(env={"CLOUDSUBMIT_CONFIG": studio, "CLOUDSUBMIT_USER_CONFIG": str(tmp_path / "none.yaml")})
    assert cfg.get("scan.follow_references") is False


def test_unknown_key_names_file_and_key(tmp_path):
    bad = write(tmp_path / "studio.yaml", "scan:\n  max_refrence_depth: 3\n")
    with pytest.raises(ConfigError) as err:
        load_config(studio_file=bad, env={})
    assert str(bad) in err.value.message and "scan.max_refrence_depth" in err.value.message
    assert err.value.exit_code == 2


def test_wrong_type_names_key_and_types(tmp_path):
    bad = write(tmp_path / "studio.yaml", "scan:\n  follow_references: 'yes please'\n")
    with pytest.raises(ConfigError) as err:
        load_config(studio_file=bad, env={})
    assert "scan.follow_references" in err.value.message and "expected boolean" in err.value.message


def test_open_mappings_accept_new_keys(tmp_path):
    studio = write(tmp_path / "s.yaml", "paths:\n  roots:\n    gs: {linux: /gs, windows: 'Z:/'}\n")
    cfg = load_config(studio_file=studio, env={})
    assert cfg.get("paths.roots") == {"gs": {"linux": "/gs", "windows": "Z:/"}}


def test_broken_yaml_is_one_line(tmp_path):
    bad = write(tmp_path / "s.yaml", "scan: [unclosed\n")
    with pytest.raises(ConfigError) as err:
        load_config(studio_file=bad, env={})
    assert str(bad) in err.value.message and "\n" not in err.value.message


def test_missing_studio_file(tmp_path):
    with pytest.raises(ConfigError) as err:
        load_config(studio_file=str(tmp_path / "nope.yaml"), env={})
    assert "nope.yaml" in err.value.message


def test_override_values_are_typed():
    assert parse_override("jobs.chunk=10") == ("jobs.chunk", 10)
    assert parse_override("scan.tx_siblings=false") == ("scan.tx_siblings", False)
    with pytest.raises(ConfigError):
        parse_override("nonsense")


def test_cli_reports_bad_config_in_one_line(tmp_path, cli):
    bad = write(tmp_path / "studio.yaml", "nosuchsection:\n  a: 1\n")
    res = cli("--config", bad, "config")
    assert res.returncode == 2
    assert res.stderr.strip().count("\n") == 0 and "nosuchsection" in res.stderr
