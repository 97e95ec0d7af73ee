"""The small exception tree. Library code raises these; the CLI and the UI translate them into
one line of text and an exit code, so an artist never sees a traceback for their own mistake."""
from __future__ import annotations

from typing import Optional

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_BAD_INPUT = 2


class CloudSubmitError(Exception):
    """Base of every error cloudsubmit raises on purpose.

    ``exit_code`` is 2 for bad input (the user can fix the command or the file) and 1 for a failed
    operation (the network, the pool, the store)."""

    exit_code = EXIT_FAILED

    def __init__(self, message: str, exit_code: Optional[int] = None) -> None:
        super().__init__(message)
        if exit_code is not None:
            self.exit_code = exit_code

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


class Cancelled(CloudSubmitError):
    """The user (or a progress callback) asked to stop."""
