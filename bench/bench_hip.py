"""Scan throughput of the Houdini .hip reader on a generated scene: many SOP networks whose nodes
carry realistic parameter lists (one file parameter among dozens of numbers and strings), plus a
channel expression per ROP. Prints MB/s and nodes/s; not a test.

    python bench/bench_hip.py [nodes] [folder]"""
from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from support.hipwriter import HipWriter  # noqa: E402

from cloudsubmit.scan import houdini_hip  # noqa: E402
from cloudsubmit.scan.model import ReadContext  # noqa: E402

FILLER = {f"parm{i}": ([0.5, 1.0, 2.0] if i % 3 else f"value {i}") for i in range(60)}


def build(nodes: int) -> HipWriter:
    w = HipWriter()
    for n in range(nodes):
        geo = f"obj/geo{n // 100}"
        if n % 100 == 0:
            w.node(geo, "geo", dict(FILLER))
        w.node(f"{geo}/file{n}", "file", dict(FILLER, file=f"$HIP/geo/asset{n}.$F4.bgeo.sc"))
        if n % 500 == 0:
            w.node(f"out/rop{n}", "ifd", {"vm_picture": ("vm_picture", "/x.exr")},
                   chn={"vm_picture": '"$HIP/render/$HIPNAME.$OS.$F4.exr"'})
    return w


def main() -> None:
    count = int(sys.argv[1]) if len(sys.argv) > 1 else 20000
    folder = Path(sys.argv[2]) if len(sys.argv) > 2 else Path(tempfile.mkdtemp(prefix="bench_hip_", dir="."))
    path = build(count).write(folder / "big.hip")
    mb = path.stat().st_size / 1e6
    t0 = time.perf_counter()
    res = houdini_hip.read(str(path), ReadContext())
    dt = time.perf_counter() - t0
    print(f"{mb:.0f} MB, {count} file nodes, {len(res.refs)} refs in {dt:.2f} s: "
          f"{mb / dt:.0f} MB/s, {count / dt:.0f} nodes/s")
    path.unlink()


if __name__ == "__main__":
    main()
