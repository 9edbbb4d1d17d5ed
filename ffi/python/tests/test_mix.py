"""mx8.mix against the Deno mix(), bit for bit, with source_ids, resume and stats."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import unittest
from typing import Any, Dict, List

import numpy as np

from _support import HERE, NATIVE, DatasetCase, deno_cmd, make_images, mx8


def sha(a) -> str:
    if not isinstance(a, np.ndarray):
        a = a.numpy()
    return hashlib.sha256(np.ascontiguousarray(a).tobytes()).hexdigest()


def deno_mix(sources: Dict[str, Any], options: Dict[str, Any]) -> List[Dict[str, Any]]:
    """What the Deno mix() delivers: ``sources`` is ``{name: [link, camelCase options]}``."""
    out = subprocess.run(
        deno_cmd(str(HERE / "_deno/mix_reference.ts"), json.dumps(sources), json.dumps(options)),
        check=True,
        capture_output=True,
        text=True,
    )
    return [json.loads(line) for line in out.stdout.splitlines() if line]


class MixTest(DatasetCase):
    COUNT = 24
    CLASSES = 2

    @classmethod
    def setUpClass(cls) -> None:
        super().setUpClass()
        cls.books = make_images(cls.tmp / "books", 12, 2)

    def sources(self, batch: int = 4):
        return {
            "web": mx8.vision.ImageFolderLoader(
                str(self.train), batch_size_samples=batch, resize_hw=(16, 16), tensors="numpy"
            ),
            "books": mx8.vision.ImageFolderLoader(
                str(self.books), batch_size_samples=batch, resize_hw=(16, 16), tensors="numpy"
            ),
        }

    def reference(self, batch: int, options: Dict[str, Any]) -> List[Dict[str, Any]]:
        o = {"batchSizeSamples": batch, "resizeHw": [16, 16]}
        return deno_mix({"web": [str(self.train), o], "books": [str(self.books), o]}, options)

    def run_mix(self, mixed) -> List[Dict[str, Any]]:
        got = []
        for batch in mixed:
            images, labels = batch
            got.append(
                {
                    "source_ids": batch.source_ids.tolist(),
                    "sample_ids": batch.sample_ids.tolist(),
                    "labels": labels.tolist(),
                    "shape": list(images.shape),
                    "sha256": sha(images),
                }
            )
        return got

    def test_batch_granularity_equals_deno_with_source_ids_and_stats(self) -> None:
        mixed = mx8.mix(self.sources(), weights={"web": 2, "books": 1}, seed=7, on_source_exhausted="allow")
        got = self.run_mix(mixed)
        ref = self.reference(4, {"weights": {"web": 2, "books": 1}, "seed": 7, "onSourceExhausted": "allow"})
        self.assertEqual(got, ref)
        self.assertEqual(sum(len(b["sample_ids"]) for b in got), self.COUNT + 12)
        for b in got:
            self.assertEqual(len(set(b["source_ids"])), 1)  # a batch comes whole from one source
        stats = mixed.stats()  # after the end: the final values
        self.assertEqual(stats["mix_granularity"], "batch")
        self.assertEqual([s["name"] for s in stats["mix_sources"]], ["web", "books"])
        self.assertEqual([s["delivered_samples"] for s in stats["mix_sources"]], [self.COUNT, 12])
        if NATIVE:
            self.assertEqual(stats["shared_copied_batches"], 0, stats)

    def test_sample_granularity_equals_deno_and_is_zero_copy(self) -> None:
        mixed = mx8.mix(
            self.sources(), weights=[0.75, 0.25], seed=3, granularity="sample", batch_size_samples=8,
            on_source_exhausted="allow",
        )
        got = self.run_mix(mixed)
        ref = self.reference(
            4, {"weights": [0.75, 0.25], "seed": 3, "granularity": "sample", "batchSizeSamples": 8,
                "onSourceExhausted": "allow"},
        )
        self.assertEqual(got, ref)
        self.assertEqual(len(set(got[0]["source_ids"])), 2)  # every batch holds both sources
        stats = mixed.stats()
        if NATIVE:
            self.assertEqual(stats["shared_zero_copy_batches"], len(got), stats)
            self.assertEqual(stats["mix_decode_pool_bytes"], stats["shared_bytes"])

    def test_checkpoint_then_resume_continues_exactly(self) -> None:
        options = dict(weights={"web": 2, "books": 1}, seed=5, on_source_exhausted="allow")
        whole = self.run_mix(mx8.mix(self.sources(), **options))
        first = mx8.mix(self.sources(), **options)
        head = []
        for _ in range(3):
            b = first.next()
            head.append(b.sample_ids.tolist())
        token = first.checkpoint()
        first.close()
        rest = self.run_mix(mx8.mix(self.sources(), resume=token, **options))
        self.assertEqual(head + [b["sample_ids"] for b in rest], [b["sample_ids"] for b in whole])

    def test_classes_and_manifest_hashes_by_source(self) -> None:
        with mx8.mix(self.sources(), seed=1, on_source_exhausted="allow") as mixed:
            self.assertEqual(sorted(mixed.classes), ["books", "web"])
            self.assertEqual(len(mixed.classes["web"]), 2)
            self.assertTrue(all(isinstance(h, str) and h for h in mixed.manifest_hash.values()))

    def test_bad_arguments(self) -> None:
        with self.assertRaisesRegex(TypeError, r"mix\(\) got an unexpected keyword argument 'weight'"):
            mx8.mix(self.sources(), weight=[1, 1])
        with self.assertRaisesRegex(ValueError, r"granularity must be \"batch\" or \"sample\", got \"rows\""):
            mx8.mix(self.sources(), granularity="rows")
        with self.assertRaisesRegex(TypeError, r"source 'x' is not a loader"):
            mx8.mix({"x": "/data"})
        web = self.sources()["web"]
        web.next()
        with self.assertRaisesRegex(ValueError, r"source 'web' was already iterated"):
            mx8.mix({"web": web})
        web.close()

    def test_a_source_error_names_it_and_closes_the_mix(self) -> None:
        missing = mx8.load(str(self.tmp / "nowhere"))
        mixed = mx8.mix({"gone": missing}, on_source_exhausted="allow")
        with self.assertRaises(mx8.Mx8Error) as cm:
            mixed.next()
        self.assertIn(str(self.tmp / "nowhere"), str(cm.exception))
        with self.assertRaisesRegex(mx8.Mx8Error, "closed"):
            mixed.next()


if __name__ == "__main__":
    unittest.main()
