"""``mx8.mix``: several loaders mixed into one exactly weighted stream (spec §10)."""

from __future__ import annotations

from typing import Any, Dict, List, Mapping, Optional, Sequence, Tuple, Union

from . import _tensors
from ._loader import Loader
from ._options import _JSON_SAFE, snake_keys
from ._runtime import Bridge

Sources = Union[Mapping[str, Loader], Sequence[Loader]]


def _weights(w: Any) -> Any:
    if isinstance(w, Mapping):
        return {str(k): v for k, v in w.items()}
    if isinstance(w, (list, tuple)):
        return list(w)
    raise TypeError(f"mix() weights must be a dict (by source name) or a list, got {type(w).__name__}")


def _schedule(points: Any) -> List[Dict[str, Any]]:
    out = []
    for p in points:
        if not isinstance(p, Mapping) or "at_samples" not in p or "weights" not in p:
            raise TypeError(f"mix() schedule points are {{'at_samples': n, 'weights': …}}, got {p!r}")
        out.append({"atSamples": p["at_samples"], "weights": _weights(p["weights"])})
    return out


def _take_over(sources: Sources) -> Tuple[List[Tuple[str, Loader]], bool]:
    if isinstance(sources, Mapping):
        items = [(str(k), v) for k, v in sources.items()]
        named = True
    elif isinstance(sources, (list, tuple)):
        items = [(str(i), v) for i, v in enumerate(sources)]
        named = False
    else:
        raise TypeError(f"mix() sources must be a dict or a list of loaders, got {type(sources).__name__}")
    if not items:
        raise ValueError("mix() needs at least one source")
    seen = set()
    for name, loader in items:
        if not isinstance(loader, Loader) or isinstance(loader, Mix):
            raise TypeError(
                f"mix() source {name!r} is not a loader (make it with mx8.load or mx8.vision.ImageFolderLoader)"
            )
        if id(loader) in seen:
            raise ValueError(f"mix() source {name!r} is given twice")
        seen.add(id(loader))
        if loader._taken > 0 or loader._bridge is None:
            raise ValueError(
                f"mix() source {name!r} was already iterated or closed: pass new loaders (the mix reads them itself)"
            )
    return items, named


class Mix(Loader):
    """The batches of ``mx8.mix(...)``: like a loader's, with ``source_ids``
    (per sample, the source's index in the order given). ``stats()`` adds
    ``mix_sources`` (one dict per source), ``checkpoint()`` / ``resume=``
    resume the whole mix; ``classes`` and ``manifest_hash`` are dicts by
    source name.
    """

    _caller = "mix"

    def __init__(self, sources: Sources, **kwargs: Any) -> None:
        python = {k: kwargs.pop(k) for k in ("tensors", "pin_memory") if k in kwargs}
        items, named = _take_over(sources)
        envs = {name: loader._env.get("MX8_MANIFEST_STORE") for name, loader in items}
        stores = set(envs.values())
        if len(stores) > 1:
            raise ValueError(
                f"mix() sources use different manifest stores {envs}: give them one manifest_store= "
                "(the mix runs in one runtime)"
            )
        options = _mix_options(kwargs)
        spec = {
            "sources": [{"name": name, "link": loader.link, "options": loader._options} for name, loader in items],
            "named": named,
            "options": options,
        }
        env = dict(items[0][1]._env)
        # The mix reads the sources itself, in one runtime: stop theirs.
        for _, loader in items:
            loader.close()
        self._torch = _tensors.want_torch(python.get("tensors", "auto"))
        self._pin = _tensors.want_pin(python.get("pin_memory", False), self._torch)
        self.link = ""
        self.names = [name for name, _ in items]
        self._options = options
        self._env = env
        self._taken = 0
        self._held = None
        self._info = None
        self._ended = False
        self._last_stats = None
        self._last_checkpoint = None
        self._bridge: Optional[Bridge] = Bridge("", {}, env, mix=spec)

    @property
    def classes(self) -> Dict[str, List[str]]:  # type: ignore[override]
        """Each source's class names, by source name (opens every source)."""
        return {k: list(v) for k, v in self._opened()["classes"].items()}

    @property
    def manifest_hash(self) -> Dict[str, Optional[str]]:  # type: ignore[override]
        """Each source's pinned manifest hash, by source name (opens every source)."""
        return dict(self._opened()["manifest_hash"])

    def _unknown_length(self) -> Optional[str]:
        return (
            "a mix ends when its sources run out under its weights and on_source_exhausted policy "
            "(or never, with 'cycle'), which is only known while it runs; iterate until it stops"
        )

    def stats(self) -> Dict[str, Any]:
        """The mix's statistics (snake_case), ``mix_sources`` one dict per source."""
        out = super().stats()
        out["mix_sources"] = [snake_keys(s) for s in out.get("mix_sources", [])]
        return out


