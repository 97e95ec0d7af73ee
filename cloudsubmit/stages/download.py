"""``cloudsubmit stage download``: on a local node, bring the job's rendered outputs home, into
the output folders the scene declared (or the job's output_dir)."""
from __future__ import annotations

from typing import Any, Dict

from .common import StageContext, run_stage


def body(ctx: StageContext) -> Dict[str, Any]:
    from ..store import open_store
    from ..store.manifest import output_roots
    from ..store.outputs import download_outputs

    store = open_store(ctx.store_url, ctx.config)
    try:
        # into the folders this workstation wrote into the bundle (never the store's word, nor a node's)
        declared = output_roots(ctx.job.get("output_dirs") or [])
        rep = download_outputs(store.backend, ctx.plan.job_id, None, threads=store.threads, declared=declared)
        ctx.log(f"{rep.downloaded_files} files ({rep.downloaded_bytes} bytes) to {', '.join(rep.targets)}")
        return {"files": rep.files, "downloaded_files": rep.downloaded_files,
                "downloaded_bytes": rep.downloaded_bytes, "skipped_files": rep.skipped_files,
                "targets": rep.targets}
    finally:
        store.close()


def main(ref: str, node: str) -> int:
    return run_stage("download", ref, node, body)
