"""``cloudsubmit pool check``, the submitting side: one tiny probe job per placement (local, cloud),
written with the very pool profile, launcher and transfer settings a real stage of that placement
gets, so what the probe finds is what a render would find.

The node side is ``cloudsubmit pool probe`` (``commands/pool.py``): it prints one JSON object on
stdout, which HTCondor writes to ``<place>.out`` in the probe folder (or brings back to it)."""
from __future__ import annotations

import json
import os
import secrets
import shutil
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, List, Optional

from ..errors import SubmitError
from . import condor as C
from .bundle import clean_config, launcher, placement_pairs
from .tables import pool_profile

PLACES = ("local", "cloud")


@dataclass
class ProbeResult:
    place: str
    state: str                       # ok | failed | did not start
    waited: Optional[float] = None   # seconds from submit to start on a slot
    slot: str = ""
    node: Dict[str, Any] = field(default_factory=dict)   # what the probe reported
    reason: str = ""

    def to_dict(self) -> Dict[str, Any]:
        return {"place": self.place, "state": self.state, "waited": self.waited, "slot": self.slot,
                "node": self.node, "reason": self.reason}


def probe_submit_text(place: str, folder: Path, config: Any) -> str:
    """The ``.sub`` of the probe for ``place``: the stage pairs a real job of that placement gets."""
    profile = pool_profile(config, place)
    transfer = str(profile.get("should_transfer_files", "NO")).upper() != "NO"
    cmd = launcher(config)
    ref = "probe.json" if transfer else str(folder / "probe.json")
    where = f"pool check {place}"
    args = cmd[1:] + ["pool", "probe", ref, "--place", place]
    pairs = [
        ("universe", "vanilla"),
        ("executable", C.submit_value(cmd[0], f"{where} executable")),
        ("transfer_executable", "false"),
        ("arguments", C.submit_arguments(args, f"{where} arguments")),
        ("initialdir", C.submit_value(str(folder), f"{where} initialdir")),
        ("log", C.submit_value(str(folder / f"{place}.log"), f"{where} log")),
        ("output", C.submit_value(str(folder / f"{place}.out"), f"{where} output")),
        ("error", C.submit_value(str(folder / f"{place}.err"), f"{where} error")),
        ("batch_name", f"cloudsubmit-pool-check-{place}"),
        ("MY.CloudSubmitJob", C.classad_string(f"pool-check-{folder.name}", "probe id")),
        ("MY.CloudSubmitStage", C.classad_string("probe", "stage")),
        ("MY.CloudSubmitPlace", C.classad_string(place, "place")),
    ]
    pairs.extend(placement_pairs(profile, f"{config['jobs']['pool']}.{place}"))
    if transfer:
        pairs += [("when_to_transfer_output", "ON_EXIT"),
                  ("transfer_input_files", C.submit_list_item("probe.json", f"{where} inputs"))]
    return f"# cloudsubmit pool check: {place}\n" + C.submit_lines(pairs) + "queue\n"


def probe_folder(config: Any) -> Path:
    """Where probes are written: under ``jobs.bundle_root`` (what local nodes see), else the user's
    data folder; never /tmp (DAGMan's and the schedd's node logs do not belong there)."""
    from ..userdirs import user_data_dir

    root = config["jobs"]["bundle_root"]
    base = Path(os.path.expanduser(root)) if root else user_data_dir() / "cloudsubmit"
    folder = base / "pool-check" / f"{time.strftime('%Y%m%dT%H%M%S')}-{secrets.token_hex(3)}"
    folder.mkdir(parents=True, exist_ok=False)
    return folder


