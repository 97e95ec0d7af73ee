"""`cloudsubmit scan` and `cloudsubmit demo` as a user runs them: JSON shape, table, exit codes."""
from __future__ import annotations

import json

from fixtures.maya_files import file_node, node, touch, write_ma

KEYS = {"path", "exists", "size", "kind", "source", "problem"}


def shot(tmp_path, missing=False):
    for f in range(1, 6):
        touch(tmp_path / "plates" / f"bg.{f:04d}.png")
    touch(tmp_path / "tex dir" / "wood grain.png")
    touch(tmp_path / "tex dir" / "表面.png")
    blocks = [file_node("wood", "tex dir/wood grain.png"), file_node("jp", "tex dir/表面.png"),
              node("imagePlane", "bgShape", 'setAttr ".imn" -type "string" "plates/bg.0001.png";', 'setAttr ".ufe" yes;')]
    if missing:
        blocks.append(file_node("lost", "/nowhere/lost.png"))
    return write_ma(tmp_path / "shot.ma", blocks, codeset="932", encoding="cp932")


def test_json_shape_and_exit_0(cli, tmp_path):
    scene = shot(tmp_path)
    res = cli("scan", str(scene), "--frames", "2-3", "--json")
    assert res.returncode == 0, res.stderr
    out = json.loads(res.stdout)
    assert set(out) == {"scene", "frames", "dependencies", "outputs", "warnings"}
    assert out["scene"] == scene.as_posix() and out["frames"] == "2-3"
    assert all(set(d) == KEYS for d in out["dependencies"])
    paths = {d["path"]: d for d in out["dependencies"]}
    assert (tmp_path / "tex dir" / "表面.png").as_posix() in paths
    assert paths[(tmp_path / "tex dir" / "wood grain.png").as_posix()]["source"] == "wood.fileTextureName"
    plates = sorted(p.rsplit("/", 1)[1] for p in paths if "/plates/" in p)
    assert plates == ["bg.0002.png", "bg.0003.png"]
    assert all(p.startswith("/") and "\\" not in p for p in paths)


def test_missing_file_exit_1_and_table_totals(cli, tmp_path):
    scene = shot(tmp_path, missing=True)
    res = cli("scan", str(scene), "--frames", "1")
    assert res.returncode == 1
    assert "MISSING" in res.stdout and "/nowhere/lost.png" in res.stdout
    assert "total: 5 files" in res.stdout and "1 missing" in res.stdout
    out = json.loads(cli("scan", str(scene), "--frames", "1", "--json").stdout)
    lost = [d for d in out["dependencies"] if d["path"] == "/nowhere/lost.png"]
    assert lost == [{"path": "/nowhere/lost.png", "exists": False, "size": None, "kind": "texture", "source": "lost.fileTextureName",
                    "problem": ""}]


def test_bad_input_is_exit_2_with_one_line(cli, tmp_path):
    garbage = tmp_path / "corrupt.ma"
    garbage.write_bytes(b"\x00" * 64)
    for args, needle in ((["scan", str(garbage)], "corrupt.ma"),
                         (["scan", str(tmp_path / "nope.hip")], "nope.hip"),
                         (["scan", str(shot(tmp_path)), "--frames", "x-y"], "x-y"),
                         (["scan", str(shot(tmp_path)), "--frames", "1.5"], "1.5"),
                         (["scan", str(shot(tmp_path)), "--frames", ""], "empty"),
                         (["scan", str(tmp_path / "notes.doc")], "notes.doc")):
        res = cli(*args)
        assert res.returncode == 2, args
        assert needle in res.stderr and len(res.stderr.strip().splitlines()) == 1 and "Traceback" not in res.stderr


def test_demo_prints_the_example_table(cli, tmp_path):
    res = cli("demo", "--work-dir", str(tmp_path / "w"))
    assert res.returncode == 0, res.stderr
    assert "sky dome.hdr" in res.stdout and "chair_diffuse.1002.png" in res.stdout
    assert "plate.0004.png" not in res.stdout  # on disk, but outside the shot's 1-3
    assert "0 missing" in res.stdout and (tmp_path / "w" / "demo_shot").is_dir()


def test_project_flag_resolves_project_relative_paths(cli, tmp_path):
    project = tmp_path / "show_project"
    (project / "workspace.mel").parent.mkdir(parents=True)
    (project / "workspace.mel").write_text('workspace -fr "sourceImages" "maps";\n', encoding="utf-8")
    touch(project / "maps" / "rock.png")
    scene = write_ma(tmp_path / "elsewhere" / "shot.ma", [file_node("rock", "rock.png")])
    without = json.loads(cli("scan", str(scene), "--json").stdout)
    assert [d["exists"] for d in without["dependencies"] if d["kind"] == "texture"] == [False]
    res = cli("scan", str(scene), "--project", str(project), "--json")
    assert res.returncode == 0, res.stdout
    tex = [d for d in json.loads(res.stdout)["dependencies"] if d["kind"] == "texture"]
    assert [(d["path"], d["exists"]) for d in tex] == [((project / "maps" / "rock.png").as_posix(), True)]
    bad = cli("scan", str(scene), "--project", str(tmp_path / "nope"))
    assert bad.returncode == 2 and "nope" in bad.stderr
