"""The words every layer shares, defined once: stage kinds, where a stage runs, and what the
store knows of a file. The CLI, the panel, the planner and the store all import them from here,
so "upload" can never be spelled "upload" in one place and "to_upload" in another."""
from __future__ import annotations

import functools
from typing import Dict, List

# Stage kinds: one DAG node (upload, download), one per chunk (render), or one per jobs.post entry.
UPLOAD, RENDER, DOWNLOAD, POST = "upload", "render", "download", "post"
CORE_STAGES = (UPLOAD, RENDER, DOWNLOAD)
STAGE_KINDS = CORE_STAGES + (POST,)

# Where a stage runs: on the studio's own execute nodes, or on cloud nodes.
LOCAL, CLOUD = "local", "cloud"
PLACES = (LOCAL, CLOUD)

# What the team store knows of one file (store.resolve), and the panel's "not asked yet".
IN_STORE, TO_UPLOAD, MISSING, REFUSED = "in_store", "to_upload", "missing", "refused"
UNKNOWN = "unknown"


@functools.lru_cache(maxsize=1)
def _packaged_placement() -> Dict[str, str]:
    from .config import packaged_defaults

    return dict(packaged_defaults()["jobs"]["place"])


def place_choices(stage: str) -> List[str]:
    """Where ``stage`` may run, from the config rules (upload and download only ``local``: they
    read and write the artist's files), so the panel never offers what ``submit`` refuses."""
    from .config_rules import choices

    return [str(c) for c in choices(f"jobs.place.{stage}")] or list(PLACES)


def default_placement() -> Dict[str, str]:
    """``jobs.place`` of the packaged defaults (``defaults/jobs.yaml``): a fresh copy."""
    return dict(_packaged_placement())
