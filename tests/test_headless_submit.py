"""`mayapy -m cloudsubmit submit`: the live session answers, and for every frame the job renders.

No Maya here: the session is the host fakes of exactly the `maya.cmds` calls the adapter makes
(tests/support/hostfakes.py); the command, the scan of what the session lists, the plan and the
bundle are the real ones."""
from __future__ import annotations

import json
from pathlib import Path

from cloudsubmit.cli import main
from support.hostfakes import installed, maya_modules, maya_scene


def _lighting_scene(root: Path):
    """The fakes' lighting scene, saved on disk, with rs_beauty rendering 1090-1120 (a render
    setup override) where the scene says 1001-1096, and the per-frame fire texture (frame offset
    10) on disk for 1011-1130 only: the frames both layers need."""
    cmds = maya_scene(root.as_posix())
    cmds.nodes["defaultRenderGlobals"]["layers"] = {"rs_beauty": {"startFrame": 1090.0, "endFrame": 1120.0}}
    scene = root / "shots" / "sh010_lighting.ma"
    scene.parent.mkdir(parents=True)
    scene.write_text("//Maya ASCII 2025 scene\n", encoding="utf-8")
    (root / "tex").mkdir()
    for f in range(1011, 1131):
        (root / "tex" / f"fire.{f}.exr").write_bytes(b"f")
    return cmds, scene


def test_mayapy_submit_of_two_layers_lists_every_frame_they_render(tmp_path, monkeypatch, capsys):
    """Under mayapy the file list comes from the live session. With two layers chosen, rs_beauty
    renders up to 1120 while the scene's range ends at 1096: the session is asked again for the
    union, so fire.1107-1130 go into the job and it is not refused for missing plates."""
    cmds, scene = _lighting_scene(tmp_path / "show")
    monkeypatch.setenv("MAYA_LOCATION", "/usr/autodesk/maya2025")
    monkeypatch.delenv("CLOUDSUBMIT_OFFLINE", raising=False)
    argv = ["--set", f"jobs.registry={tmp_path / 'r.jsonl'}", "--set", 'jobs.generic_command=["true"]', "submit", str(scene), "--layer", "defaultRenderLayer",
            "--layer", "rs_beauty", "--renderer", "generic", "--dry-run", "--bundle-dir", str(tmp_path / "b"),
            "--allow-missing", "--json"]
    with installed(maya_modules(cmds)):
        code = main(argv)
    out = capsys.readouterr()
    assert code == 0, out.err
    assert cmds.opened == [scene.as_posix()]  # opened once, asked twice
    bundle = Path(json.loads(out.out)["bundle"])
    sent = json.loads((bundle / "input_paths.json").read_text(encoding="utf-8"))["files"]
    fire = sorted(p for p in sent if "/tex/fire." in p)
    assert fire == [(tmp_path / "show" / "tex" / f"fire.{f}.exr").as_posix() for f in range(1011, 1131)]
    plan = json.loads((bundle / "job.json").read_text(encoding="utf-8"))["plan"]
    assert plan["frames_spec"] == "1001-1120"
