"""mx8.vision.ImageFolderLoader and mx8.load against the Deno loader, bit for bit."""

from __future__ import annotations

import hashlib
import os
import shlex
import time
import unittest

import numpy as np

from _support import (
    HAS_TORCH, NATIVE, NATIVE_SKIP, SMALL_CAP, TORCH_SKIP, DatasetCase, deno_cmd, deno_reference, mx8, wait_gone,
)


def sha(a) -> str:
    if HAS_TORCH and not isinstance(a, np.ndarray):
        a = a.numpy()
    return hashlib.sha256(np.ascontiguousarray(a).tobytes()).hexdigest()


class ImageFolderLoaderTest(DatasetCase):
    def link(self) -> str:
        return f"{self.train}@refresh"

    def check_equal_to_deno(self, **extra) -> None:
        ref = deno_reference(str(self.train), {"batchSizeSamples": 8, "resizeHw": [24, 32]})
        with mx8.vision.ImageFolderLoader(
            str(self.train), batch_size_samples=8, resize_hw=(24, 32), tensors="numpy", **extra
        ) as loader:
            got = []
            for images, labels in loader:
                self.assertIsInstance(images, np.ndarray)
                self.assertEqual(images.dtype, np.float32)
                self.assertEqual(labels.dtype, np.int64)
                self.assertTrue(0.0 <= float(images.min()) and float(images.max()) <= 1.0)
                got.append({"shape": list(images.shape), "labels": labels.tolist(), "sha256": sha(images)})
            stats = loader.stats()
        self.assertEqual(len(got), 3)  # 20 samples in batches of 8
        self.assertEqual(got, [{"shape": r["shape"], "labels": r["labels"], "sha256": r["sha256"]} for r in ref])
        return stats

    @unittest.skipUnless(NATIVE, NATIVE_SKIP)
    def test_batches_equal_the_deno_loaders_bit_for_bit_zero_copy(self) -> None:
        stats = self.check_equal_to_deno()
        self.assertEqual(stats["shared_mode"], "mapped")
        self.assertEqual(stats["shared_zero_copy_batches"], 3, stats)
        self.assertEqual(stats["shared_copied_batches"], 0)

    def test_batches_equal_the_deno_loaders_bit_for_bit_with_positional_writes(self) -> None:
        os.environ["MX8_BRIDGE_NATIVE"] = "0"
        try:
            stats = self.check_equal_to_deno()
        finally:
            del os.environ["MX8_BRIDGE_NATIVE"]
        self.assertEqual(stats["shared_mode"], "file")
        self.assertEqual(stats["shared_copied_batches"], 3, stats)

    def test_labels_sample_ids_classes_and_snake_case_stats(self) -> None:
        ref = deno_reference(str(self.train), {"batchSizeSamples": 6, "resizeHw": [8, 8], "shuffle": True, "seed": 3})
        loader = mx8.vision.ImageFolderLoader(
            self.link(), batch_size_samples=6, resize_hw=(8, 8), shuffle=True, seed=3, tensors="numpy",
            max_inflight_bytes=SMALL_CAP, max_queue_batches=2, prefetch_batches=1,
        )
        ids, labels = [], []
        for batch in loader:
            ids += batch.sample_ids.tolist()
            labels += batch.labels.tolist()
            stats = loader.stats()
        self.assertEqual(ids, [i for r in ref for i in r["sample_ids"]])
        self.assertEqual(labels, [i for r in ref for i in r["labels"]])
        self.assertEqual(sorted(ids), list(range(self.COUNT)))
        self.assertEqual(loader.classes, ["class_000", "class_001", "class_002"])
        self.assertEqual(len(loader.manifest_hash), 64)
        self.assertEqual(stats["delivered_samples_total"], self.COUNT)
        self.assertEqual(stats["max_inflight_bytes"], SMALL_CAP)
        self.assertEqual(stats["shared_bytes"], SMALL_CAP)
        self.assertLessEqual(stats["inflight_high_water_bytes"], SMALL_CAP)
        self.assertGreater(stats["ram_high_water_bytes"], 0)
        self.assertEqual(stats["effective_max_queue_batches"], 2)
        loader.close()
        loader.close()  # idempotent

    def test_epoch_and_autotune_keywords_reach_the_runtime(self) -> None:
        opts = {"batchSizeSamples": 5, "resizeHw": [4, 4], "shuffle": True, "seed": 11}
        orders = {}
        for epoch in (0, 1):
            ref = deno_reference(str(self.train), {**opts, "epoch": epoch})
            with mx8.vision.ImageFolderLoader(self.link(), batch_size_samples=5, resize_hw=(4, 4), shuffle=True,
                                              seed=11, epoch=epoch, tensors="numpy") as loader:
                orders[epoch] = [b.sample_ids.tolist() for b in loader]
            self.assertEqual(orders[epoch], [r["sample_ids"] for r in ref])
        self.assertNotEqual(orders[0], orders[1], "another epoch, another order")
        for autotune, profile in ((True, "balanced"), ("safe", "safe"), (False, "")):
            with mx8.vision.ImageFolderLoader(self.link(), resize_hw=(4, 4), autotune=autotune,
                                              tensors="numpy") as loader:
                loader.next()
                s = loader.stats()
                self.assertEqual((s["autotune_enabled"], s["autotune_profile"]), (bool(autotune), profile))

    def test_uint8_release_and_next(self) -> None:
        with mx8.vision.ImageFolderLoader(
            self.link(), batch_size_samples=5, resize_hw=(4, 4), to_float=False, tensors="numpy"
        ) as loader:
            first = loader.next()
            self.assertEqual(first.images.dtype, np.uint8)
            self.assertEqual(first.images.shape, (5, 3, 4, 4))
            first.release()
            first.release()  # idempotent
            rest = [b.sample_ids.tolist() for b in loader]
        self.assertEqual(rest, [[5, 6, 7, 8, 9], [10, 11, 12, 13, 14], [15, 16, 17, 18, 19]])

    def test_checkpoint_and_resume(self) -> None:
        with mx8.vision.ImageFolderLoader(self.link(), batch_size_samples=8, resize_hw=(4, 4)) as a:
            a.next()
            token = a.checkpoint()
        with mx8.vision.ImageFolderLoader(str(self.train), batch_size_samples=8, resize_hw=(4, 4), resume=token,
                                          tensors="numpy") as b:
            ids = [i for batch in b for i in batch.sample_ids.tolist()]
        self.assertEqual(ids, list(range(8, self.COUNT)))

    @unittest.skipUnless(HAS_TORCH, TORCH_SKIP)
    def test_torch_tensors_view_the_same_bytes(self) -> None:
        import torch

        ref = deno_reference(str(self.train), {"batchSizeSamples": 8, "resizeHw": [24, 32]})
        with mx8.vision.ImageFolderLoader(self.link(), batch_size_samples=8, resize_hw=(24, 32)) as loader:
            for (images, labels), r in zip(loader, ref):
                self.assertIsInstance(images, torch.Tensor)
                self.assertEqual(images.dtype, torch.float32)
                self.assertEqual(labels.dtype, torch.int64)
                self.assertEqual(list(images.shape), r["shape"])
                self.assertEqual(sha(images), r["sha256"])
                self.assertEqual(labels.tolist(), r["labels"])

    @unittest.skipUnless(HAS_TORCH, TORCH_SKIP)
    def test_pin_memory_pins_with_cuda_else_warns_and_keeps_zero_copy_views(self) -> None:
        import torch

        ref = deno_reference(str(self.train), {"batchSizeSamples": 8, "resizeHw": [24, 32]})
        cuda = torch.cuda.is_available()
        if cuda:
            loader = mx8.vision.ImageFolderLoader(self.link(), batch_size_samples=8, resize_hw=(24, 32),
                                                  pin_memory=True)
        else:
            with self.assertWarnsRegex(UserWarning, r"pin_memory=True is ignored: no CUDA device is available"):
                loader = mx8.vision.ImageFolderLoader(self.link(), batch_size_samples=8, resize_hw=(24, 32),
                                                      pin_memory=True)
        with loader:
            for (images, labels), r in zip(loader, ref):
                self.assertEqual(images.is_pinned(), cuda)
                self.assertEqual(sha(images), r["sha256"])
                self.assertEqual(labels.tolist(), r["labels"])
        with self.assertWarnsRegex(UserWarning, r"pin_memory=True is ignored: batches are numpy arrays"):
            mx8.vision.ImageFolderLoader(self.link(), resize_hw=(4, 4), tensors="numpy", pin_memory=True).close()

    @unittest.skipUnless(HAS_TORCH, TORCH_SKIP)
    def test_torch_utils_data_consumes_it(self) -> None:
        import torch.utils.data as tud

        class Stream(tud.IterableDataset):
            def __init__(self, link):
                self.link = link

            def __iter__(self):
                with mx8.vision.ImageFolderLoader(self.link, batch_size_samples=4, resize_hw=(4, 4)) as loader:
                    for images, labels in loader:
                        yield images.clone(), labels.clone()

        n = sum(len(labels) for _, labels in tud.DataLoader(Stream(self.link()), batch_size=None))
        self.assertEqual(n, self.COUNT)


