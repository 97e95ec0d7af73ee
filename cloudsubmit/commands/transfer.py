"""`cloudsubmit` sub-commands: transfer (placeholder until its owner lands it)."""
from __future__ import annotations


def register(sub) -> None:
    """Add this module's sub-commands to the CLI parser."""
