"""Loaders: iterate batches the runtime places in shared memory."""

from __future__ import annotations

import os
from typing import Any, Dict, Iterator, List, Optional, Union

import numpy as np

from . import _tensors
from ._errors import Mx8Error
from ._options import snake_keys, split_options
from ._runtime import Bridge


class ImageBatch(tuple):
    """``(images, labels)``: ``images`` ``[B, 3, H, W]`` (float32 in [0, 1], or
    uint8), ``labels`` ``[B]`` int64 (-1 when unlabeled); also ``sample_ids``.

    ``images`` views shared memory: valid until the loader takes the next
    batch or :meth:`release` is called (copy it to keep it longer).
    """

    images: Any
    labels: Any
    sample_ids: Any
    source_ids: Any

    def __new__(
        cls, images: Any, labels: Any, sample_ids: Any, loader: "Loader", source_ids: Any = None
    ) -> "ImageBatch":
        self = super().__new__(cls, (images, labels))
        self.images = images
        self.labels = labels
        self.sample_ids = sample_ids
        self.source_ids = source_ids  # per sample: the source's index in a mix (None otherwise)
        self._loader = loader
        return self

    def release(self) -> None:
        """Hands the batch's memory back to the runtime now. Idempotent."""
        self._loader._release(self)


class RawBatch:
    """Raw sample bytes: ``payload`` (uint8) with ``offsets`` (``B + 1``
    int64), ``sample_ids`` and ``label_ids`` (int64, -1 when unlabeled).

    ``payload`` views shared memory until the next batch or :meth:`release`.
    """

    def __init__(
        self, payload: Any, offsets: Any, sample_ids: Any, label_ids: Any, loader: "Loader", source_ids: Any = None
    ) -> None:
        self.payload = payload
        self.offsets = offsets
        self.sample_ids = sample_ids
        self.label_ids = label_ids
        self.source_ids = source_ids  # per sample: the source's index in a mix (None otherwise)
        self._loader = loader

    def __len__(self) -> int:
        return len(self.sample_ids)

    def sample(self, i: int) -> Any:
        """Sample ``i``'s bytes (a view into ``payload``)."""
        return self.payload[int(self.offsets[i]) : int(self.offsets[i + 1])]

    def release(self) -> None:
        """Hands the batch's memory back to the runtime now. Idempotent."""
        self._loader._release(self)


Batch = Union[ImageBatch, RawBatch]


