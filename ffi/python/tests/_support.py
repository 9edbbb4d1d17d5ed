"""Shared helpers of the mx8 Python tests: datasets, the Deno reference, /dev/shm checks."""

from __future__ import annotations

import glob
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import unittest
from pathlib import Path
from typing import Any, Dict, List

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[2]
sys.path.insert(0, str(HERE.parent))  # the package under test, not an installed one

import mx8  # noqa: E402
from mx8 import _tensors  # noqa: E402

HAS_TORCH = _tensors.torch_module() is not None
TORCH_SKIP = "torch is not importable (apt install python3-torch): torch tensor tests skipped"

# Whether the runtime decodes natively (libmx8_ffi): only then do batches land
# in the shared mapping without a copy, and decode needs less working memory.
NATIVE = os.path.exists(
    os.environ.get("MX8_FFI_LIB") or str(ROOT / "ffi" / "target" / "release" / "libmx8_ffi.so")
)
NATIVE_SKIP = "libmx8_ffi is not available (deno task build:ffi): zero-copy tests skipped"
# A cap that fits a few small batches plus either decoder's working memory
# (sharp reserves ≈2 MiB per image decoding at once; native ≈0.25 MiB).
SMALL_CAP = 8 * 2**20


def deno_cmd(*args: str) -> List[str]:
    deno = os.environ.get("MX8_DENO") or shutil.which("deno") or "deno"
    return [deno, "run", "-A", "--unsafe-proto", "--quiet", "--config", str(ROOT / "deno.json"), *args]


def make_images(dir: Path, count: int, classes: int, width: int = 64, height: int = 48) -> Path:
    """``count`` photo-like JPEGs in ``classes`` class folders under ``dir``."""
    subprocess.run(
        deno_cmd(
            str(ROOT / "scripts/gen_jpegs.ts"), str(dir), "--count", str(count), "--classes", str(classes),
            "--width", str(width), "--height", str(height),
        ),
        check=True,
        stdout=subprocess.DEVNULL,
    )
    return dir


def deno_reference(link: str, options: Dict[str, Any]) -> List[Dict[str, Any]]:
    """What the Deno loader delivers for ``link`` with camelCase ``options``."""
    out = subprocess.run(
        deno_cmd(str(HERE / "_deno/reference.ts"), link, json.dumps(options)),
        check=True,
        capture_output=True,
        text=True,
    )
    return [json.loads(line) for line in out.stdout.splitlines() if line]


def shm_files(pid: int) -> List[str]:
    """Mappings this package created for process ``pid`` that still have a name."""
    return glob.glob(os.path.join(mx8._runtime.shm_dir(), f"mx8-py-{pid}-*"))


def wait_gone(pid: int, timeout_s: float = 30.0) -> bool:
    """Whether process ``pid`` exits (or is a zombie) within ``timeout_s``."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            with open(f"/proc/{pid}/stat") as f:
                if f.read().split(") ")[1].startswith("Z"):
                    return True
        except FileNotFoundError:
            return True
        time.sleep(0.05)
    return False


def rss_bytes(pid: int) -> int:
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    return 0


class DatasetCase(unittest.TestCase):
    """A temp dir with a manifest store (``MX8_MANIFEST_STORE``) and an image set."""

    COUNT = 20
    CLASSES = 3
    tmp: Path
    train: Path

    @classmethod
    def setUpClass(cls) -> None:
        cls._tmp = tempfile.TemporaryDirectory(prefix="mx8-pytest-")
        cls.tmp = Path(cls._tmp.name)
        cls._old_store = os.environ.get("MX8_MANIFEST_STORE")
        os.environ["MX8_MANIFEST_STORE"] = str(cls.tmp / "store")
        cls.train = make_images(cls.tmp / "train", cls.COUNT, cls.CLASSES)

    @classmethod
    def tearDownClass(cls) -> None:
        if cls._old_store is None:
            os.environ.pop("MX8_MANIFEST_STORE", None)
        else:
            os.environ["MX8_MANIFEST_STORE"] = cls._old_store
        cls._tmp.cleanup()

    def tearDown(self) -> None:
        self.assertEqual(shm_files(os.getpid()), [], "no mapping left in /dev/shm")
