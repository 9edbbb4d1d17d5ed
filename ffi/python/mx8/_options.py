"""Python keyword arguments → runtime loader options (snake_case → camelCase)."""

from __future__ import annotations

import re
from typing import Any, Dict, Mapping, Tuple

# Python name → runtime (camelCase) name. Aliases map to the same option.
LOADER_OPTIONS: Mapping[str, str] = {
    "batch_size_samples": "batchSizeSamples",
    "max_inflight_bytes": "maxInflightBytes",
    "max_queue_batches": "maxQueueBatches",
    "prefetch_batches": "prefetchBatches",
    "max_process_rss_bytes": "maxProcessRssBytes",
    "shuffle": "shuffle",
    "seed": "seed",
    "epoch": "epoch",
    "start_id": "startId",
    "end_id": "endId",
    "resume": "resumeFrom",
    "resume_from": "resumeFrom",
    "autotune": "autotune",
    "fetch_concurrency": "fetchConcurrency",
    "shuffle_block_size": "shuffleBlockSize",
    "coord": "coordUrl",
    "coord_url": "coordUrl",
    "job": "jobId",
    "job_id": "jobId",
    "node_id": "nodeId",
    "want": "want",
    "auth_token": "authToken",
    "decode": "decode",
}

IMAGE_OPTIONS: Mapping[str, str] = {
    "resize_hw": "resizeHw",
    "to_float": "toFloat",
    "decode_backend": "decodeBackend",
    "decode_threads": "decodeThreads",
    "on_decode_error": "onDecodeError",
    "max_pixels": "maxPixels",
}

# Options of the Python side only.
PYTHON_OPTIONS = ("tensors", "pin_memory", "manifest_store")

_JSON_SAFE = 2**53


def _jsonable(py: str, value: Any) -> Any:
    if isinstance(value, tuple):
        return [_jsonable(py, v) for v in value]
    if py == "seed" and isinstance(value, int) and not isinstance(value, bool) and abs(value) >= _JSON_SAFE:
        return str(value)  # the runtime reads a decimal string as a bigint
    if py == "autotune" and isinstance(value, str):
        return {"profile": value}  # autotune="safe" → {profile: "safe"}
    return value


def split_options(
    caller: str, kwargs: Mapping[str, Any], image: bool
) -> Tuple[Dict[str, Any], Dict[str, Any]]:
    """Splits keyword arguments into runtime options (camelCase) and Python-side ones.

    Raises ``TypeError`` naming ``caller`` for an unknown keyword, like Python does.
    """
    allowed = dict(LOADER_OPTIONS)
    allowed.update(IMAGE_OPTIONS)  # the runtime refuses image options for raw batches, with its wording
    runtime: Dict[str, Any] = {}
    python: Dict[str, Any] = {}
    for py, value in kwargs.items():
        if py in PYTHON_OPTIONS:
            python[py] = value
            continue
        camel = allowed.get(py)
        if camel is None:
            raise TypeError(f"{caller}() got an unexpected keyword argument {py!r}")
        if value is None:
            continue  # None = the runtime's default
        if camel in runtime:
            raise TypeError(f"{caller}() got {py!r} and an alias of it; pass one")
        runtime[camel] = _jsonable(py, value)
    if image and "decode" not in runtime:
        runtime["decode"] = "image"
    return runtime, python


_CAMEL = re.compile(r"(?<!^)(?=[A-Z])")


def snake_keys(d: Mapping[str, Any]) -> Dict[str, Any]:
    """``{"ramHighWaterBytes": 1}`` → ``{"ram_high_water_bytes": 1}``."""
    return {_CAMEL.sub("_", k).lower(): v for k, v in d.items()}
