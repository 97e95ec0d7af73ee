"""The per-user folders come from one module: the embedded store and the job registry share the
data folder, caches live apart, and the user config file is read from the config folder."""
from __future__ import annotations

from pathlib import Path

from cloudsubmit import userdirs
from cloudsubmit.config import load_config
from cloudsubmit.jobs.registry import record, registry_path
from cloudsubmit.store import dirs as store_dirs


def _point_xdg(monkeypatch, tmp_path: Path) -> None:
    for kind in ("DATA", "CACHE", "CONFIG"):
        monkeypatch.setenv(f"XDG_{kind}_HOME", str(tmp_path / kind.lower()))
    monkeypatch.delenv("CLOUDSUBMIT_USER_CONFIG", raising=False)
    monkeypatch.delenv("CLOUDSUBMIT_CONFIG", raising=False)


def test_store_and_registry_share_one_data_folder_apart_from_caches(tmp_path, monkeypatch):
    _point_xdg(monkeypatch, tmp_path)
    assert store_dirs.user_data_dir() == userdirs.user_data_dir() == tmp_path / "data" / "cloudsubmit"
    assert store_dirs.user_cache_dir() == userdirs.user_cache_dir() == tmp_path / "cache" / "cloudsubmit"
    cfg = load_config()
    assert registry_path(cfg) == tmp_path / "data" / "cloudsubmit" / "jobs.jsonl"
    record(cfg, {"job_id": "j1", "bundle": str(tmp_path)})
    assert (tmp_path / "data" / "cloudsubmit" / "jobs.jsonl").read_text(encoding="utf-8").count("j1") == 1


def test_user_config_file_is_read_from_the_user_config_folder(tmp_path, monkeypatch):
    _point_xdg(monkeypatch, tmp_path)
    folder = userdirs.user_config_dir()
    assert folder == tmp_path / "config" / "cloudsubmit"
    folder.mkdir(parents=True)
    (folder / "config.yaml").write_text("jobs:\n  chunk: 7\n", encoding="utf-8")
    cfg = load_config()
    assert cfg["jobs"]["chunk"] == 7
