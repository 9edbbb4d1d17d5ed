"""Finding, starting and talking to the mx8 runtime (``mx8 bridge``).

One child process per loader. Requests go to its stdin and replies come
back on its stdout, one JSON object per line; batch bytes live in a shared
mapping both processes map (see docs/python.md).
"""

from __future__ import annotations

import collections
import json
import mmap
import os
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import weakref
from pathlib import Path
from typing import Any, Deque, Dict, List, Optional

from ._errors import Mx8Error, RuntimeExitedError

_STDERR_TAIL = 40
_CLOSE_TIMEOUT_S = 10.0


def _checkout_root() -> Optional[Path]:
    """The repository this package belongs to (``ffi/python/mx8`` → root)."""
    env = os.environ.get("MX8_CHECKOUT")
    candidates = [Path(env)] if env else []
    here = Path(__file__).resolve().parent
    candidates.append(here.parents[2])
    try:
        from . import _origin  # written by ``pip install`` from a checkout

        candidates.append(Path(_origin.CHECKOUT))
    except ImportError:
        pass
    for root in candidates:
        if (root / "main.ts").is_file() and (root / "deno.json").is_file():
            return root
    return None


def runtime_command(subcommand: List[str]) -> List[str]:
    """The command line of ``mx8 <subcommand…>``.

    ``MX8_BIN`` (an ``mx8`` executable) first, then ``deno run`` of the
    checkout's ``main.ts`` (``MX8_CHECKOUT``, or the checkout this package
    sits in), then ``mx8`` on ``PATH``.
    """
    exe = os.environ.get("MX8_BIN")
    if exe:
        return [exe, *subcommand]
    root = _checkout_root()
    if root is not None:
        deno = os.environ.get("MX8_DENO") or shutil.which("deno")
        if deno is None:
            raise Mx8Error(
                f"cannot start the mx8 runtime: deno is not on PATH (checkout {root}); "
                "install deno, or set MX8_DENO to it, or MX8_BIN to an mx8 executable"
            )
        return [
            deno,
            "run",
            "-A",
            "--unsafe-proto",
            "--quiet",
            "--config",
            str(root / "deno.json"),
            str(root / "main.ts"),
            *subcommand,
        ]
    on_path = shutil.which("mx8")
    if on_path:
        return [on_path, *subcommand]
    raise Mx8Error(
        "cannot find the mx8 runtime: set MX8_BIN to an mx8 executable, or "
        "MX8_CHECKOUT to an mx8 checkout (with main.ts), or put mx8 on PATH"
    )


def shm_dir() -> str:
    """Where mappings are created: ``MX8_SHM_DIR``, else ``/dev/shm``, else the temp dir."""
    env = os.environ.get("MX8_SHM_DIR")
    if env:
        return env
    return "/dev/shm" if os.path.isdir("/dev/shm") else tempfile.gettempdir()


class _StderrTail(threading.Thread):
    """Keeps the last lines of the runtime's stderr (echoed when ``MX8_LOG=1``)."""

    def __init__(self, stream: Any) -> None:
        super().__init__(name="mx8-runtime-stderr", daemon=True)
        self._stream = stream
        self.lines: Deque[str] = collections.deque(maxlen=_STDERR_TAIL)
        self._echo = os.environ.get("MX8_LOG") == "1"
        self.start()

    def run(self) -> None:
        for raw in iter(self._stream.readline, b""):
            line = raw.decode("utf-8", "replace").rstrip("\n")
            self.lines.append(line)
            if self._echo:
                print(f"[mx8] {line}", file=sys.stderr, flush=True)

    def tail(self, n: int = 10) -> str:
        return "\n".join(list(self.lines)[-n:])


