"""What the store's operations report: plain data the CLI prints as JSON and the stages log.

One module for all of them so a caller never imports a high-level operation just to name its
result (``mirror`` returns a :class:`MaterialiseReport` without importing ``materialise``). Each
is a :class:`~cloudsubmit.tally.Tally`: counters that add up, written as JSON by field name."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Dict, List

from ..tally import Tally
from .pathmap import Rule


@dataclass
class MaterialiseReport(Tally):
    job_id: str
    session: str
    rules: List[Rule] = field(default_factory=list)
    outputs: Dict[str, str] = field(default_factory=dict)  # declared output folders (as submitted)
    files: int = 0
    linked: int = 0
    copied: int = 0
    blobs_fetched: int = 0
    blobs_cached: int = 0
    pack_reads: int = 0       # ranged GETs of packs (each brings one or more small files)
    bytes_fetched: int = 0
    seconds: float = 0.0


@dataclass
class UploadReport(Tally):
    store_url: str
    uploaded_files: int = 0
    uploaded_bytes: int = 0
    skipped_files: int = 0          # already in the store: indexed, or a complete blob found there
    indexed_files: int = 0          # entries in the new shard
    shard: str = ""
    packs: int = 0                  # packs written (each holds many small files)
    refused: List[Dict[str, str]] = field(default_factory=list)

    def summary(self) -> Dict[str, Any]:
        """The fields as ``upload --json`` prints them (the store's URL under ``store``)."""
        d = self.to_json()
        return {"store": d.pop("store_url"), **d}

@dataclass
class OutputUploadReport(Tally):
    job_id: str
    node: str
    key: str
    files: int = 0
    uploaded_files: int = 0
    uploaded_bytes: int = 0
    skipped_files: int = 0  # unchanged since the snapshot, or the blob was already in the store
    seconds: float = 0.0


@dataclass
class OutputDownloadReport(Tally):
    job_id: str
    manifests: int = 0
    files: int = 0
    downloaded_files: int = 0
    downloaded_bytes: int = 0
    skipped_files: int = 0
    targets: List[str] = field(default_factory=list)
    seconds: float = 0.0
