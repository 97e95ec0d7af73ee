"""``cloudsubmit doctor``: is this workstation set up to send jobs to the farm? Plain words per check.

Each check is one line, ``ok``, ``warn`` or ``FAIL``, saying what was found and, when it is wrong,
what to set. Exit 0 when nothing failed (warnings allowed), 1 when a check failed. Nothing it
prints or writes holds a credential: the store is probed with a small object under
``doctor/`` that is deleted again, and only the store's URL is shown."""
from __future__ import annotations

import argparse
import os
import secrets
import shutil
from dataclasses import dataclass
from typing import Any, Callable, List

from .output import emit

@dataclass
class Check:
    name: str
    level: str        # ok | warn | fail
    message: str

    def to_dict(self) -> dict:
        return {"name": self.name, "level": self.level, "message": self.message}

    def line(self) -> str:
        return f"{'FAIL' if self.level == 'fail' else self.level:<4}  {self.name:<12} {self.message}"


def register(sub) -> None:
    """Add ``doctor`` to the CLI parser."""
    p = sub.add_parser("doctor", help="check this workstation's setup: config, store, HTCondor, bundle root, launcher, roots")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.set_defaults(func=run)


def check_config(cfg: Any) -> List[Check]:
    files = [s for s in cfg.sources if s not in ("defaults", "command line")]
    if not files:
        return [Check("config", "warn", "only the packaged defaults: no studio file ($CLOUDSUBMIT_CONFIG or --config) "
                                        "and no user file; every studio setting is at its default")]
    return [Check("config", "ok", "read, lowest first: " + " < ".join(cfg.sources))]


def check_store(cfg: Any) -> List[Check]:
    from ..errors import CloudSubmitError
    from ..store import open_store, store_url

    url = store_url(None, cfg)
    out = []
    if not url:
        out.append(Check("store", "warn", "the embedded store in this user's data folder: fine for `--scheduler local`, "
                                          "invisible to cloud nodes; set store.url for the farm"))
    try:
        store = open_store(url or None, cfg)
    except CloudSubmitError as exc:
        return out + [Check("store", "fail", exc.message)]
    key = f"doctor/probe-{secrets.token_hex(6)}"
    try:
        store.backend.put_bytes(key, b"cloudsubmit doctor\n")
        ok = store.backend.get_bytes(key) == b"cloudsubmit doctor\n"
        store.backend.delete(key)
        out.append(Check("store", "ok" if ok else "fail",
                         f"{store.url}: reachable and writable" if ok else f"{store.url}: wrote a probe, read back other bytes"))
    except CloudSubmitError as exc:
        out.append(Check("store", "fail", f"{store.url}: {exc.message}"))
    except OSError as exc:
        out.append(Check("store", "fail", f"{store.url}: cannot write ({exc.strerror or exc})"))
    finally:
        store.close()
    return out


def check_htcondor(cfg: Any) -> List[Check]:
    if cfg["jobs"]["scheduler"] == "local":
        return [Check("htcondor", "ok", "jobs.scheduler is local: no pool needed")]
    try:
        import htcondor2
    except ImportError:
        htcondor2 = None
    if htcondor2 is not None:
        try:
            htcondor2.Schedd().query("false", projection=["ClusterId"])
            return [Check("htcondor", "ok", "the schedd answers through the htcondor2 bindings")]
        except Exception as exc:  # HTCondorException: no schedd, no collector, no config
            reason = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        if shutil.which("condor_submit_dag"):
            return [Check("htcondor", "warn", f"the bindings cannot reach a schedd ({reason}); condor_submit_dag is "
                                              "on PATH and will be tried")]
        return [Check("htcondor", "fail", f"no schedd reachable ({reason}): is CONDOR_CONFIG set for this pool?")]
    if shutil.which("condor_submit_dag"):
        return [Check("htcondor", "ok", "condor_submit_dag on PATH (no htcondor2 bindings)")]
    return [Check("htcondor", "fail", "neither the htcondor2 bindings nor condor_submit_dag: install HTCondor's "
                                      "tools, or use --scheduler local")]


def check_bundle_root(cfg: Any) -> List[Check]:
    root = cfg["jobs"]["bundle_root"]
    if not root:
        return [Check("bundles", "ok", "beside each scene (<scene dir>/cloudsubmit/jobs)")]
    real = os.path.realpath(os.path.expanduser(root))
    if real == "/tmp" or real.startswith(("/tmp/", "/var/tmp/")):
        return [Check("bundles", "fail", f"jobs.bundle_root {root} is under /tmp, where DAGMan refuses node logs")]
    return [Check("bundles", "ok", f"jobs.bundle_root {root}")]


def check_launcher(cfg: Any) -> List[Check]:
    from ..errors import CloudSubmitError
    from ..jobs.bundle import launcher
    from ..readiness import cloud_problems

    try:
        argv = launcher(cfg)
    except CloudSubmitError as exc:
        return [Check("launcher", "fail", exc.message)]
    exe = argv[0]
    here = os.path.isfile(exe) and os.access(exe, os.X_OK)
    out = [Check("launcher", "ok" if here else "warn",
                 f"local nodes run {' '.join(argv)}" + ("" if here else f" ({exe} is not on this machine)"))]
    cloud = cloud_problems(["render"], cfg)
    out += [Check("cloud", "fail", p) for p in cloud] or [
        Check("cloud", "ok", "cloud stages have their own launcher and a store they can reach (prove it: "
                             "`cloudsubmit pool check`)")]
    return out


def check_roots(cfg: Any) -> List[Check]:
    from ..store.roots import PLATFORMS

    roots = cfg["paths"]["roots"] or {}
    if not roots:
        return [Check("roots", "warn", "no paths.roots: files are stored under automatic roots (/, drive letters); "
                                       "name the studio's roots so Windows, Linux and cloud paths meet")]
    out = []
    for name, where in sorted(roots.items()):
        if isinstance(where, str):
            out.append(Check("roots", "ok", f"root {name}: {where} on every platform"))
            continue
        where = where if isinstance(where, dict) else {}
        missing = [p for p in PLATFORMS if not where.get(p)]
        text = f"root {name}: " + ", ".join(f"{p} {where[p]}" for p in PLATFORMS if where.get(p))
        out.append(Check("roots", "warn" if missing else "ok", text + (f"; no path for {', '.join(missing)}" if missing else "")))
    return out


CHECKS: List[Callable[[Any], List[Check]]] = [check_config, check_store, check_htcondor, check_bundle_root,
                                              check_launcher, check_roots]


def run(args: argparse.Namespace) -> int:
    from ..cli import load_cli_config

    cfg = load_cli_config(args)
    results = [c for check in CHECKS for c in check(cfg)]
    failed = [c for c in results if c.level == "fail"]
    emit(args.json, {"ok": not failed, "checks": [c.to_dict() for c in results]},
         "\n".join(c.line() for c in results))
    return 1 if failed else 0
