"""A stand-in renderer for the demo and tests: reads the scene (so a missing input fails like a
real renderer would) and writes one real PNG per frame, using only the standard library.

    python -m cloudsubmit.stages.imagegen --scene S --frames 1-10 --out DIR

Images are named as the scene's render settings name them (a Maya scene's image file prefix:
``<Scene>/<RenderLayer>/beauty`` gives ``beauty.0001.png``), so what ``scan`` reports as the
output is what appears; other scenes give ``<scene stem>.0001.png``."""
from __future__ import annotations

import argparse
import struct
import sys
import zlib
from pathlib import Path
from typing import List, Optional

SIZE = 64


def png_bytes(width: int, height: int, rgb_rows: List[bytes]) -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    raw = b"".join(b"\x00" + row for row in rgb_rows)
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b"")


def frame_image(seed: int, frame: int) -> bytes:
    """A gradient whose colour depends on the scene's bytes and a bar that moves with the frame."""
    r, g = seed & 0xFF, (seed >> 8) & 0xFF
    rows = []
    for y in range(SIZE):
        row = bytearray()
        for x in range(SIZE):
            bar = abs(x - (frame * 3) % SIZE) < 3
            row += bytes((255, 255, 255) if bar else (r, g, (x * 4 + y) & 0xFF))
        rows.append(bytes(row))
    return png_bytes(SIZE, SIZE, rows)


def image_name(scene: str) -> str:
    """The file name the scene's first declared output gives its images (its last path part,
    ``<Scene>`` filled in), or the scene's stem when it declares none or cannot be read."""
    from ..errors import CloudSubmitError
    from ..scan.model import ReadContext
    from ..scan.readers import READERS, scene_extension

    import importlib

    stem = Path(scene).stem
    module = READERS.get(scene_extension(scene))
    try:
        refs = importlib.import_module(module).read(scene, ReadContext()).refs if module else []
    except CloudSubmitError:
        refs = []
    names = [r.value.replace("<Scene>", stem).rsplit("/", 1)[-1] for r in refs if r.output and r.kind == "render"]
    return next((n for n in names if n and "<" not in n), stem)


def main(argv: Optional[List[str]] = None) -> int:
    from ..frames import parse_frames

    p = argparse.ArgumentParser(prog="imagegen")
    p.add_argument("--scene", required=True)
    p.add_argument("--frames", required=True)
    p.add_argument("--out", required=True)
    args = p.parse_args(argv)
    try:
        seed = zlib.crc32(Path(args.scene).read_bytes())
    except OSError as exc:
        print(f"imagegen: cannot read scene {args.scene}: {exc.strerror}", file=sys.stderr)
        return 2
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    stem = image_name(args.scene)
    for frame in parse_frames(args.frames):
        target = out / f"{stem}.{frame:04d}.png"
        tmp = out / f".tmp-{target.name}"
        tmp.write_bytes(frame_image(seed, frame))
        tmp.replace(target)
        print(f"imagegen: wrote {target}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
