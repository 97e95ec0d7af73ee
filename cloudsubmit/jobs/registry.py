"""The user's list of submitted jobs, so ``cloudsubmit jobs`` and ``status JOB-ID`` find bundles
that live beside many different scenes. One JSON line per submission, appended (no rewrite, so
two submits at once cannot lose each other's line)."""
from __future__ import annotations

import json
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any, Dict, List, Optional

from ..errors import SubmitError
from ..userdirs import user_data_dir

if TYPE_CHECKING:
    from ..config import Config


def registry_path(config: Config) -> Path:
    path = config["jobs"]["registry"]
    return Path(os.path.expanduser(path)) if path else user_data_dir() / "jobs.jsonl"


def record(config: Config, entry: Dict[str, Any]) -> None:
    path = registry_path(config)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(path, "a", encoding="utf-8") as f:
            f.write(json.dumps(entry, ensure_ascii=False) + "\n")
    except OSError as exc:
        raise SubmitError(f"{path}: cannot record the job ({exc.strerror})") from None


def entries(config: Config) -> List[Dict[str, Any]]:
    """Every recorded submission, newest last; the latest line wins for a job id."""
    path = registry_path(config)
    if not path.is_file():
        return []
    latest: Dict[str, Dict[str, Any]] = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        try:
            e = json.loads(line)
        except ValueError:
            continue  # a line cut by a crash: skip it, keep the rest
        if isinstance(e, dict) and e.get("job_id"):
            latest.pop(e["job_id"], None)
            latest[e["job_id"]] = e
    return list(latest.values())


def find_bundle(config: Config, job: str) -> str:
    """A bundle path from a job id (or unique prefix), or ``job`` itself when it is a path. An
    ambiguous prefix names the candidates, so the next command can be typed without a listing."""
    found = lookup_bundle(config, job)
    if found is None:
        raise SubmitError(f"{job}: no job with that id or path (see `cloudsubmit jobs`)", exit_code=2)
    return found


def lookup_bundle(config: Config, job: str) -> Optional[str]:
    """Like :func:`find_bundle`, but None for a job this machine never submitted."""
    if Path(job).exists():
        return job
    known = entries(config)
    matches = [e for e in known if e["job_id"] == job] or [e for e in known if e["job_id"].startswith(job)]
    if len(matches) > 1:
        names = ", ".join(e["job_id"] for e in matches[:5]) + (f" and {len(matches) - 5} more" if len(matches) > 5 else "")
        raise SubmitError(f"{job}: {len(matches)} jobs start with that: {names}; give more of the id", exit_code=2)
    return matches[0]["bundle"] if matches else None
