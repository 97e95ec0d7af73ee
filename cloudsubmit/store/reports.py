"""What the store's operations report: plain data the CLI prints as JSON and the stages log.

One module for all of them so a caller never imports a high-level operation just to name its
result (``mirror`` returns a :class:`MaterialiseReport` without importing ``materialise``)."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Dict, List

from .pathmap import Rule


@dataclass
class MaterialiseReport:
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

    def to_json(self) -> dict:
        d = dict(self.__dict__)
        d["rules"] = [list(r) for r in self.rules]
        return d

@dataclass
class UploadReport:
    store_url: str
    uploaded_files: int = 0
    uploaded_bytes: int = 0
    skipped_files: int = 0          # already in the store: indexed, or a complete blob found there
    indexed_files: int = 0          # entries in the new shard
    packs: int = 0                  # packs written (each holds many small files)
    shard: str = ""
    refused: List[Dict[str, str]] = field(default_factory=list)

    def summary(self) -> Dict[str, Any]:
        return {
            "store": self.store_url, "uploaded_files": self.uploaded_files, "uploaded_bytes": self.uploaded_bytes,
            "skipped_files": self.skipped_files, "indexed_files": self.indexed_files, "shard": self.shard,
            "packs": self.packs,
            "refused": list(self.refused),
        }

@dataclass
class OutputUploadReport:
    job_id: str
    node: str
    key: str
    files: int = 0
    uploaded_files: int = 0
    uploaded_bytes: int = 0
    skipped_files: int = 0  # unchanged since the snapshot, or the blob was already in the store
    seconds: float = 0.0


@dataclass
class OutputDownloadReport:
    job_id: str
    manifests: int = 0
    files: int = 0
    downloaded_files: int = 0
    downloaded_bytes: int = 0
    skipped_files: int = 0
    targets: List[str] = field(default_factory=list)
    seconds: float = 0.0
