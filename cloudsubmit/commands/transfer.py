"""``cloudsubmit download`` and ``cloudsubmit materialise``: the job side of the store.

``download JOB`` brings a job's rendered outputs home (what the DAG's download stage runs, and
what an artist runs by hand to fetch a finished job again). ``materialise JOB --session DIR`` puts
a job's inputs on a render node and prints the path-mapping rules as JSON, so a stage script or a
TD can path-map a renderer without importing cloudsubmit."""
from __future__ import annotations

import argparse

from .output import emit, end_progress_line, human_size, progress_line


def register(sub) -> None:
    d = sub.add_parser("download", help="download a job's rendered outputs into their output folders")
    d.add_argument("job", metavar="JOB", help="job id")
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


def _open(args: argparse.Namespace):
    from ..cli import load_cli_config
    from ..store import open_store

    cfg = load_cli_config(args)
    store = open_store(args.store, cfg)
    threads = args.threads or int(cfg.get("store.transfer.threads", 8))
    return cfg, store, max(1, threads)


def _describe(rep) -> str:
    return f"{rep.stage}: {rep.done}/{rep.total} files, {human_size(rep.bytes_done)}/{human_size(rep.bytes_total)}"


def run_download(args: argparse.Namespace) -> int:
    from ..store.outputs import download_outputs

    _cfg, store, threads = _open(args)
    try:
        rep = download_outputs(store.backend, args.job, args.dest, threads=threads,
                               progress=progress_line(_describe, not args.json))
    finally:
        store.close()
    end_progress_line(not args.json)
    emit(args.json, rep.__dict__, f"{rep.job_id}: {rep.downloaded_files} files downloaded "
         f"({human_size(rep.downloaded_bytes)}), {rep.skipped_files} already present, into {', '.join(rep.targets)}",
         sort_keys=True)
    return 0


def run_materialise(args: argparse.Namespace) -> int:
    from ..store.layouts import materialise_job

    cfg, store, threads = _open(args)
    try:
        rep = materialise_job(store.backend, args.job, args.session, cfg, cache_dir=args.cache,
                              threads=threads, progress=progress_line(_describe, not args.json))
    finally:
        store.close()
    end_progress_line(not args.json)
    lines = [f"{rep.job_id}: {rep.files} files in {rep.session} ({rep.blobs_fetched} downloaded, "
             f"{rep.blobs_cached} from the node cache, {human_size(rep.bytes_fetched)})"]
    emit(args.json, rep.to_json(), "\n".join(lines + [f"  {src} -> {dst}" for src, dst in rep.rules]), sort_keys=True)
    return 0
