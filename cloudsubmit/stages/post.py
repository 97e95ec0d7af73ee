"""``cloudsubmit stage post``: a studio's own step after the renders (a local comp, a review
upload, the frame-renaming script of the original setup), from ``jobs.post`` in config."""
from __future__ import annotations

import os
import subprocess
from pathlib import Path
from typing import Any, Dict

from ..errors import CloudSubmitError
from ..frames import compact
from ..jobs.tables import expand_command
from .common import StageContext, run_stage


def body(ctx: StageContext) -> Dict[str, Any]:
    post = next(p for p in ctx.plan.post if p["name"] == ctx.node.post)
    plan = ctx.plan
    tokens = {"scene": plan.scene, "scene_dir": str(Path(plan.scene).parent), "scene_name": Path(plan.scene).stem,
              "frames": compact(plan.frames), "start": str(plan.frames[0]), "end": str(plan.frames[-1]),
              "job_id": plan.job_id, "output_dir": plan.output_dir or ",".join(ctx.job.get("output_dirs") or []),
              "bundle": str(ctx.bundle or ""), "node": ctx.node.name}
    argv = expand_command(post["command"], tokens, f"jobs.post {post['name']}")
    cwd = Path(plan.scene).parent
    ctx.log("running " + " ".join(argv))
    try:
        code = subprocess.call(argv, cwd=str(cwd if cwd.is_dir() else ctx.workdir), env=dict(os.environ),
                               stdin=subprocess.DEVNULL)
    except OSError as exc:
        raise CloudSubmitError(f"cannot start {argv[0]}: {exc.strerror or exc}") from None
    if code != 0:
        raise CloudSubmitError(f"{argv[0]} exited with {code}")
    return {"command": argv}


def main(ref: str, node: str) -> int:
    return run_stage("post", ref, node, body)
