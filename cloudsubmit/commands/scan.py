"""`cloudsubmit scan SCENE`: every file a scene needs for the chosen frames.

Exit codes are the contract scripts rely on: 0 nothing missing, 1 files missing (or a
referenced file incomplete), 2 bad input
(unreadable scene, unknown format, bad frame spec) with one line naming the file."""
from __future__ import annotations

import argparse
import os
from typing import List

from ..errors import EXIT_FAILED, EXIT_OK, ConfigError
from .output import add_progress_flag, end_progress, human_size, progress_printer, write, write_json


def register(sub) -> None:
    """Add ``scan`` to the CLI parser."""
    p = sub.add_parser(
        "scan", help="list every file a scene needs for the chosen frames",
        description="Read a Maya, Houdini, USD or Arnold scene offline and list every file it needs "
                    "(references followed, tokens expanded against disk for the chosen frames).",
    )
    p.add_argument("scene", help="scene file (.ma .mb .hip .usd .ass ...)")
    p.add_argument("--frames", metavar="SPEC", help="frames, e.g. 1-100, 1-100x5, 1,5,10-20 (default: the scene's range)")
    p.add_argument("--project", metavar="DIR", help="Maya project root (default: nearest folder above the scene with workspace.mel)")
    p.add_argument("--json", action="store_true", help="print one JSON object instead of a table")
    add_progress_flag(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from ..cli import load_cli_config
    from ..frames import parse_frames
    from ..hosts.headless import headless_scan

    cfg = load_cli_config(args)
    frames = parse_frames(args.frames) if args.frames is not None else None  # --frames '' is an error, not 'all'
    if args.project and not os.path.isdir(args.project):
        raise ConfigError(f"{args.project}: --project is not a folder")
    # Under mayapy/hython the scene is opened and the live session answers; elsewhere the offline readers.
    result = headless_scan(args.scene, frames=frames, project=args.project, config=cfg, progress=progress_printer(args))
    end_progress(args)
    if args.json:
        write_json(result.to_dict(), indent=2)
    else:
        write(format_table(result))
    return EXIT_FAILED if result.problems else EXIT_OK


def format_table(result) -> str:
    """A readable table: status, size, kind, path, source; then outputs, warnings and totals."""
    lines: List[str] = [f"scene:  {result.scene}", f"frames: {result.frames or '(all on disk)'}", ""]
    rows = [("", "SIZE", "KIND", "PATH", "SOURCE")]
    for d in result.dependencies:
        status = "MISSING" if not d.exists else ("INCOMPLETE" if d.problem else "ok")
        source = f"{d.source}; {d.problem}" if d.problem else d.source
        rows.append((status, human_size(d.size) if d.size is not None else "-", d.kind, d.path, source))
    widths = [max(len(r[i]) for r in rows) for i in range(3)]
    for r in rows:
        lines.append(f"{r[0]:<{widths[0]}}  {r[1]:>{widths[1]}}  {r[2]:<{widths[2]}}  {r[3]}  ({r[4]})" if r[4] != "SOURCE"
                     else f"{r[0]:<{widths[0]}}  {r[1]:>{widths[1]}}  {r[2]:<{widths[2]}}  {r[3]}  {r[4]}")
    if result.outputs:
        lines += ["", "outputs (rendered, never uploaded):"] + [f"  {o.path}  ({o.source})" for o in result.outputs]
    if result.warnings:
        lines += ["", "warnings:"] + [f"  {w}" for w in result.warnings]
    files, size, missing = result.totals()
    incomplete = sum(1 for d in result.dependencies if d.exists and d.problem)
    lines += ["", f"total: {files} files, {human_size(size)}, {missing} missing"
              + (f", {incomplete} incomplete" if incomplete else "")]
    return "\n".join(lines)
