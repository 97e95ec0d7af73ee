"""``cloudsubmit resolve``, ``upload`` and ``index verify|compact``: the team store from a shell.

Every command takes ``--store URL`` (else ``$CLOUDSUBMIT_STORE``, else ``store.url`` from config,
else the embedded default directory). ``upload --manifest FILE`` reads JSON that is either the
output of ``cloudsubmit scan --json`` (``{"scene": ..., "dependencies": [{"path": ...}]}``) or a
plain ``{"files": ["/path", ...]}``; relative paths are taken against the manifest's folder."""
from __future__ import annotations

import argparse
import json
import os
import sys
from typing import TYPE_CHECKING, Any, Dict, List

from ..errors import EXIT_FAILED, EXIT_OK
from ..gc_pause import paused_gc
from .output import add_progress_flag, emit, end_progress, human_size, progress_printer, write_json_texts

if TYPE_CHECKING:
    from ..config import Config


def _common(p: argparse.ArgumentParser) -> None:
    p.add_argument("--store", metavar="URL", default=None,
                   help="s3://bucket/prefix or file:///dir (default: $CLOUDSUBMIT_STORE, then store.url)")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    add_progress_flag(p)


def _inputs(p: argparse.ArgumentParser) -> None:
    p.add_argument("scene", nargs="?", help="scene file to scan (.ma .mb .hip .usd .ass)")
    p.add_argument("--manifest", metavar="FILE", help="JSON list of files instead of a scene (see module docs)")
    p.add_argument("--frames", metavar="SPEC", help="frames the scan should cover, e.g. 1-100x2")


def register(sub) -> None:
    p = sub.add_parser("resolve", help="what of a scene is in the team store already, and what must be uploaded")
    _inputs(p)
    _common(p)
    p.set_defaults(func=run_resolve)

    p = sub.add_parser("upload", help="upload what the team store lacks and record it in the team index")
    _inputs(p)
    _common(p)
    p.add_argument("--allow-missing", "--skip-missing", dest="allow_missing", action="store_true",
                   help="upload the rest when some files are missing (--skip-missing is the old name)")
    p.add_argument("--recheck", action="store_true",
                   help="use only this machine's own hashes, download this scene's blobs (mirror layout: keys) and re-send "
                        "any that are lost, short or wrong (after 'index verify')")
    p.set_defaults(func=run_upload)

    p = sub.add_parser("index", help="check or compact the team index")
    isub = p.add_subparsers(dest="index_command", metavar="ACTION")
    v = isub.add_parser("verify", help="every indexed blob exists with its size (--deep: and hashes to its name)")
    v.add_argument("--deep", action="store_true", help="read and hash every blob")
    v.add_argument("--claims", metavar="N", nargs="?", type=int, const=1000, default=0,
                   help="also hash up to N files on this machine that the index makes claims about (default 1000)")
    _common(v)
    v.set_defaults(func=run_verify)
    c = isub.add_parser("compact", help="fold all index shards into one snapshot")
    _common(c)
    c.set_defaults(func=run_compact)
    g = isub.add_parser("gc", help="remove what killed uploads left: temp files, incomplete multipart uploads, idle node-cache locks")
    g.add_argument("--older-than", metavar="HOURS", type=float, default=24.0,
                   help="only leftovers begun this long ago, so no live upload is touched (default 24)")
    _common(g)
    g.set_defaults(func=run_gc)
    r = isub.add_parser("repair", help="move damaged index shards to quarantine/ (their sound entries are kept)")
    _common(r)
    r.set_defaults(func=run_repair)
    p.set_defaults(func=lambda args: (p.print_help(), 2)[1])


def _manifest_paths(path: str) -> List[str]:
    from ..errors import StoreError

    try:
        with open(path, encoding="utf-8") as f:
            doc = json.load(f)
    except OSError as exc:
        raise StoreError(f"{path}: cannot read manifest ({exc.strerror or exc})", exit_code=2) from None
    except ValueError as exc:
        raise StoreError(f"{path}: not JSON ({exc})", exit_code=2) from None
    if isinstance(doc, dict) and isinstance(doc.get("files"), list):
        items = doc["files"]
    elif isinstance(doc, dict) and isinstance(doc.get("dependencies"), list):
        items = ([doc["scene"]] if isinstance(doc.get("scene"), str) else []) + [d.get("path") if isinstance(d, dict) else d for d in doc["dependencies"]]
    else:
        raise StoreError(f"{path}: expected {{\"files\": [...]}} or the output of 'cloudsubmit scan --json'", exit_code=2)
    if not all(isinstance(i, str) and i for i in items):
        raise StoreError(f"{path}: every file must be a non-empty string path", exit_code=2)
    bad = next((i for i in items if "\x00" in i), None)
    if bad is not None:
        raise StoreError(f"{path}: file path {bad!r} contains a NUL character", exit_code=2)
    base = os.path.dirname(os.path.abspath(path))
    if os.sep == "/":  # POSIX: isabs is a leading slash, tested inline (a 100k-file manifest calls it 100k times)
        return [i if i[:1] == "/" or ":" in i[:3] else os.path.join(base, i) for i in items]
    return [i if os.path.isabs(i) or ":" in i[:3] else os.path.join(base, i) for i in items]