MIX_OPTIONS: Mapping[str, str] = {
    "weights": "weights",
    "schedule": "schedule",
    "seed": "seed",
    "epoch": "epoch",
    "granularity": "granularity",
    "batch_size_samples": "batchSizeSamples",
    "on_source_exhausted": "onSourceExhausted",
    "max_repetitions": "maxRepetitions",
    "max_inflight_bytes": "maxInflightBytes",
    "max_process_rss_bytes": "maxProcessRssBytes",
    "autotune": "autotune",
    "resume": "resumeFrom",
    "resume_from": "resumeFrom",
    "allow_mix_change": "allowMixChange",
}


def _mix_options(kwargs: Mapping[str, Any]) -> Dict[str, Any]:
    out: Dict[str, Any] = {}
    for py, value in kwargs.items():
        camel = MIX_OPTIONS.get(py)
        if camel is None:
            raise TypeError(f"mix() got an unexpected keyword argument {py!r}")
        if value is None:
            continue
        if camel in out:
            raise TypeError(f"mix() got {py!r} and an alias of it; pass one")
        if py == "weights":
            value = _weights(value)
        elif py == "schedule":
            value = _schedule(value)
        elif py == "seed" and isinstance(value, int) and not isinstance(value, bool) and abs(value) >= _JSON_SAFE:
            value = str(value)
        elif py == "autotune" and isinstance(value, str):
            value = {"profile": value}
        out[camel] = value
    return out


def mix(sources: Sources, **kwargs: Any) -> Mix:
    """Mixes loaders into one deterministic, exactly weighted stream under one memory cap.

    ``sources``: a dict (by name) or a list of new loaders (``mx8.load`` /
    ``mx8.vision.ImageFolderLoader``, not iterated yet); the mix reads them
    in one runtime (theirs are stopped). Keywords: ``weights`` (dict or
    list), ``schedule`` (``[{"at_samples", "weights"}]``), ``seed``,
    ``epoch``, ``granularity`` (``"batch"`` | ``"sample"``),
    ``batch_size_samples``, ``on_source_exhausted`` (``"error"`` |
    ``"allow"`` | ``"cycle"``), ``max_repetitions``, ``max_inflight_bytes``,
    ``max_process_rss_bytes``, ``autotune``, ``resume``,
    ``allow_mix_change``; Python side: ``tensors``, ``pin_memory``.

    >>> web = mx8.vision.ImageFolderLoader("/data/web@refresh", resize_hw=(224, 224))  # doctest: +SKIP
    >>> books = mx8.vision.ImageFolderLoader("/data/books@refresh", resize_hw=(224, 224))  # doctest: +SKIP
    >>> for images, labels in mx8.mix({"web": web, "books": books}, weights={"web": 0.7, "books": 0.3},
    ...                               seed=7, granularity="sample"):  # doctest: +SKIP
    ...     pass
    """
    return Mix(sources, **kwargs)
