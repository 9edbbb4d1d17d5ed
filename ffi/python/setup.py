"""Build hook: a package installed from an mx8 checkout remembers where it is.

``pip install ./ffi/python`` copies the package elsewhere; ``mx8/_origin.py``
records the checkout so ``deno run <checkout>/main.ts`` still finds the
runtime (``MX8_BIN`` / ``MX8_CHECKOUT`` override it). Metadata is in
pyproject.toml.
"""

from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py


class BuildPy(build_py):
    def run(self) -> None:
        super().run()
        root = Path(__file__).resolve().parents[2]
        if (root / "main.ts").is_file():
            out = Path(self.build_lib) / "mx8" / "_origin.py"
            out.write_text(f'"""Written at install time."""\n\nCHECKOUT = {str(root)!r}\n')


setup(cmdclass={"build_py": BuildPy})
