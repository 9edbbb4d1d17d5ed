"""``mx8.pack``: many small objects → tar shards + a byte-range manifest."""

from __future__ import annotations

import os
import subprocess
from typing import Any, Dict, Optional, Union

from ._errors import Mx8Error
from ._runtime import runtime_command

PathLike = Union[str, "os.PathLike[str]"]


def pack(
    src: PathLike,
    out: PathLike,
    shard_mb: Optional[float] = None,
    label_mode: Optional[str] = None,
    concurrency: Optional[int] = None,
    overwrite: bool = False,
) -> Dict[str, Any]:
    """Packs ``src`` (a directory or ``s3://`` prefix) into ``out`` with ``mx8 pack``.

    Returns ``{"samples", "shards", "bytes", "manifest_hash", "manifest"}``.
    Raises ``ValueError`` for bad arguments (the runtime's wording) and
    :class:`Mx8Error` when packing fails.

    >>> mx8.pack("s3://bucket/raw/train/", out="s3://bucket/mx8/train/", shard_mb=512, label_mode="auto")  # doctest: +SKIP
    """
    args = ["pack", "--in", os.fspath(src), "--out", os.fspath(out)]
    if shard_mb is not None:
        args += ["--shard-mb", str(shard_mb)]
    if label_mode is not None:
        args += ["--label-mode", str(label_mode)]
    if concurrency is not None:
        args += ["--concurrency", str(concurrency)]
    if overwrite:
        args.append("--overwrite")
    env = dict(os.environ)
    env.setdefault("NO_COLOR", "1")
    proc = subprocess.run(runtime_command(args), capture_output=True, text=True, env=env)
    err = proc.stderr.strip().splitlines()
    message = err[-1] if err else f"mx8 pack exited with status {proc.returncode}"
    message = message.removeprefix("mx8 pack: ").removeprefix("error: ")
    if proc.returncode == 2:
        raise ValueError(message.removesuffix(" (see mx8 pack --help)"))
    if proc.returncode != 0:
        raise Mx8Error(message)
    last = proc.stdout.strip().splitlines()[-1]
    fields = dict(kv.split("=", 1) for kv in last.split(" "))
    return {
        "samples": int(fields["samples"]),
        "shards": int(fields["shards"]),
        "bytes": int(fields["bytes"]),
        "manifest_hash": fields["manifest_hash"],
        "manifest": fields["manifest"],
    }
