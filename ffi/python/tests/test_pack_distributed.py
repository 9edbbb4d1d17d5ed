"""mx8.pack from Python, and Python consumers of a distributed job surviving an agent kill."""

from __future__ import annotations

import hashlib
import json
import signal
import subprocess
import threading
import time


from _support import ROOT, DatasetCase, deno_cmd, mx8, shm_files, wait_gone
from test_failures import consumer


class PackTest(DatasetCase):
    COUNT = 9
    CLASSES = 3

    def test_pack_then_load_the_packed_set(self) -> None:
        out = self.tmp / "packed"
        result = mx8.pack(str(self.train), out=str(out), shard_mb=0.01, label_mode="auto")
        self.assertEqual(result["samples"], self.COUNT)
        self.assertGreater(result["shards"], 1)
        self.assertEqual(len(result["manifest_hash"]), 64)
        self.assertTrue((out / "_mx8/manifest.tsv").is_file())
        self.assertTrue((out / "_mx8/labels.tsv").is_file())

        def batches(link):
            with mx8.vision.ImageFolderLoader(link, batch_size_samples=4, resize_hw=(8, 8), tensors="numpy") as l:
                return [(b.sample_ids.tolist(), b.labels.tolist(), hashlib.sha256(b.images.tobytes()).hexdigest())
                        for b in l]

        self.assertEqual(batches(f"{out}@refresh"), batches(str(self.train)))

    def test_bad_arguments_and_failures(self) -> None:
        with self.assertRaisesRegex(ValueError, r'^--label-mode must be one of auto\|imagefolder\|none, got "x"$'):
            mx8.pack(str(self.train), out=str(self.tmp / "x"), label_mode="x")
        with self.assertRaisesRegex(ValueError, r'--shard-mb must be a number > 0, got "0"'):
            mx8.pack(str(self.train), out=str(self.tmp / "x"), shard_mb=0)
        with self.assertRaises(mx8.Mx8Error) as cm:
            mx8.pack(str(self.tmp / "missing"), out=str(self.tmp / "y"))
        self.assertIn(str(self.tmp / "missing"), str(cm.exception))


class DistributedTest(DatasetCase):
    COUNT = 48
    CLASSES = 2

    def coordinator(self, job: str) -> str:
        """Starts a coordinator (world size 2) for ``job`` over the packed set; returns its URL."""
        packed = self.tmp / "packed"
        if not packed.exists():
            mx8.pack(str(self.train), out=str(packed))
        coord = subprocess.Popen(
            deno_cmd(str(ROOT / "main.ts"), "coordinator", "--bind", "127.0.0.1:0", "--grpc-bind", "off",
                     "--job-id", job, "--dataset", str(packed), "--world-size", "2", "--block-size", "8",
                     "--lease-ttl-ms", "1500", "--heartbeat-ms", "300"),
            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
        )

        def stop() -> None:
            coord.send_signal(signal.SIGTERM)
            try:
                coord.wait(timeout=10)
            except subprocess.TimeoutExpired:
                coord.kill()
                coord.wait()
            coord.stdout.close()

        self.addCleanup(stop)
        ready = coord.stdout.readline()
        self.assertIn("mx8 coordinator ready", ready)
        return ready.split("url=")[1].split()[0]

    def test_a_runtime_waiting_for_the_barrier_exits_when_python_dies(self) -> None:
        url = self.coordinator("alone")
        proc = consumer(f"""
            import mx8
            loader = mx8.load("", coord={url!r}, job="alone", node_id="only", tensors="numpy")
            print(loader.stats()["runtime_pid"], flush=True)
            loader.next()  # never answered: the job waits for a second node
        """)
        runtime = int(proc.stdout.readline())
        time.sleep(1.0)  # the runtime is now inside loader.next(), registered and waiting
        self.assertFalse(wait_gone(runtime, 0.1), "the runtime waits for the barrier")
        proc.kill()
        proc.communicate(timeout=30)
        self.assertTrue(wait_gone(runtime), "the runtime exits on its consumer's EOF while waiting")
        self.assertEqual(shm_files(proc.pid), [])

    def test_ctrl_c_while_waiting_for_a_batch_stops_the_runtime_and_closes_the_loader(self) -> None:
        url = self.coordinator("interrupted")
        proc = consumer(f"""
            import sys, time
            import mx8
            loader = mx8.load("", coord={url!r}, job="interrupted", node_id="only", tensors="numpy")
            print(loader.stats()["runtime_pid"], flush=True)
            try:
                loader.next()  # never answered: the job waits for a second node
            except KeyboardInterrupt:
                print("interrupted", flush=True)
            try:
                loader.next()
            except mx8.Mx8Error as e:
                print("then:", e, flush=True)
            time.sleep(600)  # stay alive until the test kills it
        """)
        watchdog = threading.Timer(60, proc.kill)  # a hung consumer fails the test instead of hanging it
        watchdog.start()
        self.addCleanup(watchdog.cancel)
        runtime = int(proc.stdout.readline())
        time.sleep(1.0)  # inside loader.next(), waiting for a reply
        proc.send_signal(signal.SIGINT)
        self.assertEqual(proc.stdout.readline().strip(), "interrupted")
        self.assertEqual(proc.stdout.readline().strip(), "then: the loader is closed")
        # Python is still running: the runtime stopped because the loader was closed, not because Python exited.
        self.assertIsNone(proc.poll())
        self.assertTrue(wait_gone(runtime), "the runtime stops when Ctrl-C interrupts a request")
        self.assertEqual(shm_files(proc.pid), [])
        proc.kill()
        proc.communicate(timeout=30)

    def test_every_id_reaches_the_python_consumers_when_an_agent_dies(self) -> None:
        url = self.coordinator("pyjob")
        code = """
            import json, os, signal, sys, time
            import mx8
            node, die_after = sys.argv[1], int(sys.argv[2])
            loader = mx8.load("", coord=%r, job="pyjob", node_id=node, batch_size_samples=4, tensors="numpy")
            try:
                for n, batch in enumerate(loader, 1):
                    print(json.dumps(batch.sample_ids.tolist()), flush=True)
                    if n == die_after:  # the agent (this consumer's runtime) dies mid-lease
                        os.kill(loader.stats()["runtime_pid"], signal.SIGKILL)
                    time.sleep(0.05)
            except mx8.RuntimeExitedError as e:
                print("died", e.returncode, flush=True)
                sys.exit(3)
        """ % url
        procs = {}
        for node, die_after in (("a", 0), ("b", 1)):
            procs[node] = consumer(code.replace("sys.argv[1], int(sys.argv[2])", f"{node!r}, {die_after}"))
        seen = {}
        for node, proc in procs.items():
            out, err = proc.communicate(timeout=120)
            seen[node] = out.splitlines()
            if node == "a":
                self.assertEqual(proc.returncode, 0, err)
        self.assertEqual(procs["b"].returncode, 3, seen["b"])
        self.assertEqual(seen["b"][-1], f"died {-signal.SIGKILL}")
        ids = [i for node in seen for line in seen[node] if line.startswith("[") for i in json.loads(line)]
        self.assertEqual(sorted(set(ids)), list(range(self.COUNT)), "every id delivered at least once")
        self.assertTrue(any(line.startswith("[") for line in seen["b"]), "b got a lease before dying")


