"""Config files written by hand: every bad value is one line naming the file and the dotted key
(exit 2), checked when the file is loaded, never echoing a value that may be a secret."""
from __future__ import annotations

import json

import pytest

from cloudsubmit.config import is_secret_key, load_config
from cloudsubmit.config_rules import choices
from cloudsubmit.errors import ConfigError


def _studio(tmp_path, text: str, name: str = "studio.yaml") -> str:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return str(path)


@pytest.mark.parametrize("text,key,words", [
    ("jobs:\n  pools:\n    farm: gpu-nodes\n", "jobs.pools.farm", "expected mapping, got string"),
    ("jobs:\n  pools:\n    farm: {cloud: 4}\n", "jobs.pools.farm.cloud", "expected mapping, got integer"),
    ("jobs:\n  retry:\n    render: -1\n", "jobs.retry.render", "at least 0"),
    ("jobs:\n  renderers:\n    maya: {command: 'Render -r arnold {scene}'}\n", "jobs.renderers.maya.command",
     "expected list, got string"),
    ("store:\n  layout: bogus\n", "store.layout", "expected cas or mirror, got 'bogus'"),
    ("store:\n  packs: {pack_mb: 0}\n", "store.packs.pack_mb", "at least 1"),
    ("store:\n  s3: {retry_mode: fast}\n", "store.s3.retry_mode", "adaptive, standard or legacy"),
    ("jobs:\n  scheduler: slurm\n", "jobs.scheduler", "htcondor or local"),
    ("jobs:\n  place: {render: gpu}\n", "jobs.place.render", "expected local or cloud, got 'gpu'"),
    ("jobs:\n  place: {upload: cloud}\n", "jobs.place.upload", "reads the artist's files"),
    ("paths:\n  mapping: [garbage]\n", "paths.mapping[0]", "expected mapping, got string"),
    ("paths:\n  mapping: [{from: 'Z:/'}]\n", "paths.mapping[0]", "missing to"),
    ("paths:\n  mapping: [{from: 'Z:/', to: 3}]\n", "paths.mapping[0].to", "expected string, got integer"),
    ("paths:\n  mapping: [{from: 'Z:/', to: /gs, form: x}]\n", "paths.mapping[0]", "unknown key 'form'"),
    ("jobs:\n  chunk: 0\n", "jobs.chunk", "at least 1"),
])
def test_a_bad_value_names_the_file_and_the_dotted_key(tmp_path, cli, text, key, words):
    studio = _studio(tmp_path, text)
    with pytest.raises(ConfigError) as err:
        load_config(studio_file=studio, env={})
    assert err.value.message.startswith(f"{studio}: {key}") and words in err.value.message, err.value.message
    assert err.value.key == key and err.value.file == studio and err.value.exit_code == 2
    res = cli("--config", studio, "config")
    assert res.returncode == 2 and res.stderr.count("\n") == 1 and "internal error" not in res.stderr
    assert key in res.stderr and res.stdout == ""


def test_a_later_layer_is_checked_too_and_named(tmp_path):
    user = _studio(tmp_path, "jobs:\n  retry: {download: 1000}\n", "user.yaml")
    with pytest.raises(ConfigError) as err:
        load_config(user_file=user, env={})
    assert err.value.message == f"{user}: jobs.retry.download: must be at most 100, got 1000"
    with pytest.raises(ConfigError) as err:
        load_config(overrides={"store.layout": "foo"}, env={})
    assert err.value.message == "command line: store.layout: expected cas or mirror, got 'foo'"


def test_a_pool_is_updated_key_by_key_across_layers(tmp_path):
    studio = _studio(tmp_path, "jobs:\n  pools:\n    farm:\n      local: {request_cpus: 1}\n      cloud: {request_cpus: 8}\n")
    user = _studio(tmp_path, "jobs:\n  pools:\n    farm:\n      cloud: {request_memory: 32GB}\n", "user.yaml")
    cfg = load_config(studio_file=studio, user_file=user, env={})
    assert cfg.get("jobs.pools.farm.cloud") == {"request_cpus": 8, "request_memory": "32GB"}
    assert cfg.origin("jobs.pools.farm.cloud.request_cpus") == user  # the user layer set the entry last


