"""Sizes as people read them. One function, so the scan table, the store commands and the panel
never disagree about how big a job is (they once showed 4.0 KB and 4.1 KB for the same shot)."""
from __future__ import annotations

from typing import Optional


def human_size(n: Optional[float]) -> str:
    """``987 B``, ``4.0 KB``, ``1.2 GB``: powers of 1024, as file browsers on artists' Windows
    and Linux workstations show them. ``None`` (size unknown) is an empty string."""
    if n is None:
        return ""
    value = float(n)
    for unit in ("B", "KB", "MB", "GB", "TB"):
        if value < 1024 or unit == "TB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return ""  # not reached
