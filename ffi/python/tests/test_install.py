"""``pip install ./ffi/python`` gives a package that still finds this checkout's runtime."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import unittest

from _support import HERE, DatasetCase


def has_pip_and_setuptools() -> bool:
    return all(
        subprocess.run([sys.executable, *args], capture_output=True).returncode == 0
        for args in (["-m", "pip", "--version"], ["-c", "import setuptools"])
    )


@unittest.skipUnless(has_pip_and_setuptools(), "pip or setuptools missing for this Python: install test skipped")
class InstallTest(DatasetCase):
    COUNT = 3
    CLASSES = 1

    def test_installed_package_loads_from_another_directory(self) -> None:
        # setuptools builds in the source tree: remove what it leaves there.
        leftovers = [HERE.parent / "build", HERE.parent / "mx8.egg-info"]
        for p in leftovers:
            if not p.exists():
                self.addCleanup(shutil.rmtree, p, True)
        with tempfile.TemporaryDirectory() as target:
            subprocess.run(
                [sys.executable, "-m", "pip", "install", "-q", "--no-build-isolation", "--no-deps",
                 "--target", target, str(HERE.parent)],
                check=True, capture_output=True, cwd=target,
            )
            env = {k: v for k, v in os.environ.items() if k not in ("MX8_BIN", "MX8_CHECKOUT")}
            env["PYTHONPATH"] = target
            out = subprocess.run(
                [sys.executable, "-c",
                 "import mx8, sys; print(mx8.__file__); "
                 "print(sum(len(b) for b in mx8.load(sys.argv[1], batch_size_samples=2, tensors='numpy')))",
                 str(self.train)],
                check=True, capture_output=True, text=True, cwd=target, env=env,
            )
        where, samples = out.stdout.split()
        self.assertTrue(where.startswith(target), where)
        self.assertEqual(int(samples), self.COUNT)


if __name__ == "__main__":
    unittest.main()
