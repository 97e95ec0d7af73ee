"""Logical paths: configured roots per platform, Windows drive paths, automatic roots."""
from __future__ import annotations

import pytest

from cloudsubmit.errors import ConfigError
from cloudsubmit.store.roots import Roots, auto_root

TABLE = {
    "gs": {"linux": "/gs", "windows": "Z:/", "cloud": "/gs"},
    "proj": {"linux": "/gs/projects", "windows": "Z:/projects"},
    "lib": "/mnt/lib",
}


def test_same_file_same_logical_path_on_linux_and_windows():
    linux, windows = Roots(TABLE, "linux"), Roots(TABLE, "windows")
    assert linux.logical("/gs/work/neo/a.exr") == ("gs", "work/neo/a.exr")
    assert windows.logical("Z:\\work\\neo\\a.exr") == ("gs", "work/neo/a.exr")
    assert windows.logical("z:/WORK/neo/a.exr") == ("gs", "WORK/neo/a.exr")  # drive letters ignore case


def test_longest_root_wins_and_strings_apply_everywhere():
    r = Roots(TABLE, "linux")
    assert r.logical("/gs/projects/x/y.ma") == ("proj", "x/y.ma")
    assert r.logical("/gs/projectsX/y.ma") == ("gs", "projectsX/y.ma")  # not a prefix match on names
    assert r.logical("/mnt/lib/../lib/t.tx") == ("lib", "t.tx")
    assert Roots(TABLE, "windows").logical("/mnt/lib/t.tx") == ("lib", "t.tx")


def test_files_outside_every_root_get_an_automatic_root():
    r = Roots(TABLE, "linux")
    assert r.logical("/home/neo/tex.png") == ("_posix", "home/neo/tex.png")
    w = Roots(TABLE, "windows")
    assert w.logical("C:\\Users\\neo\\tex.png") == ("_drive_c", "Users/neo/tex.png")
    assert w.logical("//server/share/tex.png") == ("_unc", "server/share/tex.png")
    assert auto_root("D:/x") == ("_drive_d", "x")


def test_local_path_inverts_logical_per_platform():
    r = Roots(TABLE, "linux")
    assert r.local_path("gs", "work/a.exr", "windows") == "Z:/work/a.exr"
    assert r.local_path("gs", "work/a.exr", "cloud") == "/gs/work/a.exr"
    assert r.local_path("proj", "x", "cloud") is None  # no place on cloud nodes: the caller maps it
    assert r.local_path("_posix", "home/neo/t.png") == "/home/neo/t.png"
    assert r.local_path("_drive_c", "Users/t.png", "windows") == "C:/Users/t.png"
    assert r.local_path("_posix", "home/neo/t.png", "cloud") is None
    for path in ("/gs/a/b", "/home/x", "/mnt/lib/q"):
        assert r.local_path(*r.logical(path)) == path


@pytest.mark.parametrize("table, fragment", [
    ({"_gs": "/gs"}, "paths.roots._gs"),
    ({"gs": {"linx": "/gs"}}, "unknown platform 'linx'"),
    ({"gs": 5}, "expected a path"),
])
def test_bad_root_config_is_named(table, fragment):
    with pytest.raises(ConfigError) as err:
        Roots(table, "linux")
    assert fragment in err.value.message
