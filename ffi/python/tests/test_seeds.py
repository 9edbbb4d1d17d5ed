"""The seeds' Python examples, run as they are written, against a real S3 (s3rver on 127.0.0.1)."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess

import numpy as np

from _support import HAS_TORCH, HERE, DatasetCase, deno_cmd, mx8


def digest(images, labels):
    if HAS_TORCH:
        import torch

        assert isinstance(images, torch.Tensor) and isinstance(labels, torch.Tensor)
        images, labels = images.numpy(), labels.numpy()
    else:
        assert isinstance(images, np.ndarray)
    return hashlib.sha256(np.ascontiguousarray(images).tobytes()).hexdigest(), labels.tolist()


class SeedExamplesTest(DatasetCase):
    COUNT = 70  # batches of 64: one full, one of 6
    CLASSES = 2

    @classmethod
    def setUpClass(cls) -> None:
        super().setUpClass()
        cls.s3 = subprocess.Popen(
            deno_cmd(str(HERE / "_deno/s3.ts"), str(cls.train), "raw/train/"),
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
        )
        line = cls.s3.stdout.readline()
        if not line:
            cls.s3.wait()
            raise RuntimeError("the s3rver helper did not start (see its stderr)")
        cls.saved = {k: os.environ.get(k) for k in json.loads(line)}
        os.environ.update(json.loads(line))

    @classmethod
    def tearDownClass(cls) -> None:
        for k, v in cls.saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
        cls.s3.stdin.close()  # the helper stops s3rver and removes its files
        cls.s3.wait(timeout=30)
        cls.s3.stdout.close()
        super().tearDownClass()

    def test_pack_then_image_folder_loader_over_s3(self) -> None:
        result = mx8.pack('s3://bucket/raw/train/', out='s3://bucket/mx8/train/', shard_mb=512, label_mode='auto')
        self.assertEqual(result["samples"], self.COUNT)
        self.assertEqual(result["shards"], 1)

        loader = mx8.vision.ImageFolderLoader(
            "s3://bucket/mx8/train/@refresh",
            batch_size_samples=64,
            resize_hw=(224, 224),
        )
        got = []
        for images, labels in loader:
            # images: [B,C,H,W] float32 in [0,1]; labels: [B] int64
            self.assertEqual(tuple(images.shape)[1:], (3, 224, 224))
            self.assertEqual(str(images.dtype).rsplit(".", 1)[-1], "float32")
            self.assertEqual(str(labels.dtype).rsplit(".", 1)[-1], "int64")
            self.assertTrue(0.0 <= float(images.min()) and float(images.max()) <= 1.0)
            got.append(digest(images, labels))
        self.assertGreater(loader.stats()["ram_high_water_bytes"], 0)
        self.assertEqual([len(labels) for _, labels in got], [64, 6])

        # The same images, decoded from the local folder, are the same tensors.
        with mx8.vision.ImageFolderLoader(str(self.train), batch_size_samples=64, resize_hw=(224, 224)) as local:
            self.assertEqual(got, [digest(images, labels) for images, labels in local])

    def test_bounded_memory_example(self) -> None:
        packed = self.tmp / "mx8-dataset"
        mx8.pack(str(self.train), out=str(packed))
        printed = []
        loader = mx8.vision.ImageFolderLoader(
            f"{packed}@refresh",
            batch_size_samples=64,
            max_inflight_bytes=256 * 1024 * 1024,
            max_queue_batches=8,
            prefetch_batches=4,
        )

        for step, (images, labels) in enumerate(loader):
            if step % 100 == 0:
                printed.append(loader.stats())  # includes ram_high_water_bytes
        self.assertEqual(len(printed), 1)
        self.assertGreater(printed[0]["ram_high_water_bytes"], 0)
        self.assertLessEqual(printed[0]["inflight_high_water_bytes"], 256 * 1024 * 1024)
