"""Either side dying, slow consumers and Ctrl-C: clear errors, bounded memory, nothing left in /dev/shm."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
import unittest

from _support import HAS_TORCH, HERE, NATIVE, SMALL_CAP, DatasetCase, mx8, rss_bytes, shm_files, wait_gone


def consumer(code: str) -> subprocess.Popen:
    """A Python process running ``code`` with this package importable."""
    script = "import sys; sys.path.insert(0, %r)\n" % str(HERE.parent) + textwrap.dedent(code)
    return subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


class RuntimeDiesTest(DatasetCase):
    COUNT = 12
    CLASSES = 2

    def test_a_killed_runtime_is_an_exception_naming_its_status(self) -> None:
        loader = mx8.vision.ImageFolderLoader(str(self.train), batch_size_samples=2, resize_hw=(8, 8), tensors="numpy")
        loader.next()
        pid = loader.stats()["runtime_pid"]
        os.kill(pid, signal.SIGKILL)
        with self.assertRaises(mx8.RuntimeExitedError) as cm:
            for _ in range(10):
                loader.next()
        self.assertIn(f"pid {pid}", str(cm.exception))
        self.assertIn("killed by SIGKILL", str(cm.exception))
        self.assertEqual(cm.exception.returncode, -signal.SIGKILL)
        with self.assertRaisesRegex(mx8.Mx8Error, "closed"):
            loader.next()
        loader.close()

    def test_a_runtime_error_names_the_sample(self) -> None:
        bad = self.tmp / "bad"
        (bad / "a").mkdir(parents=True)
        (bad / "b").mkdir()
        for cls in ("a", "b"):
            (bad / cls / "0.jpg").write_bytes(next(self.train.rglob("*.jpg")).read_bytes())
        (bad / "b" / "1.jpg").write_bytes(b"\xff\xd8\xff\xe0 not really a jpeg")
        with mx8.vision.ImageFolderLoader(str(bad), batch_size_samples=4, resize_hw=(8, 8)) as loader:
            with self.assertRaises(mx8.Mx8Error) as cm:
                next(iter(loader))
        self.assertEqual(cm.exception.name, "DecodeError")
        self.assertIn("cannot decode sample 2", str(cm.exception))
        self.assertIn("1.jpg", str(cm.exception))


class BatchKeptPastCloseTest(DatasetCase):
    COUNT = 12
    CLASSES = 2

    def test_a_batch_kept_after_the_loader_ends_or_closes_stays_readable(self) -> None:
        # The mapping must outlive close() while a tensor views it: reading it
        # must never touch unmapped memory (that was a segfault with torch).
        for tensors in ("torch", "numpy") if HAS_TORCH else ("numpy",):
            with self.subTest(tensors=tensors):
                proc = consumer(f"""
                    import mx8
                    opts = dict(batch_size_samples=4, resize_hw=(8, 8), tensors={tensors!r})
                    loader = mx8.vision.ImageFolderLoader({str(self.train)!r}, **opts)
                    for images, labels in loader:
                        expected = float(images.sum())
                    print("after the end", float(images.sum()) == expected, flush=True)
                    loader = mx8.vision.ImageFolderLoader({str(self.train)!r}, **opts)
                    images, labels = loader.next()
                    expected = float(images.sum())
                    loader.close()
                    print("after close", float(images.sum()) == expected, flush=True)
                """)
                out, err = proc.communicate(timeout=120)
                self.assertEqual(proc.returncode, 0, err)
                self.assertEqual(out.splitlines(), ["after the end True", "after close True"])
                self.assertEqual(shm_files(proc.pid), [])


class PythonDiesTest(DatasetCase):
    COUNT = 12
    CLASSES = 2

    def run_consumer_until_killed(self, how: str) -> None:
        proc = consumer(f"""
            import os, signal, sys, time
            import mx8
            loader = mx8.vision.ImageFolderLoader({str(self.train)!r}, batch_size_samples=2, resize_hw=(8, 8),
                                                  tensors="numpy")
            loader.next()
            print(loader.stats()["runtime_pid"], flush=True)
            if {how!r} == "kill":
                os.kill(os.getpid(), signal.SIGKILL)
            while True:
                loader.next()
                time.sleep(0.2)
        """)
        line = proc.stdout.readline()
        self.assertTrue(line.strip().isdigit(), proc.stderr.read() if not line else line)
        runtime = int(line)
        if how == "sigint":
            proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=60)
        if how == "sigint":
            self.assertIn("KeyboardInterrupt", err)
            self.assertNotEqual(proc.returncode, 0)
        else:
            self.assertEqual(proc.returncode, -signal.SIGKILL)
        self.assertTrue(wait_gone(runtime), f"runtime {runtime} still running after its consumer {how}")
        self.assertEqual(shm_files(proc.pid), [])

    def test_a_consumer_gone_before_mapping_the_file_leaves_nothing_in_dev_shm(self) -> None:
        # The narrowest window: the runtime created the file and answered "ready",
        # and its consumer ends before mapping (and unlinking) it.
        path = os.path.join(mx8._runtime.shm_dir(), f"mx8-py-{os.getpid()}-early")
        proc = subprocess.Popen(mx8._runtime.runtime_command(["bridge"]), stdin=subprocess.PIPE,
                                stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
        request = {"op": "open", "link": str(self.train), "options": {"decode": "image", "resizeHw": [8, 8]},
                   "shmPath": path}
        proc.stdin.write((json.dumps(request) + "\n").encode())
        proc.stdin.flush()
        ready = json.loads(proc.stdout.readline())
        self.assertEqual(ready["t"], "ready")
        self.assertTrue(os.path.exists(path))
        proc.stdin.close()  # what the kernel does when the consumer dies
        self.assertEqual(proc.wait(timeout=60), 0)
        proc.stdout.close()
        self.assertFalse(os.path.exists(path), "the runtime removed the mapping nobody mapped")

    def test_the_runtime_exits_when_python_is_killed(self) -> None:
        self.run_consumer_until_killed("kill")

    def test_ctrl_c_stops_python_and_the_runtime_cleanly(self) -> None:
        self.run_consumer_until_killed("sigint")


class SlowConsumerTest(DatasetCase):
    COUNT = 80
    CLASSES = 2

    def test_a_slow_consumer_keeps_the_runtime_and_the_mapping_bounded(self) -> None:
        cap = SMALL_CAP
        loader = mx8.vision.ImageFolderLoader(
            str(self.train), batch_size_samples=4, resize_hw=(64, 64), tensors="numpy",
            max_inflight_bytes=cap, max_queue_batches=3, prefetch_batches=2,
        )
        loader.next()
        time.sleep(0.5)  # let it fill its queue
        pid = loader.stats()["runtime_pid"]
        start = rss_bytes(pid)
        peak = start
        n = 1
        for _ in loader:
            n += 1
            time.sleep(0.05)
            if n < 20:
                s = loader.stats()
                peak = max(peak, rss_bytes(pid))
                self.assertLessEqual(s["inflight_bytes"], cap)
                self.assertLessEqual(s["queue_depth_batches"], 3)
                self.assertEqual(s["shared_bytes"], cap)
        s = loader.stats()
        self.assertEqual(n, 20)
        self.assertLessEqual(s["inflight_high_water_bytes"], cap)
        if NATIVE:
            self.assertEqual(s["shared_zero_copy_batches"], 20)
        self.assertLess(peak - start, 32 * 2**20, f"runtime RSS grew {peak - start} bytes under a slow consumer")


if __name__ == "__main__":
    unittest.main()
