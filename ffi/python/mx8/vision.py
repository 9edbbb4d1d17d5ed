"""Image loaders: ``mx8.vision.ImageFolderLoader``."""

from __future__ import annotations

from typing import Any

from ._loader import Loader


class ImageFolderLoader(Loader):
    """Decoded, resized image batches ``(images, labels)`` of an ImageFolder dataset.

    ``images`` is ``[B, 3, H, W]`` float32 in [0, 1] (uint8 with
    ``to_float=False``), ``labels`` ``[B]`` int64; torch tensors when torch
    is importable, else numpy arrays. Keyword arguments as the runtime's
    ``ImageFolderLoader`` options in snake_case: ``batch_size_samples``,
    ``resize_hw``, ``max_inflight_bytes``, ``max_queue_batches``,
    ``prefetch_batches``, ``shuffle``, ``seed``, ``epoch``, ``autotune``,
    ``job``, ``coord``, ``resume``…

    >>> loader = mx8.vision.ImageFolderLoader("/data/train@refresh",  # doctest: +SKIP
    ...     batch_size_samples=64, resize_hw=(224, 224))
    >>> for images, labels in loader:  # doctest: +SKIP
    ...     pass
    """

    _caller = "ImageFolderLoader"
    _image = True

    def __init__(self, link: str, **kwargs: Any) -> None:
        super().__init__(link, **kwargs)