def _submit(sub_text: str, folder: Path) -> int:
    try:
        import htcondor2
    except ImportError:
        htcondor2 = None
    if htcondor2 is not None:
        try:
            return int(htcondor2.Schedd().submit(htcondor2.Submit(sub_text)).cluster())
        except Exception as exc:  # HTCondorException
            if not shutil.which("condor_submit"):
                raise SubmitError(f"HTCondor refused the probe ({str(exc).strip().splitlines()[0]})") from None
    path = folder / "probe.sub"
    path.write_text(sub_text, encoding="utf-8")
    exe = shutil.which("condor_submit")
    if not exe:
        raise SubmitError("no HTCondor here: neither the htcondor2 bindings nor condor_submit on PATH")
    proc = subprocess.run([exe, str(path)], capture_output=True, text=True, timeout=120, cwd=str(folder))
    found = [w for w in proc.stdout.split() if w.rstrip(".").isdigit()]
    if proc.returncode != 0 or not found:
        raise SubmitError(f"condor_submit refused the probe: {(proc.stderr or proc.stdout).strip()[-200:]}")
    return int(found[-1].rstrip("."))


def _job_ad(cluster: int) -> Optional[Dict[str, Any]]:
    """The probe's ad from the queue, else from the history (None while neither has it)."""
    import htcondor2

    schedd = htcondor2.Schedd()
    ads = schedd.query(f"ClusterId == {cluster}")
    if not ads:
        ads = list(schedd.history(f"ClusterId == {cluster}", projection=[], match=1))
    return ads[0] if ads else None


def wait_probe(place: str, cluster: int, folder: Path, timeout: float, poll: float = 2.0) -> ProbeResult:
    """Until the probe has run (or ``timeout`` passed: then the pool's reason it did not start)."""
    from .schedd import HELD, IDLE, REMOVED, hold_reason, slot_ads, why_idle

    deadline = time.monotonic() + timeout
    ad = None
    while time.monotonic() < deadline:
        ad = _job_ad(cluster)
        if ad is not None and int(ad.get("JobStatus", 0)) in (3, 4) and (folder / f"{place}.out").exists():
            break
        if ad is not None and int(ad.get("JobStatus", 0)) == HELD:
            _remove(cluster)
            return ProbeResult(place, "failed", reason=f"held: {hold_reason(ad)}")
        time.sleep(poll)
    else:
        reason = why_idle(ad, slot_ads() or []) if ad is not None and int(ad.get("JobStatus", 0)) == IDLE else ""
        _remove(cluster)
        return ProbeResult(place, "did not start", reason=f"not started within {int(timeout)} s" + (f": {reason}" if reason else ""))
    started, queued = ad.get("JobCurrentStartDate") or ad.get("JobStartDate"), ad.get("QDate")
    waited = float(started - queued) if isinstance(started, int) and isinstance(queued, int) else None
    result = ProbeResult(place, "ok", waited, str(ad.get("LastRemoteHost", "") or ""))
    if int(ad.get("JobStatus", 0)) == REMOVED:
        result.state, result.reason = "failed", "removed from the queue"
    try:
        result.node = json.loads((folder / f"{place}.out").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        err = (folder / f"{place}.err")
        last = err.read_text(encoding="utf-8", errors="replace").strip().splitlines()[-1:] if err.is_file() else []
        result.state, result.reason = "failed", (last[0] if last else "the probe printed no report")
    if result.node.get("problems"):
        result.state = "failed"
    return result


def _remove(cluster: int) -> None:
    import htcondor2

    try:
        htcondor2.Schedd().act(htcondor2.JobAction.Remove, f"ClusterId == {cluster}", "cloudsubmit pool check gave up")
    except Exception:  # already gone
        pass


def pool_check(config: Any, places: List[str], timeout: float) -> List[ProbeResult]:
    """Submit every probe first (they wait for slots side by side), then wait for each."""
    try:
        import htcondor2  # noqa: F401  (waiting reads the queue and history through the bindings)
    except ImportError:
        raise SubmitError("pool check needs the htcondor2 bindings (pip install htcondor)", exit_code=2) from None
    folder = probe_folder(config)
    from .. import __version__
    from .bundle import JOB_FORMAT

    doc = {"version": JOB_FORMAT, "written_by": f"cloudsubmit {__version__}", "config": clean_config(config.snapshot())}
    (folder / "probe.json").write_text(json.dumps(doc, ensure_ascii=False), encoding="utf-8")
    clusters = {p: _submit(probe_submit_text(p, folder, config), folder) for p in places}
    return [wait_probe(p, c, folder, timeout) for p, c in clusters.items()]
