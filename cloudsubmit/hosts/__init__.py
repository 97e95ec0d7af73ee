"""Live-session adapters (Maya, Houdini). The core never imports this package; the panel and the
command-line entry points do. See :mod:`cloudsubmit.hosts.base` for the interface."""
from __future__ import annotations

from .base import Host, HostSnapshot, snapshot
from .headless import headless_scan, start_headless

__all__ = [
    "Host", "HostSnapshot", "headless_scan", "snapshot", "start_headless",
]
