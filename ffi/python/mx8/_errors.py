"""Exceptions of the mx8 package."""

from __future__ import annotations

from typing import Optional


class Mx8Error(RuntimeError):
    """The runtime reported an error (bad data, storage, coordinator…).

    ``name`` is the runtime's error class (``SnapshotNotFoundError``,
    ``DecodeError``, ``RssLimitError``…).
    """

    def __init__(self, message: str, name: str = "Mx8Error") -> None:
        super().__init__(message)
        self.name = name


class RuntimeExitedError(Mx8Error):
    """The runtime process stopped unexpectedly; names its exit status and last stderr lines."""

    def __init__(self, message: str, returncode: Optional[int], stderr_tail: str) -> None:
        super().__init__(message, name="RuntimeExitedError")
        self.returncode = returncode
        self.stderr_tail = stderr_tail
