"""``cloudsubmit stage post``: a studio's own step after the renders (a local comp, a review
upload, the frame-renaming script of the original setup), from ``jobs.post`` in config."""
from __future__ import annotations

import os
from typing import Any, Dict

from ..jobs.tables import expand_command
from .common import StageContext, run_command, run_stage, scene_tokens


def body(ctx: StageContext) -> Dict[str, Any]:
    post = next(p for p in ctx.plan.post if p["name"] == ctx.node.post)
    plan = ctx.plan
    tokens = dict(scene_tokens(ctx, plan.scene, plan.frames), start=str(plan.frames[0]), end=str(plan.frames[-1]),
                  output_dir=plan.output_dir or ",".join(ctx.job.get("output_dirs") or []), bundle=str(ctx.bundle or ""))
    argv = expand_command(post["command"], tokens, f"jobs.post {post['name']}")
    run_command(ctx, argv, os.environ, plan.scene)
    return {"command": argv}


def main(ref: str, node: str) -> int:
    return run_stage("post", ref, node, body)
