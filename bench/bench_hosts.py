"""What a host snapshot costs the DCC's main thread on a big scene, beyond the DCC's own calls:
10,000 Maya file nodes and 10,000 Houdini file references through the adapters, against the
hand-written fakes (so the figure is the adapters' own Python, not Maya's or Houdini's).

Run: ``python bench/bench_hosts.py``."""
from __future__ import annotations

import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE.parent), str(HERE.parent / "tests")]

from support.hostfakes import FakeCmds, FakeHou, _Node, installed, maya_modules, maya_scene  # noqa: E402

from cloudsubmit.hosts.base import snapshot  # noqa: E402
from cloudsubmit.hosts.houdini import HoudiniHost  # noqa: E402
from cloudsubmit.hosts.maya import MayaHost  # noqa: E402

N = 10_000


def big_maya() -> FakeCmds:
    cmds = maya_scene("/gs/show")
    for i in range(N):
        cmds.nodes[f"tex{i}"] = {"type": "file", "useFrameExtension": i % 10 == 0, "frameOffset": 0, "uvTilingMode": 3}
    cmds.files = {f"/gs/show/tex/d{d:03d}": [(f"t{i}.1001.tx", f"tex{i}.fileTextureName")
                                            for i in range(d * 100, d * 100 + 100)] for d in range(N // 100)}
    return cmds


def big_hou() -> FakeHou:
    hou = FakeHou("/gs/show/fx.hip")
    for i in range(N):
        node = _Node(f"/obj/geo{i}/file1", "file", "Sop", {"file": f"$HIP/geo/g{i}.$F4.bgeo.sc"})
        hou._refs.append((node.parm("file"), f"$HIP/geo/g{i}.$F4.bgeo.sc"))
    return hou


def timed(label: str, fn) -> None:
    start = time.perf_counter()
    snap = fn()
    print(f"  {label:<36} {len(snap.refs):6d} refs  {(time.perf_counter() - start) * 1000:8.1f} ms")


if __name__ == "__main__":
    with installed(maya_modules(big_maya())):
        timed("Maya snapshot (filePathEditor)", lambda: snapshot(MayaHost()))
    with installed({"hou": big_hou()}):
        timed("Houdini snapshot (fileReferences)", lambda: snapshot(HoudiniHost()))
