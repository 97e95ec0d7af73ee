"""cloudsubmit: scan a scene for every file it needs, upload only what the team has not uploaded
yet, and render it through an HTCondor DAG (upload locally, render in the cloud, download locally).

Importing this package imports no DCC (maya, hou) and no Qt; a test enforces it."""
from __future__ import annotations

from .errors import (
    Cancelled,
    CloudSubmitError,
    ConfigError,
    FrameSpecError,
    ScanError,
    StoreError,
    SubmitError,
)

__version__ = "0.1.0"

__all__ = [
    "__version__",
    "Cancelled",
    "CloudSubmitError",
    "ConfigError",
    "FrameSpecError",
    "ScanError",
    "StoreError",
    "SubmitError",
]
