"""MX8 from Python: bounded, fast data loaders backed by the mx8 runtime.

The runtime runs as a child process (``MX8_BIN``, else ``deno run`` of the
checkout's ``main.ts``); batches are handed over in shared memory and
wrapped without copying (torch tensors when torch is importable, else
numpy arrays). See docs/python.md.
"""

from __future__ import annotations

from typing import Any

from . import vision
from ._errors import Mx8Error, RuntimeExitedError
from ._loader import ImageBatch, Loader, RawBatch, load
from ._mix import Mix, mix
from ._pack import pack

__all__ = [
    "ImageBatch",
    "Loader",
    "Mix",
    "Mx8Error",
    "RawBatch",
    "RuntimeExitedError",
    "load",
    "mix",
    "pack",
    "vision",
]
__version__ = "0.1.0"