def _scene_paths(args: argparse.Namespace, cfg: Config) -> List[str]:
    from ..errors import StoreError

    if bool(args.scene) == bool(args.manifest):
        raise StoreError("give a SCENE or --manifest FILE (one of them)", exit_code=2)
    if args.manifest:
        return _manifest_paths(args.manifest)
    from ..scan import scan_scene

    frames = None
    if args.frames is not None:  # --frames '' is an error, not 'the scene's range'
        from ..frames import parse_frames

        frames = parse_frames(args.frames)
    deps = scan_scene(args.scene, frames=frames, config=cfg, progress=progress_printer(args))
    return [deps.scene] + [d.path for d in deps.dependencies]  # the scene is needed too; duplicates fold


def _prepare(args: argparse.Namespace):
    from ..cli import load_cli_config
    from ..store import open_store
    from ..store.layouts import resolve_inputs

    cfg = load_cli_config(args)
    paths = _scene_paths(args, cfg)
    store = open_store(args.store, cfg)
    trust = not getattr(args, "recheck", False)  # a recheck takes no teammate's claim
    return store, resolve_inputs(paths, store, cfg, progress=progress_printer(args), trust_team=trust)


def _emit(args: argparse.Namespace, out: Dict[str, Any], lines: List[str], store: Any = None) -> None:
    end_progress(args)
    if store is not None:
        _warn_index(store)
    emit(args.json, out, "\n".join(lines), indent=2)


def _warn_index(store: Any) -> None:
    """A damaged shard never stops the team: say which one, once per command, on stderr."""
    index = store.index
    for line in index.problem_lines() if index.loaded else []:
        print(f"cloudsubmit: warning: {line}", file=sys.stderr)


def run_resolve(args: argparse.Namespace) -> int:
    store, res = _prepare(args)
    out = dict(res.summary(), uploaded_files=0, uploaded_bytes=0)
    if args.json:  # one entry per file, written as it goes: 100k files are never one string
        end_progress(args)
        _warn_index(store)
        with paused_gc():  # 10^5 entries' row tuples, no cycles: no collection walking the resolution meanwhile
            write_json_texts(out, "entries", res.entry_texts())
    else:
        missing, refused = out["missing"], out["refused"]  # the summary's one pass: no walk per list
        lines = [f"{store.url}: {out['skipped_files']} files in the store, {out['to_upload_files']} to upload "
                 f"({human_size(out['to_upload_bytes'])}), {len(missing)} missing, {len(refused)} unreadable"]
        lines += [f"missing: {path}" for path in missing] + [f"unreadable: {r['path']} ({r['reason']})" for r in refused]
        _emit(args, out, lines, store)
    # Like `scan`: 1 tells a script the scene cannot render as it stands (files missing/unreadable).
    return EXIT_FAILED if out["missing"] or out["refused"] else EXIT_OK


def run_upload(args: argparse.Namespace) -> int:
    from ..errors import StoreError
    from ..store import UploadRefused
    from ..store.layouts import recheck_inputs, send_inputs

    store, res = _prepare(args)
    bad = res.refused + ([] if args.allow_missing else res.missing)
    if bad:
        more = f" (and {len(bad) - 1} more)" if len(bad) > 1 else ""
        hint = "" if res.refused else "; --allow-missing uploads the rest"
        raise StoreError(f"{bad[0].path}: {bad[0].reason}{more}; nothing uploaded{hint}", exit_code=2)
    force = recheck_inputs(res, store, progress=progress_printer(args)) if args.recheck else set()
    planned = res.summary()  # the upload moves files to "in store" as they land; report the plan it started from
    try:
        rep = send_inputs(res, store, progress=progress_printer(args), force=force)
    except UploadRefused as exc:  # print what did happen, then the one-line error
        _report_upload(args, store, planned, exc.report)
        raise
    _report_upload(args, store, planned, rep)
    return 0


def _report_upload(args: argparse.Namespace, store, planned: Dict[str, Any], rep) -> None:
    out = dict(planned, **rep.summary())
    packs = f", small files in {rep.packs} pack{'' if rep.packs == 1 else 's'}" if rep.packs else ""
    _emit(args, out, [f"{store.url}: uploaded {rep.uploaded_files} files ({human_size(rep.uploaded_bytes)}{packs}), "
                      f"{rep.skipped_files} already in the store, {rep.indexed_files} index entries written"], store)