def alive(pid: int) -> bool:
    """Whether process ``pid`` exists and is not a zombie."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return not f.read().split(") ")[1].startswith("Z")
    except FileNotFoundError:
        return False


class EndOfDataTest(DatasetCase):
    COUNT = 6
    CLASSES = 2

    def test_the_loop_ends_without_waiting_for_the_runtimes_teardown_which_is_still_reaped(self) -> None:
        # MX8_BIN: the real runtime, then a teardown that lasts until the test
        # opens the gate (an exit that takes long, e.g. a loaded machine).
        gate = self.tmp / "gate"
        wrapper = self.tmp / "slow-exit-mx8"
        wrapper.write_text(
            "#!/bin/sh\n"
            f"{shlex.join(deno_cmd(str(mx8._runtime._checkout_root() / 'main.ts')))} \"$@\"\n"
            "code=$?\n"
            f"while [ ! -e {shlex.quote(str(gate))} ]; do sleep 0.05; done\n"
            "exit $code\n"
        )
        wrapper.chmod(0o755)
        os.environ["MX8_BIN"] = str(wrapper)
        try:
            loader = mx8.vision.ImageFolderLoader(str(self.train), batch_size_samples=4, resize_hw=(4, 4),
                                                  tensors="numpy")
            ids = [i for batch in loader for i in batch.sample_ids.tolist()]
        finally:
            del os.environ["MX8_BIN"]
        pid = loader.stats()["runtime_pid"]
        # The loop returned while the runtime was still tearing down …
        self.assertTrue(alive(pid), "the end of the data waited for the runtime's exit")
        self.assertEqual(ids, list(range(self.COUNT)))
        self.assertEqual(loader.stats()["delivered_samples_total"], self.COUNT)  # final values kept
        loader.checkpoint()
        self.assertIsNone(loader.next())
        loader.close()  # idempotent, no wait
        # … and it is reaped (no zombie left) once it exits.
        gate.touch()
        self.assertTrue(wait_gone(pid))
        deadline = time.monotonic() + 30
        while os.path.exists(f"/proc/{pid}") and time.monotonic() < deadline:
            time.sleep(0.05)
        self.assertFalse(os.path.exists(f"/proc/{pid}"), f"runtime {pid} left a zombie")


class BadArgumentsTest(DatasetCase):
    COUNT = 4
    CLASSES = 2

    def test_unknown_keyword_is_a_type_error(self) -> None:
        with self.assertRaisesRegex(TypeError, r"ImageFolderLoader\(\) got an unexpected keyword argument 'batch_size'"):
            mx8.vision.ImageFolderLoader(str(self.train), batch_size=4)

    def test_bad_values_are_value_errors_in_the_runtimes_words(self) -> None:
        with self.assertRaisesRegex(ValueError, r"^Loader option batchSizeSamples must be an integer in 1\.\.16777216, got 0$"):
            mx8.vision.ImageFolderLoader(str(self.train), batch_size_samples=0)
        with self.assertRaisesRegex(ValueError, r"^Loader option resizeHw must be \[height, width\], two integers in 1\.\.65535, got \[0,5\]$"):
            mx8.vision.ImageFolderLoader(str(self.train), resize_hw=(0, 5))
        with self.assertRaisesRegex(ValueError, r"loader options resizeHw need decoded images"):
            mx8.load(str(self.train), decode="raw", resize_hw=(4, 4))

    def test_a_missing_dataset_names_it(self) -> None:
        loader = mx8.load(str(self.tmp / "nowhere"))
        with self.assertRaises(mx8.Mx8Error) as cm:
            loader.next()
        self.assertIn(str(self.tmp / "nowhere"), str(cm.exception))
        with self.assertRaisesRegex(mx8.Mx8Error, "closed"):
            loader.next()


class RawLoaderTest(DatasetCase):
    COUNT = 7
    CLASSES = 2

    def test_raw_batches_carry_the_files_bytes_ids_and_labels(self) -> None:
        files = sorted(p for p in self.train.rglob("*.jpg"))
        ref = deno_reference(str(self.train), {"batchSizeSamples": 3})
        with mx8.load(str(self.train), batch_size_samples=3, tensors="numpy") as loader:
            got = []
            for batch in loader:
                self.assertEqual(len(batch.offsets), len(batch) + 1)
                for i, sid in enumerate(batch.sample_ids.tolist()):
                    self.assertEqual(bytes(batch.sample(i)), files[sid].read_bytes())
                got.append({
                    "sample_ids": batch.sample_ids.tolist(),
                    "labels": batch.label_ids.tolist(),
                    "offsets": batch.offsets.tolist(),
                    "sha256": hashlib.sha256(batch.payload.tobytes()).hexdigest(),
                })
            stats = loader.stats()
        self.assertEqual(got, ref)
        self.assertEqual(stats["decode_backend"], "none")
        self.assertEqual(stats["shared_copied_batches"], 3)


if __name__ == "__main__":
    unittest.main()
