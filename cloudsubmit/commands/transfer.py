"""``cloudsubmit download`` and ``cloudsubmit materialise``: the job side of the store.

``download JOB`` brings a job's rendered outputs home (what the DAG's download stage runs, and
what an artist runs by hand to fetch a finished job again). ``materialise JOB --session DIR`` puts
a job's inputs on a render node and prints the path-mapping rules as JSON, so a stage script or a
TD can path-map a renderer without importing cloudsubmit."""
from __future__ import annotations

import argparse

from .output import add_progress_flag, emit, end_progress, human_size, progress_printer


def register(sub) -> None:
    d = sub.add_parser("download", help="download a job's rendered outputs into their output folders")
    d.add_argument("job", metavar="JOB", help="job id (or a unique prefix) or bundle folder; the job's own store is used")
    d.add_argument("--dest", metavar="DIR", help="download under DIR instead of the declared output folders")
    _common(d)
    d.set_defaults(func=run_download)

    m = sub.add_parser("materialise", help="put a job's inputs in a session folder on this node (node cache + hard links)")
    m.add_argument("job", metavar="JOB", help="job id")
    m.add_argument("--session", metavar="DIR", required=True, help="session folder: inputs land in DIR/<root>/<path>")
    m.add_argument("--cache", metavar="DIR", help="node blob cache (default: store.transfer.node_cache)")
    _common(m)
    m.set_defaults(func=run_materialise)


def _common(p: argparse.ArgumentParser) -> None:
    p.add_argument("--store", metavar="URL", help="s3://bucket/prefix or file:///dir (default: $CLOUDSUBMIT_STORE, store.url)")
    p.add_argument("--threads", type=int, metavar="N", help="parallel transfers (default: store.transfer.threads)")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    add_progress_flag(p)


def _open(args: argparse.Namespace, check_known: bool = False):
    """``(config, job id, store, threads, job.json or None)``. A job this machine submitted (an id, a prefix or its
    bundle) is read from the store its ``job.json`` names, unless ``--store`` says otherwise; a job
    unknown here is looked up in the configured store, and with ``check_known`` one that is in
    neither is bad input ("no such job", not "no outputs yet")."""
    from ..cli import load_cli_config
    from ..errors import StoreError
    from ..jobs.bundle import load_job
    from ..jobs.registry import lookup_bundle
    from ..store import open_store
    from ..storekeys import inputs_key, outputs_prefix

    cfg = load_cli_config(args)
    bundle = lookup_bundle(cfg, args.job)
    job = load_job(bundle) if bundle else {"job_id": args.job, "store": ""}
    store = open_store(args.store or job.get("store") or None, cfg)
    if check_known and bundle is None and not store.backend.exists(inputs_key(args.job)) and \
            not any(True for _ in store.backend.list(outputs_prefix(args.job))):
        store.close()
        raise StoreError(f"{args.job}: no such job (not submitted from here, and not in {store.url}; "
                         "see `cloudsubmit jobs`)", exit_code=2)
    threads = args.threads or int(cfg.get("store.transfer.threads", 8))
    return cfg, str(job["job_id"]), store, max(1, threads), (job if bundle else None)


def _declared(job: "dict | None") -> "dict | None":
    """The output folders a download may write to, from the job's bundle, which this workstation
    wrote; never from the store (anyone with a node's credentials can rewrite it). None for a job
    not submitted from here: then only --dest says where files go."""
    from ..errors import SubmitError
    from ..store.manifest import output_roots

    if job is None:
        return None
    dirs = job.get("output_dirs") or []
    if not isinstance(dirs, list) or not all(isinstance(d, str) for d in dirs):
        raise SubmitError(f"job {job.get('job_id')}: damaged job file (output_dirs)", exit_code=2)
    return output_roots(dirs)


def run_download(args: argparse.Namespace) -> int:
    from ..store.outputs import download_outputs

    _cfg, job_id, store, threads, job = _open(args, check_known=True)
    try:
        rep = download_outputs(store.backend, job_id, args.dest, threads=threads,
                               progress=progress_printer(args), declared=_declared(job))
    finally:
        store.close()
    end_progress(args)
    emit(args.json, rep.to_json(), f"{rep.job_id}: {rep.downloaded_files} files downloaded "
         f"({human_size(rep.downloaded_bytes)}), {rep.skipped_files} already present, into {', '.join(rep.targets)}",
         sort_keys=True)
    return 0


def run_materialise(args: argparse.Namespace) -> int:
    from ..store.layouts import materialise_job

    cfg, job_id, store, threads, _job = _open(args)
    try:
        rep = materialise_job(store.backend, job_id, args.session, cfg, cache_dir=args.cache,
                              threads=threads, progress=progress_printer(args))
    finally:
        store.close()
    end_progress(args)
    lines = [f"{rep.job_id}: {rep.files} files in {rep.session} ({rep.blobs_fetched} downloaded, "
             f"{rep.blobs_cached} from the node cache, {human_size(rep.bytes_fetched)})"]
    emit(args.json, rep.to_json(), "\n".join(lines + [f"  {src} -> {dst}" for src, dst in rep.rules]), sort_keys=True)
    return 0