def run_verify(args: argparse.Namespace) -> int:
    from ..cli import load_cli_config
    from ..store import open_store
    from ..store.layouts import verify_store

    cfg = load_cli_config(args)
    store = open_store(args.store, cfg)
    check = verify_store(store, deep=args.deep, progress=progress_printer(args))
    rep, key = check.report, check.key
    claims = None
    if args.claims:
        from ..store.roots import Roots

        claims = store.index.verify_claims(Roots.from_config(cfg).local_path, args.claims, store.threads,
                                           progress_printer(args))
    ok = rep.ok and (claims is None or claims.ok)
    out = {"store": store.url, "blobs": rep.blobs, "bytes": rep.bytes, "ok": ok,
           "missing": rep.missing, "wrong_size": rep.wrong_size, "wrong_hash": rep.wrong_hash,
           "bad_shards": rep.bad_shards, "packs": rep.packs, "bad_packs": rep.bad_packs}
    if claims is not None:
        out.update(claims_checked=claims.checked, claims_on_this_machine=claims.candidates,
                   wrong_claims=claims.wrong, conflicting_claims=claims.conflicts)
    in_packs = f", small files in {rep.packs} pack{'' if rep.packs == 1 else 's'}" if rep.packs else ""
    lines = [f"{store.url}: {rep.blobs} {check.noun} ({human_size(rep.bytes)}{in_packs}) "
             f"{'ok' if ok else 'DAMAGED'}" + ("" if args.deep else f" (sizes only; --deep hashes every {check.noun[:-1]})")]
    if claims is not None:
        lines.append(f"claims: hashed {claims.checked} of {claims.candidates} files on this machine, "
                     f"{len(claims.wrong)} wrong, {claims.conflicts} entries in conflicting claims (those are always hashed)")
        lines += [f"wrong claim: {line}" for line in claims.wrong]
    lines += [f"missing: {key(h)}" for h in rep.missing] + [f"wrong size: {key(h)}" for h in rep.wrong_size]
    lines += [f"wrong content: {key(h)}" for h in rep.wrong_hash]
    lines += [f"damaged: {line}" for line in rep.bad_shards] + [f"damaged: {line}" for line in rep.bad_packs]
    if rep.bad_shards:
        lines.append("run 'cloudsubmit index repair' to quarantine the damaged shards")
    if rep.missing or rep.wrong_size or rep.wrong_hash or rep.bad_packs:
        lines.append("from a machine that has the files: 'cloudsubmit upload SCENE --recheck' sends them again")
    _emit(args, out, lines)
    return 0 if ok else 1


def run_compact(args: argparse.Namespace) -> int:
    from ..cli import load_cli_config
    from ..store import open_store

    store = open_store(args.store, load_cli_config(args))
    rep = store.index.compact()
    out = {"store": store.url, "shards_before": rep.shards_before, "shards_folded": rep.shards_folded,
           "entries": rep.entries, "snapshot": rep.snapshot}
    _emit(args, out, [f"{store.url}: folded {rep.shards_folded} of {rep.shards_before} shards into "
                      f"{rep.snapshot or 'nothing (already compact)'} ({rep.entries} entries)"], store)
    return 0


def run_gc(args: argparse.Namespace) -> int:
    from ..cli import load_cli_config
    from ..errors import StoreError
    from ..store import open_store
    from ..store.materialise import node_cache_dir, remove_idle_locks
    from ..store.packs import orphan_packs

    if args.older_than < 0:
        raise StoreError("--older-than: expected hours >= 0", exit_code=2)
    cfg = load_cli_config(args)
    store = open_store(args.store, cfg)
    found = store.backend.leftovers(args.older_than * 3600)
    for name, _size in found:
        store.backend.remove_leftover(name)
    # a pack any entry ever named stays: a queued job's manifest may still read it
    packs = orphan_packs(store.backend, {e.pack for e in store.index.refresh().history() if e.pack},
                         args.older_than * 3600)
    store.backend.delete_many(k for k, _s in packs)
    found += packs
    locks = remove_idle_locks(node_cache_dir(cfg))
    freed = sum(s for _n, s in found)
    out = {"store": store.url, "removed": [n for n, _s in found], "bytes": freed, "node_cache_locks": locks,
           "orphan_packs": len(packs)}
    _emit(args, out, [f"{store.url}: removed {len(found)} leftovers ({human_size(freed)}; {len(packs)} packs no "
                      f"index entry names) older than {args.older_than:g} h, {locks} idle node-cache lock files"]
          + [f"removed: {n}" for n, _s in found])
    return 0


def run_repair(args: argparse.Namespace) -> int:
    from ..cli import load_cli_config
    from ..store import open_store
    from ..store.index import QUARANTINE_PREFIX

    store = open_store(args.store, load_cli_config(args))
    rep = store.index.repair()
    out = {"store": store.url, "quarantined": rep.quarantined, "rewritten": rep.rewritten}
    lines = [f"{store.url}: {len(rep.quarantined)} damaged index shards moved to {QUARANTINE_PREFIX}"
             + (f", their sound entries kept in {len(rep.rewritten)} new shards" if rep.rewritten else "")]
    lines += [f"quarantined: {key}" for key in rep.quarantined]
    _emit(args, out, lines)
    return 0