class Loader:
    """Batches of a dataset link under a hard memory cap, from the mx8 runtime.

    Raw bytes (:class:`RawBatch`) by default; decoded images
    (:class:`ImageBatch`) with ``resize_hw=`` or ``decode="image"``; leased
    from a coordinator with ``coord=`` and ``job=``. Keyword arguments are
    the runtime's loader options in snake_case (see docs/python.md); plus
    ``tensors`` (``"auto"``: torch when importable, ``"torch"``, ``"numpy"``),
    ``pin_memory`` (copy image tensors to pinned memory when a CUDA device
    is available; else warns and keeps the zero-copy views) and
    ``manifest_store`` (directory or ``s3://`` prefix).
    """

    _caller = "load"
    _image = False

    def __init__(self, link: str, **kwargs: Any) -> None:
        if not isinstance(link, str):
            raise TypeError(f"{self._caller}() link must be a str, got {type(link).__name__}")
        options, python = split_options(self._caller, kwargs, self._image)
        self._torch = _tensors.want_torch(python.get("tensors", "auto"))
        self._pin = _tensors.want_pin(python.get("pin_memory", False), self._torch)
        env = {}
        store = python.get("manifest_store")
        if store is not None:
            env["MX8_MANIFEST_STORE"] = os.fspath(store)
        self.link = link
        self._options = options  # what mx8.mix takes over
        self._env = env
        self._taken = 0
        self._bridge: Optional[Bridge] = Bridge(link, options, env)
        self._held: Optional[Batch] = None
        self._info: Optional[Dict[str, Any]] = None
        self._ended = False
        self._last_stats: Optional[Dict[str, Any]] = None
        self._last_checkpoint: Optional[str] = None

    # -- iteration -------------------------------------------------------

    def __iter__(self) -> Iterator[Any]:
        try:
            while True:
                batch = self.next()
                if batch is None:
                    return
                yield batch
        finally:
            if self._ended:
                self._finish()

    def next(self) -> Optional[Batch]:
        """The next batch (releasing the previous one), or ``None`` at the end
        (and again after it: an exhausted loader stays exhausted)."""
        if self._ended:
            return None
        bridge = self._live()
        self._held = None
        self._taken += 1
        reply = bridge.request("next")
        if reply["t"] == "end":
            self._ended = True
            return None
        buffer: Any = bridge.mm
        offset = reply["offset"]
        if offset is None:  # bytes sent inline (the mapping had no room)
            buffer = bridge.read_inline(int(reply["inline"]))
            offset = 0
        ids = _tensors.int64(reply["sample_ids"], self._torch)
        sources = reply.get("source_ids")
        source_ids = None if sources is None else _tensors.int64(sources, self._torch)
        if reply["kind"] == "image":
            images = _tensors.view(buffer, offset, reply["shape"], reply["dtype"], self._torch)
            if self._pin:
                images = images.pin_memory()
            labels = _tensors.int64(reply["labels"], self._torch)
            batch: Batch = ImageBatch(images, labels, ids, self, source_ids)
        else:
            payload = _tensors.view(buffer, offset, [reply["nbytes"]], "uint8", False)
            offsets = np.asarray(reply["offsets"], dtype=np.int64)
            label_ids = _tensors.int64(reply["label_ids"], self._torch)
            batch = RawBatch(payload, offsets, ids, label_ids, self, source_ids)
        self._held = batch
        return batch

    def _finish(self) -> None:
        """End of data: keeps the final stats, info and checkpoint, stops the runtime."""
        if self._bridge is None or self._bridge.closed:
            return
        self._last_stats = self.stats()
        self._opened()
        try:
            self._last_checkpoint = self.checkpoint()
        except Mx8Error:
            pass  # distributed: resumes through the coordinator
        # The loop ends now, not when the runtime has torn down (tens of ms):
        # it was told to stop and exits on its own; a thread reaps it.
        bridge, self._bridge = self._bridge, None
        self._held = None
        bridge.close(wait=False)

    def _release(self, batch: Batch) -> None:
        if self._held is batch and self._bridge is not None and not self._bridge.closed:
            self._held = None
            self._bridge.request("release")

    # -- queries ---------------------------------------------------------

    def _live(self) -> Bridge:
        if self._bridge is None or self._bridge.closed:
            raise Mx8Error("the loader is closed")
        return self._bridge

    def _opened(self) -> Dict[str, Any]:
        if self._info is None:
            self._info = self._live().request("info")
        return self._info

    @property
    def classes(self) -> List[str]:
        """Class names (``classes[label_id]``); opens the dataset if needed."""
        return list(self._opened()["classes"])

    @property
    def manifest_hash(self) -> Optional[str]:
        """The pinned manifest hash; opens the dataset if needed."""
        return self._opened()["manifest_hash"]

    def __len__(self) -> int:
        """How many batches the loader yields in all: its planned epoch (or
        ``start_id``..``end_id`` range, from the ``resume=`` position) cut into
        ``batch_size_samples`` batches, the last one shorter (none dropped).
        Opens the dataset if needed. With ``on_decode_error="skip"`` an upper
        bound (a batch whose every sample fails to decode is not yielded).

        Raises ``TypeError`` (as ``len()`` of a ``torch.utils.data.IterableDataset``
        without ``__len__`` does) where the count is not known in advance:
        distributed mode and mixes.
        """
        unknown = self._unknown_length()
        if unknown is not None:
            raise TypeError(f"len() of this {type(self).__name__} is not known: {unknown}")
        batches = self._opened().get("batches")
        if batches is None:  # an older runtime, or a loader the runtime cannot count
            raise TypeError(f"len() of this {type(self).__name__} is not known: the runtime did not count its batches")
        return int(batches)

    def _unknown_length(self) -> Optional[str]:
        """Why ``len()`` is not known in advance, or ``None`` when it is."""
        if "coordUrl" in self._options or "jobId" in self._options:
            return (
                "in distributed mode (coord=, job=) the coordinator leases ranges to nodes while the job runs, "
                "so how many batches this node gets is only known at the end; iterate until it stops"
            )
        return None

    def __bool__(self) -> bool:
        return True  # a loader is truthy even where len() is not known (``if loader:``)

    def stats(self) -> Dict[str, Any]:
        """The runtime loader's statistics, snake_case keys (``ram_high_water_bytes``…),
        plus the shared mapping's (``shared_mode``, ``shared_bytes``, ``shared_*_batches``)
        and ``runtime_pid``. After the last batch: the final values."""
        if self._bridge is None and self._last_stats is not None:
            return dict(self._last_stats)
        bridge = self._live()
        out = snake_keys(bridge.request("stats")["stats"])
        out["runtime_pid"] = bridge.pid
        return out

    def checkpoint(self) -> str:
        """A token that resumes after the batches taken so far (``resume=``)."""
        if self._bridge is None and self._last_checkpoint is not None:
            return self._last_checkpoint
        return str(self._live().request("checkpoint")["token"])

    # -- lifetime --------------------------------------------------------

    def close(self) -> None:
        """Stops the runtime process and frees the shared memory. Idempotent."""
        bridge, self._bridge = self._bridge, None
        self._held = None
        if bridge is not None:
            bridge.close()

    def __enter__(self) -> "Loader":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def __del__(self) -> None:
        try:
            self.close()
        except Exception:
            pass


def load(link: str, **kwargs: Any) -> Loader:
    """Opens ``link`` as batches: raw bytes, or decoded images with ``resize_hw=``.

    >>> with mx8.load("/data/train@refresh", batch_size_samples=32) as loader:  # doctest: +SKIP
    ...     for batch in loader:
    ...         first = bytes(batch.sample(0))
    """
    return Loader(link, **kwargs)
