"""The small exception tree. Library code raises these; the CLI and the UI translate them into
one line of text and an exit code, so an artist never sees a traceback for their own mistake."""
from __future__ import annotations

from typing import Any, Dict, Optional

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_BAD_INPUT = 2


class CloudSubmitError(Exception):
    """Base of every error cloudsubmit raises on purpose.

    ``exit_code`` is 2 for bad input (the user can fix the command or the file) and 1 for a failed
    operation (the network, the pool, the store)."""

    exit_code = EXIT_FAILED
    key: Optional[str] = None   # the dotted setting at fault, when there is one
    file: Optional[str] = None  # the file at fault, when there is one

    def __init__(self, message: str, exit_code: Optional[int] = None, *, key: Optional[str] = None,
                 file: Optional[str] = None) -> None:
        super().__init__(message)
        if exit_code is not None:
            self.exit_code = exit_code
        self.key, self.file = key, file

    def to_dict(self) -> Dict[str, Any]:
        """What ``--json`` prints for this error: ``{"error", "exit_code"[, "key"][, "file"]}``."""
        out: Dict[str, Any] = {"error": self.message, "exit_code": self.exit_code}
        if self.key:
            out["key"] = self.key
        if self.file:
            out["file"] = self.file
        return out

    @property
    def message(self) -> str:
        return str(self.args[0]) if self.args else self.__class__.__name__


class ConfigError(CloudSubmitError):
    """A setting is unknown, has the wrong type, or a config file cannot be read."""

    exit_code = EXIT_BAD_INPUT


class FrameSpecError(ConfigError):
    """A frame range such as ``1-100x5`` could not be parsed."""


class ScanError(CloudSubmitError):
    """A scene cannot be read (unknown format, truncated, not a scene at all)."""

    exit_code = EXIT_BAD_INPUT


class StoreError(CloudSubmitError):
    """The store (S3 bucket or directory) failed or refused an operation."""


class SubmitError(CloudSubmitError):
    """Writing or submitting a job failed."""


class NoPool(SubmitError):
    """No HTCondor can be reached from this machine (no bindings with condor_dagman, no
    condor_submit_dag). Its own type so each front end names its own way out: the CLI its
    ``--scheduler local`` flag, the panel its Local option."""


class Cancelled(CloudSubmitError):
    """The user (or a progress callback) asked to stop."""