def test_a_type_error_never_echoes_the_value(tmp_path):
    studio = _studio(tmp_path, "store:\n  url: [AKIAIOSFODNN7EXAMPLE, wJalrXUtnFEMI/K7MDENG]\n")
    with pytest.raises(ConfigError) as err:
        load_config(studio_file=studio, env={})
    assert "AKIA" not in err.value.message and "wJal" not in err.value.message
    assert err.value.message == f"{studio}: store.url: expected string, got list"


def test_a_config_that_is_not_utf8_is_one_line(tmp_path, cli):
    studio = tmp_path / "studio.yaml"
    studio.write_bytes("jobs:\n  output_dir: /show/シーン\n".encode("shift_jis"))
    res = cli("--config", str(studio), "config")
    assert res.returncode == 2 and res.stderr.count("\n") == 1, res.stderr
    assert str(studio) in res.stderr and "not UTF-8" in res.stderr and "internal error" not in res.stderr


def test_a_yaml_alias_bomb_is_refused_quickly(tmp_path, cli):
    lines = ["a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    lines += [f"a{i}: &a{i} [*a{i - 1}, *a{i - 1}, *a{i - 1}, *a{i - 1}, *a{i - 1}, *a{i - 1}, *a{i - 1}, "
              f"*a{i - 1}, *a{i - 1}, *a{i - 1}]" for i in range(1, 9)]
    studio = _studio(tmp_path, "paths:\n  roots:\n    " + "\n    ".join(lines) + "\n")
    res = cli("--config", studio, "config", "--json")
    assert res.returncode == 2 and "more than 100000 values" in res.stderr and str(studio) in res.stderr
    assert json.loads(res.stdout)["file"] == studio


@pytest.mark.parametrize("key", ["AccessKeyId", "apiKey", "auth", "aws_secret_access_key", "Authorization",
                                 "session-token", "password"])
def test_the_snapshot_drops_every_secret_named_key(tmp_path, key):
    assert is_secret_key(key)
    studio = _studio(tmp_path, f"paths:\n  roots:\n    gs:\n      linux: /gs\n      {key}: hunter2\n")
    snap = load_config(studio_file=studio, env={}).snapshot()
    assert snap["paths"]["roots"]["gs"] == {"linux": "/gs"} and "hunter2" not in json.dumps(snap)


def test_ordinary_keys_are_not_taken_for_secrets():
    assert not any(is_secret_key(k) for k in ("url", "layout", "request_memory", "path_mapping", "output_dir"))


def test_choices_come_from_the_rules_table():
    assert choices("jobs.place.render") == ["local", "cloud"] and choices("jobs.place.upload") == ["local"]
    assert choices("jobs.place.comp") == ["local", "cloud"] and choices("store.layout") == ["cas", "mirror"]
    assert choices("jobs.chunk") == []


def test_config_shows_where_each_key_came_from(tmp_path, cli):
    studio = _studio(tmp_path, "jobs:\n  chunk: 5\n")
    res = cli("--config", studio, "config", "--set", "jobs.scout=true")
    assert res.returncode == 0, res.stderr
    lines = {line.split()[0]: line for line in res.stdout.splitlines() if not line.startswith("#")}
    assert lines["jobs.chunk"].endswith(f"# {studio}") and " 5 " in lines["jobs.chunk"]
    assert lines["jobs.scout"].endswith("# command line") and lines["jobs.max_renders"].endswith("# defaults")
    one = json.loads(cli("--config", studio, "config", "jobs.place", "--json").stdout)
    assert one["config"] == {"jobs.place": {"upload": "local", "render": "cloud", "download": "local"}}
    assert one["origins"] == {f"jobs.place.{s}": "defaults" for s in ("download", "render", "upload")}
