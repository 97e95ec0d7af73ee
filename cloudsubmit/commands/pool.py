"""``cloudsubmit pool check``: can the farm run this studio's jobs? One probe job per placement.

``pool check`` submits the probes (``jobs/probe.py``) and reports, per placement, what the node
has: Python and cloudsubmit versions, the store reachable from there, the node cache writable, the
mapped roots present, and how long the probe waited for a slot (or why it never started).
``pool probe`` is what the probe job runs on the node; it prints one JSON object."""
from __future__ import annotations

import argparse
import json
import os
import platform
import secrets
import sys
from pathlib import Path
from typing import Any, Dict, List

from .output import emit


def register(sub) -> None:
    """Add ``pool check`` and ``pool probe`` to the CLI parser."""
    p = sub.add_parser("pool", help="check the HTCondor pool: `pool check` runs a probe job per placement")
    verbs = p.add_subparsers(dest="pool_command", metavar="VERB")
    c = verbs.add_parser("check", help="submit one tiny probe job per placement and report what each node has")
    c.add_argument("--place", choices=("local", "cloud"), action="append", help="only this placement (repeatable)")
    c.add_argument("--timeout", type=float, default=300.0, help="seconds to wait for each probe (default 300)")
    c.add_argument("--json", action="store_true", help="print one JSON object")
    c.set_defaults(func=run_check)
    n = verbs.add_parser("probe", help="(run by the probe job on a node) report what this node has")
    n.add_argument("probe", help="probe.json")
    n.add_argument("--place", choices=("local", "cloud"), required=True)
    n.set_defaults(func=run_probe)


def _line(r: Dict[str, Any]) -> str:
    node = r["node"]
    waited = f", waited {r['waited']:.0f} s for a slot" if r.get("waited") is not None else ""
    head = f"{r['place']:<6} {r['state']}{waited}" + (f" on {r['slot']}" if r.get("slot") else "")
    lines = [head]
    if node:
        lines.append(f"       Python {node.get('python')}, cloudsubmit {node.get('cloudsubmit')} "
                     f"(job format {node.get('job_format')}) on {node.get('host')}")
        lines.append(f"       store: {node.get('store')}; node cache: {node.get('node_cache')}")
        for root in node.get("roots", []):
            lines.append(f"       root {root}")
    for problem in node.get("problems", []) + ([r["reason"]] if r.get("reason") else []):
        lines.append(f"       problem: {problem}")
    return "\n".join(lines)


def run_check(args: argparse.Namespace) -> int:
    from ..cli import load_cli_config
    from ..jobs.probe import PLACES, pool_check

    cfg = load_cli_config(args)
    results = [r.to_dict() for r in pool_check(cfg, list(args.place or PLACES), args.timeout)]
    ok = all(r["state"] == "ok" for r in results)
    emit(args.json, {"ok": ok, "places": results}, "\n".join(_line(r) for r in results))
    return 0 if ok else 1


def _store(cfg: Any, problems: List[str]) -> str:
    from ..errors import CloudSubmitError
    from ..store import open_store, store_url

    url = store_url(None, cfg)
    if not url:
        problems.append("the store is the embedded folder of the submitting user: set store.url")
        return "embedded (not shared)"
    try:
        store = open_store(url, cfg)
        try:
            next(iter(store.backend.list("index/")), None)
        finally:
            store.close()
        return f"{url} reachable"
    except CloudSubmitError as exc:
        problems.append(f"store {url}: {exc.message}")
        return f"{url} NOT reachable"


def _node_cache(cfg: Any, problems: List[str]) -> str:
    from ..store.materialise import node_cache_dir

    where = Path(node_cache_dir(cfg))  # the folder a render on this node would use
    probe = where / f".probe-{secrets.token_hex(4)}"
    try:
        where.mkdir(parents=True, exist_ok=True)
        probe.write_bytes(b"probe")
        probe.unlink()
        return f"{where} writable"
    except OSError as exc:
        problems.append(f"node cache {where}: not writable ({exc.strerror or exc})")
        return f"{where} NOT writable"


def _roots(cfg: Any, place: str, problems: List[str]) -> List[str]:
    from ..store.roots import current_platform

    key = "cloud" if place == "cloud" else current_platform()
    out = []
    for name, where in sorted((cfg["paths"]["roots"] or {}).items()):
        location = where if isinstance(where, str) else (where or {}).get(key, "")
        if not location:
            continue
        here = os.path.isdir(location)
        out.append(f"{name}: {location} {'present' if here else 'MISSING'}")
        if not here:
            problems.append(f"root {name}: {location} is not on this node (is it mounted?)")
    return out


def run_probe(args: argparse.Namespace) -> int:
    from .. import __version__
    from ..config import Config
    from ..jobs.bundle import JOB_FORMAT

    problems: List[str] = []
    try:
        doc = json.loads(Path(args.probe).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        print(f"cloudsubmit pool probe: cannot read {args.probe} ({exc})", file=sys.stderr)
        return 2
    if doc.get("version") != JOB_FORMAT:
        problems.append(f"the workstation writes job format {doc.get('version')!r} ({doc.get('written_by')}); this "
                        f"node's cloudsubmit {__version__} reads format {JOB_FORMAT}: install the same version here")
    cfg = Config(doc.get("config") or {}, [args.probe])
    report = {"place": args.place, "host": platform.node(), "python": platform.python_version(),
              "executable": sys.executable, "cloudsubmit": __version__, "job_format": JOB_FORMAT,
              "written_by": doc.get("written_by", "")}
    report.update(store=_store(cfg, problems), node_cache=_node_cache(cfg, problems),
                  roots=_roots(cfg, args.place, problems), problems=problems)
    print(json.dumps(report, ensure_ascii=False))
    return 0