def _cleanup(proc: subprocess.Popen, path: str) -> None:
    """Last-resort cleanup (finalizer / interpreter exit): no waiting on a reply."""
    try:
        if proc.stdin and not proc.stdin.closed:
            proc.stdin.close()  # EOF: the runtime closes its loader and exits
    except OSError:
        pass
    try:
        proc.wait(timeout=_CLOSE_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
    try:
        os.unlink(path)
    except OSError:
        pass


class Bridge:
    """One ``mx8 bridge`` child: the control channel and the shared mapping."""

    def __init__(
        self,
        link: str,
        options: Dict[str, Any],
        env: Optional[Dict[str, str]] = None,
        mix: Optional[Dict[str, Any]] = None,
    ) -> None:
        self.shm_path = os.path.join(shm_dir(), f"mx8-py-{os.getpid()}-{secrets.token_hex(6)}")
        child_env = dict(os.environ)
        child_env.update(env or {})
        child_env.setdefault("NO_COLOR", "1")
        self._proc = subprocess.Popen(
            runtime_command(["bridge"]),
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=child_env,
            # Ctrl-C goes to Python alone; the runtime stops when we close its stdin.
            start_new_session=True,
        )
        self._stderr = _StderrTail(self._proc.stderr)
        self._finalizer = weakref.finalize(self, _cleanup, self._proc, self.shm_path)
        self.mm: Optional[mmap.mmap] = None
        self.closed = False
        try:
            request: Dict[str, Any] = {"op": "open", "link": link, "options": options, "shmPath": self.shm_path}
            if mix is not None:
                request["mix"] = mix  # serve mix(sources, options) instead of one loader
            ready = self._exchange(request)
            self.shm_bytes = int(ready["shm_bytes"])
            self.mode = str(ready["mode"])
            fd = os.open(self.shm_path, os.O_RDWR)
            try:
                self.mm = mmap.mmap(fd, self.shm_bytes, mmap.MAP_SHARED, mmap.PROT_READ | mmap.PROT_WRITE)
            finally:
                os.close(fd)
            os.unlink(self.shm_path)  # both sides have it mapped: no name left behind
        except BaseException:
            self.close()
            raise

    # -- control channel -------------------------------------------------

    def _died(self) -> RuntimeExitedError:
        try:
            code = self._proc.wait(timeout=_CLOSE_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            self._proc.kill()
            code = self._proc.wait()
        self._stderr.join(timeout=2)
        self.closed = True
        self._unlink()
        self._close_pipes()
        if code is not None and code < 0:
            try:
                status = f"killed by {signal.Signals(-code).name}"
            except ValueError:
                status = f"killed by signal {-code}"
        else:
            status = f"exit status {code}"
        tail = self._stderr.tail()
        return RuntimeExitedError(
            f"the mx8 runtime (pid {self._proc.pid}) stopped: {status}"
            + (f"; last stderr lines:\n{tail}" if tail else " (no stderr output)"),
            returncode=code,
            stderr_tail=tail,
        )

    def _exchange(self, request: Dict[str, Any]) -> Dict[str, Any]:
        if self.closed:
            raise Mx8Error("the loader is closed")
        try:
            try:
                assert self._proc.stdin is not None
                self._proc.stdin.write((json.dumps(request) + "\n").encode())
                self._proc.stdin.flush()
            except (BrokenPipeError, OSError):
                raise self._died() from None
            assert self._proc.stdout is not None
            line = self._proc.stdout.readline()
        except (KeyboardInterrupt, SystemExit):
            self._interrupted()
            raise
        if not line:
            raise self._died()
        reply = json.loads(line)
        if reply.get("t") == "error":
            raise self._error(reply)
        return reply

    def _error(self, reply: Dict[str, Any]) -> Exception:
        kind = reply.get("error")
        message = str(reply.get("message", ""))
        fatal = reply.get("fatal", True)
        if fatal:
            self.close()
        if kind == "ValueError":
            return ValueError(message)
        return Mx8Error(message, name=str(kind))

    def _interrupted(self) -> None:
        """Ctrl-C (or ``sys.exit`` from a signal handler) with a reply pending:
        the channel is out of step, so stop the runtime now rather than read a
        stale reply later. The loader is closed afterwards."""
        self.close()

    def request(self, op: str) -> Dict[str, Any]:
        """Sends ``{"op": op}`` and returns the reply (raises on an error reply)."""
        return self._exchange({"op": op})

    def read_inline(self, n: int) -> bytearray:
        """Reads the ``n`` bytes that follow a descriptor sent inline."""
        buf = bytearray(n)
        view = memoryview(buf)
        got = 0
        assert self._proc.stdout is not None
        while got < n:
            try:
                k = self._proc.stdout.readinto(view[got:])
            except (KeyboardInterrupt, SystemExit):
                self._interrupted()
                raise
            if not k:
                raise self._died()
            got += k
        return buf

    # -- shutdown --------------------------------------------------------

    def _unlink(self) -> None:
        try:
            os.unlink(self.shm_path)
        except OSError:
            pass

    def _close_pipes(self) -> None:
        for pipe in (self._proc.stdin, self._proc.stdout, self._proc.stderr):
            try:
                if pipe is not None and (pipe is not self._proc.stderr or not self._stderr.is_alive()):
                    pipe.close()
            except (OSError, ValueError):
                pass

    def close(self, wait: bool = True) -> None:
        """Stops the runtime (``close``, then EOF, then a kill after 10 s) and drops the mapping.

        ``wait=False`` (the end of the data) returns once the runtime was told
        to stop and its stdin closed; a daemon thread waits for its exit (and
        kills it after the same timeout), so the consumer does not wait for the
        runtime's teardown. At interpreter exit the wait is completed if it has
        not started yet (the finalizer); either way the runtime exits on EOF.
        """
        if self.closed:
            return
        self.closed = True
        try:
            assert self._proc.stdin is not None
            self._proc.stdin.write(b'{"op":"close"}\n')
            self._proc.stdin.flush()
            if not wait:
                self._proc.stdin.close()  # EOF now, not when the reaper gets to it
        except (OSError, ValueError):
            pass
        if wait:
            self._reap()
        else:
            threading.Thread(target=self._reap, name="mx8-runtime-reaper", daemon=True).start()
        mm, self.mm = self.mm, None
        if mm is not None:
            try:
                mm.close()
            except BufferError:
                pass  # arrays still view it: unmapped when the last one goes

    def _reap(self) -> None:
        """Waits for the runtime's exit (kills it after a timeout), then closes the pipes."""
        self._finalizer()  # closes stdin, waits (kills after a timeout), unlinks
        self._stderr.join(timeout=2)
        self._close_pipes()

    @property
    def pid(self) -> int:
        return self._proc.pid

    @property
    def returncode(self) -> Optional[int]:
        return self._proc.poll()
