"""``cloudsubmit stage upload``: on a local node, send what the job needs that the store lacks.

It resolves again rather than trusting submit time: a teammate may have uploaded some of the files
since, and a file may have changed. Then it writes the job's input manifest, which the render
nodes materialise from."""
from __future__ import annotations

import json
from typing import Any, Dict, List

from ..errors import StoreError
from ..jobs.bundle import INPUT_PATHS_NAME
from .common import StageContext, run_stage


def input_paths(ctx: StageContext) -> List[str]:
    path = ctx.bundle_file(INPUT_PATHS_NAME) or ctx.bundle_file("inputs.json")  # bundles written before the rename
    if path is None:
        raise StoreError(f"job {ctx.plan.job_id}: the bundle has no {INPUT_PATHS_NAME}", exit_code=2)
    data = json.loads(path.read_text(encoding="utf-8"))
    return [str(p) for p in data.get("files", [])]


def body(ctx: StageContext) -> Dict[str, Any]:
    from ..store import open_store, resolve
    from ..store.layouts import send_inputs
    from ..store.manifest import inputs_manifest, write_inputs

    store = open_store(ctx.store_url, ctx.config)
    try:
        paths = input_paths(ctx)
        res = resolve(paths, store, ctx.config)
        if res.missing or res.refused:
            bad = (res.missing + res.refused)[0]
            raise StoreError(f"{len(res.missing) + len(res.refused)} input file(s) cannot be sent, "
                             f"first: {bad.path} ({bad.reason or bad.state})", exit_code=2)
        ctx.log(f"{len(res.to_upload)} of {len(res.files)} files to upload ({res.to_upload_bytes} bytes)")
        sent = send_inputs(res, store, ctx.config)
        write_inputs(store.backend, inputs_manifest(ctx.plan.job_id, res.files, output_dirs=ctx.output_dirs(),
                                                    locate=store.index.locations({f.hash for f in res.files}).get))
        return dict(sent, files=len(res.files))
    finally:
        store.close()


def main(ref: str, node: str) -> int:
    return run_stage("upload", ref, node, body)
