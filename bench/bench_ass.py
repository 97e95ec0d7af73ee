"""Scan throughput of the Arnold .ass reader on a generated file: big polymesh blocks (the bulk of
real .ass files) with an image node after each. Prints MB/s; not a test.

    python bench/bench_ass.py [size_mb] [folder]"""
from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

from cloudsubmit.scan import arnold_ass
from cloudsubmit.scan.model import ReadContext

MESH_LINES = 2000


def write(path: Path, size_mb: int) -> int:
    verts = "\n".join("-0.5 -0.5 0.5 0.5 -0.5 0.5 -0.5 0.5 0.5 0.5 0.5 0.5" for _ in range(MESH_LINES))
    target, n = size_mb * 1024 * 1024, 0
    with open(path, "w", encoding="utf-8") as fh:
        fh.write('options\n{\n texture_searchpath "/show/tex:/show/more"\n}\n')
        while fh.tell() < target:
            fh.write(f"polymesh\n{{\n name mesh{n}\n vlist {MESH_LINES * 4} 1 VECTOR\n{verts}\n shader s{n}\n}}\n\n")
            fh.write(f'image\n{{\n name tex{n}\n filename "/show/tex/t{n}.<udim>.tx"\n}}\n\n')
            n += 1
    return n


def main() -> None:
    size = int(sys.argv[1]) if len(sys.argv) > 1 else 200
    folder = Path(sys.argv[2]) if len(sys.argv) > 2 else Path(tempfile.mkdtemp(prefix="bench_ass_", dir="."))
    path = folder / "big.ass"
    nodes = write(path, size)
    mb = path.stat().st_size / 1e6
    t0 = time.perf_counter()
    res = arnold_ass.read(str(path), ReadContext())
    dt = time.perf_counter() - t0
    assert len(res.refs) == nodes, (len(res.refs), nodes)
    print(f"{mb:.0f} MB, {nodes} image nodes, {len(res.refs)} refs in {dt:.2f} s: {mb / dt:.0f} MB/s")
    path.unlink()


if __name__ == "__main__":
    main()
