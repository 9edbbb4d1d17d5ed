"""Zero-copy views of shared batch memory as numpy arrays or torch tensors."""

from __future__ import annotations

import os
import warnings
from typing import Any, Optional, Sequence

import numpy as np

_torch: Any = None
_torch_tried = False


def torch_module() -> Optional[Any]:
    """``torch`` when importable (and ``MX8_NO_TORCH`` is not set), else ``None``."""
    global _torch, _torch_tried
    if not _torch_tried:
        _torch_tried = True
        if os.environ.get("MX8_NO_TORCH") != "1":
            try:
                import torch  # noqa: PLC0415 (optional dependency)

                _torch = torch
            except ImportError:
                _torch = None
    return _torch


def want_torch(tensors: str) -> bool:
    """Whether batches should be torch tensors for ``tensors`` = auto|torch|numpy."""
    if tensors == "numpy":
        return False
    if tensors == "torch":
        if torch_module() is None:
            raise ValueError('tensors="torch" needs torch: pip install torch (or apt install python3-torch)')
        return True
    if tensors == "auto":
        return torch_module() is not None
    raise ValueError(f'tensors must be "auto", "torch" or "numpy", got {tensors!r}')


def want_pin(pin: Any, torch: bool) -> bool:
    """Whether to copy image batches into pinned memory for ``pin_memory=pin``.

    Only torch tensors can be pinned, and only with a CUDA device: otherwise
    ``pin_memory=True`` warns and is ignored, as ``torch.utils.data.DataLoader``
    does (the batches stay zero-copy views of shared memory).
    """
    if not pin:
        return False
    if not torch:
        warnings.warn(
            "pin_memory=True is ignored: batches are numpy arrays (pinned memory is for torch tensors; "
            'install torch or pass tensors="torch")',
            stacklevel=3,
        )
        return False
    if not torch_module().cuda.is_available():
        warnings.warn(
            "pin_memory=True is ignored: no CUDA device is available, so batches stay in shared memory "
            "(as torch.utils.data.DataLoader does)",
            stacklevel=3,
        )
        return False
    return True


_NP_DTYPES = {"float32": np.float32, "uint8": np.uint8}


def view(buffer: Any, offset: int, shape: Sequence[int], dtype: str, torch: bool) -> Any:
    """A view of ``shape`` ``dtype`` elements at ``offset`` of ``buffer`` (no copy)."""
    count = 1
    for d in shape:
        count *= int(d)
    array = np.frombuffer(buffer, dtype=_NP_DTYPES[dtype], count=count, offset=offset).reshape(tuple(shape))
    if torch:
        # Through numpy, not torch.frombuffer: numpy holds a buffer export on
        # the mapping, so closing the loader cannot unmap memory a tensor still
        # views (mmap.close() refuses; the mapping goes with the last view).
        # torch.frombuffer only keeps a reference, and a tensor kept past
        # close() would read unmapped memory (a segfault).
        return torch_module().from_numpy(array)
    return array


def int64(values: Sequence[int], torch: bool) -> Any:
    """An int64 vector (a fresh array: ids and labels travel in the descriptor)."""
    a = np.asarray(values, dtype=np.int64)
    return torch_module().from_numpy(a) if torch else a
