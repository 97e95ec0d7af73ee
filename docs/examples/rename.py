"""The studio's frame-renaming step, chunk-aware: copy render/layout_Arnold.NNNN.exr to
OUT/renamed.NNNN.exr for frames START..END (run from the shot folder, /gs/work/neo/cloudTest)."""
import shutil
import sys
from pathlib import Path

start, end, out = int(sys.argv[1]), int(sys.argv[2]), Path(sys.argv[3])
out.mkdir(parents=True, exist_ok=True)
for frame in range(start, end + 1):
    shutil.copyfile(Path("render") / f"layout_Arnold.{frame:04d}.exr", out / f"renamed.{frame:04d}.exr")
    print(f"renamed.{frame:04d}.exr")
