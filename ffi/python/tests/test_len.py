"""len() of a loader: the number of batches it actually yields, or TypeError where that is not known."""

from __future__ import annotations

import unittest

from _support import HAS_TORCH, TORCH_SKIP, DatasetCase, mx8


def yielded(loader) -> int:
    return sum(1 for _ in loader)


class LengthTest(DatasetCase):
    COUNT = 20
    CLASSES = 2

    def image_loader(self, **kw):
        kw.setdefault("tensors", "numpy")
        return mx8.vision.ImageFolderLoader(str(self.train), resize_hw=(4, 4), **kw)

    def test_len_is_the_number_of_batches_yielded_the_last_one_shorter(self) -> None:
        # 20 samples: 8 → 8, 8, 4 (the short last batch is yielded, not dropped); 5 → four full ones.
        for batch, expected in ((8, 3), (5, 4), (1, 20), (64, 1), (19, 2)):
            with self.subTest(batch_size_samples=batch):
                with self.image_loader(batch_size_samples=batch, shuffle=True, seed=batch) as loader:
                    n = len(loader)
                    self.assertEqual(n, expected)
                    self.assertEqual(yielded(loader), n)
                    self.assertEqual(len(loader), n, "len() still answers after the last batch")

    def test_raw_batches_and_an_id_range(self) -> None:
        with mx8.load(str(self.train), batch_size_samples=4, start_id=3, end_id=17, tensors="numpy") as loader:
            self.assertEqual(len(loader), 4)  # 14 samples: 4, 4, 4, 2
            self.assertEqual(yielded(loader), 4)
        with mx8.load(str(self.train), start_id=5, end_id=5, tensors="numpy") as empty:
            self.assertEqual(len(empty), 0)
            self.assertEqual(yielded(empty), 0)
            self.assertEqual(list(empty), [])

    def test_len_after_resume_counts_what_is_left(self) -> None:
        with self.image_loader(batch_size_samples=6) as first:
            self.assertEqual(len(first), 4)  # 6, 6, 6, 2
            first.next()
            self.assertEqual(len(first), 4, "len() is the loader's total, not what is left of it")
            token = first.checkpoint()
        with self.image_loader(batch_size_samples=6, resume=token) as rest:
            self.assertEqual(len(rest), 3)
            self.assertEqual(yielded(rest), 3)

    def test_len_in_the_middle_of_iteration_and_list(self) -> None:
        with self.image_loader(batch_size_samples=3) as loader:
            it = iter(loader)
            next(it)
            self.assertEqual(len(loader), 7)
            self.assertEqual(1 + sum(1 for _ in it), 7)
        with mx8.load(str(self.train), batch_size_samples=7, tensors="numpy") as loader:
            self.assertEqual(len(list(loader)), len(loader))

    def test_a_closed_loader_has_no_len(self) -> None:
        loader = self.image_loader(batch_size_samples=4)
        loader.close()
        with self.assertRaisesRegex(mx8.Mx8Error, "closed"):
            len(loader)

    def test_distributed_mode_has_no_len(self) -> None:
        # No coordinator is contacted before the first batch: the count is refused up front.
        with mx8.load("", coord="http://127.0.0.1:9", job="nolen", node_id="n", tensors="numpy") as loader:
            with self.assertRaisesRegex(TypeError, r"^len\(\) of this Loader is not known: in distributed mode"):
                len(loader)
            self.assertTrue(loader, "a loader is truthy even without len()")

    def test_a_mix_has_no_len(self) -> None:
        a = mx8.load(str(self.train), batch_size_samples=4, tensors="numpy")
        b = mx8.load(str(self.train), batch_size_samples=4, tensors="numpy")
        with mx8.mix([a, b], weights=[1, 1], seed=1) as mixed:
            with self.assertRaisesRegex(TypeError, r"^len\(\) of this Mix is not known: a mix ends when"):
                len(mixed)
            # list() asks for a length hint; the TypeError makes it fall back to iterating.
            self.assertGreater(len(list(mixed)), 0)

    @unittest.skipUnless(HAS_TORCH, TORCH_SKIP)
    def test_a_torch_iterable_dataset_can_report_it(self) -> None:
        import torch.utils.data as tud

        outer = self

        class Stream(tud.IterableDataset):
            def __init__(self) -> None:
                self.loader = outer.image_loader(batch_size_samples=6, tensors="torch")

            def __len__(self) -> int:
                return len(self.loader)

            def __iter__(self):
                for images, labels in self.loader:
                    yield images.clone(), labels.clone()

        stream = Stream()
        data = tud.DataLoader(stream, batch_size=None)
        self.assertEqual(len(data), 4)
        self.assertEqual(sum(1 for _ in data), len(data))
        stream.loader.close()


class SkippedBatchesTest(DatasetCase):
    COUNT = 4
    CLASSES = 2

    def test_with_skip_len_is_an_upper_bound(self) -> None:
        bad = self.tmp / "bad"
        good = next(self.train.rglob("*.jpg")).read_bytes()
        for cls, names in (("a", ["0.jpg", "1.jpg"]), ("b", ["2.jpg", "3.jpg"])):
            (bad / cls).mkdir(parents=True)
            for name in names:
                (bad / cls / name).write_bytes(good if cls == "a" else b"\xff\xd8\xff\xe0 not a jpeg")
        with mx8.vision.ImageFolderLoader(str(bad), batch_size_samples=2, resize_hw=(4, 4), tensors="numpy",
                                          on_decode_error="skip") as loader:
            self.assertEqual(len(loader), 2)
            self.assertEqual(yielded(loader), 1, "the batch of two undecodable images is not yielded")


if __name__ == "__main__":
    unittest.main()
