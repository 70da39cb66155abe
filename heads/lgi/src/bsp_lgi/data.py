"""LGI's data side: query tokens and vocabulary, the attention-guidance target, the dataset and the DataModule.

Rules from the official code (``JonghwanMun/LGI4temporalgrounding`` @ ``199e7ab``; docs/heads/tan2d-lgi.md
§2.2, §2.4, §2.8):

* tokens: lower-case, delete every ``string.punctuation`` character, whitespace split (``src/utils/utils.py``);
* vocabulary: ``<PAD> <UNK> <S> <E>`` then the training words sorted, frequency threshold 1
  (``abstract_dataset._build_vocab``); unknown words -> ``<UNK>`` (1); at most ``max_words`` (Charades 10,
  ActivityNet Captions 25) indices per query, zero-padded;
* features: :func:`bsp_lightning.features.resample.strided_subsample` to 128 segments (random offset in
  training, 0 otherwise); targets ``s / d`` and ``e / d`` unclipped; the TAG target of :func:`attention_mask`.

Bad input, counted per split in ``skips`` and logged once (unit: queries, except ``missing_features``: videos):
queries longer than
``max_words`` are truncated (``truncated_query``, as officially); a query with no token left after punctuation
removal becomes one ``<UNK>`` (``empty_query``; the official packed LSTM would crash on length 0); a video whose
features are missing is skipped (``missing_features``, counted and listed in ``missing_features.txt`` by the base
class), and so is a query of a video with no snippet (``empty_video``); a video shorter than 128 snippets is used
whole and zero-padded (official); the annotation anomalies of the core loaders' ``"lgi"`` policy
(:func:`bsp_lightning.annotations.load_grounding`: every query kept as written, no filtering, no clipping).
"""

from __future__ import annotations

import logging
import tempfile
from collections import Counter
from collections.abc import Iterable, Sequence
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch.utils.data import Dataset, get_worker_info

from bsp_lightning.annotations import AnnotationError, GroundingQuery, load_grounding
from bsp_lightning.heads import FeatureDataModule, InvalidArgumentError
from bsp_lightning.text import LGI_SPECIALS, Vocabulary, tokenize_lgi
from bsp_lightning.text import build_vocabulary as _build_vocabulary
from bsp_lgi.features import DEFAULT_MEMMAP_ABOVE_GB, FeatureBank

logger = logging.getLogger(__name__)

__all__ = ["tokenize", "build_vocabulary", "attention_mask", "encode_query", "LGIDataset", "collate",
           "LGIDataModule"]

PAD, UNK = 0, 1


def tokenize(sentence: str) -> list[str]:
    """LGI's tokens: lower-case, every ``string.punctuation`` character deleted, whitespace split
    (``"The person's door."`` -> ``["the", "persons", "door"]``)."""
    return tokenize_lgi(sentence)


def build_vocabulary(sentences: Iterable[str]) -> list[str]:
    """The words in index order: ``<PAD> <UNK> <S> <E>``, then every training word (threshold 1) sorted."""
    return _build_vocabulary(sentences, tokenizer=tokenize_lgi, specials=LGI_SPECIALS)


def attention_mask(start: float, end: float, duration: float, num_features: int, num_segments: int = 128
                   ) -> np.ndarray:
    """The temporal attention guidance target (official ``timestamp_to_featstamp`` + ``att_mask[s:e+1] = 1``).

    On ``n = min(num_features, num_segments)`` positions: ``first = min(round(start / duration * n), n - 1)``,
    ``last = max(round(end / duration * n), first + 1)`` (Python's half-to-even ``round``), and positions
    ``first..last`` **inclusive** are 1 (numpy slice semantics, so ``last`` past the grid is cut at
    ``num_segments``, and it may cover padded positions when ``end`` is past the video: the official quirk).

    Returns:
        float32 ``(num_segments,)``.

    Raises:
        ValueError: ``duration <= 0`` or ``num_features < 1``.
    """
    if duration <= 0 or num_features < 1:
        raise ValueError(f"need duration > 0 and num_features >= 1, got {duration}, {num_features}")
    n = min(num_features, num_segments)
    first = min(int(round(start / duration * n)), n - 1)
    last = max(int(round(end / duration * n)), first + 1)
    mask = np.zeros(num_segments, dtype=np.float32)
    mask[first:last + 1] = 1
    return mask


def encode_query(tokens: Sequence[str], vocab: Vocabulary, max_words: int) -> tuple[np.ndarray, int]:
    """int64 ``(max_words,)`` indices (0-padded, first ``max_words`` tokens) and the length (>= 1: an empty query
    is one ``<UNK>``)."""
    labels = np.zeros(max_words, dtype=np.int64)
    tokens = list(tokens)[:max_words] or ["<UNK>"]
    labels[:len(tokens)] = vocab.encode(tokens)
    return labels, len(tokens)


class LGIDataset(Dataset):
    """Queries of one split with their features in a :class:`~bsp_lgi.features.FeatureBank`.

    Items are dicts (see :func:`collate` for the batch). In ``train`` the segment offset is random (a numpy
    generator seeded with ``seed``, re-seeded per DataLoader worker from the worker's seed).
    """

    def __init__(self, records: list[dict[str, Any]], bank: FeatureBank, train: bool, num_segments: int = 128,
                 seed: int = 0) -> None:
        self.records = records
        self.bank = bank
        self.train = train
        self.num_segments = num_segments
        self.seed = seed
        self._rng: np.random.Generator | None = None
        self._rng_worker: int | None = None

    def __len__(self) -> int:
        return len(self.records)

    def rng(self) -> np.random.Generator:
        info = get_worker_info()
        worker = None if info is None else info.id
        if self._rng is None or worker != self._rng_worker:
            self._rng = np.random.default_rng(self.seed if info is None else info.seed)
            self._rng_worker = worker
        return self._rng

    def __getitem__(self, i: int) -> dict[str, Any]:
        r = self.records[i]
        feats, valid = self.bank.sample(r["feature_id"], self.num_segments, self.rng() if self.train else None)
        return {**r, "features": feats, "num_valid": valid}


def collate(items: list[dict[str, Any]]) -> dict[str, Any]:
    """Batch of :class:`LGIDataset` items.

    Returns:
        ``features`` float32 ``(B, T, D)``, ``segment_mask`` float32 ``(B, T)``, ``words`` int64 ``(B, L)``,
        ``word_mask`` float32 ``(B, L)``, ``start``/``end`` float32 ``(B,)`` normalised targets, ``attention_mask``
        float32 ``(B, T)``, ``gt`` float64 ``(B, 2)`` seconds, ``duration`` float64 ``(B,)`` seconds, ``index``
        int64 ``(B,)``; lists ``video`` and ``query``.
    """
    T = items[0]["features"].shape[0]
    segment_mask = torch.zeros(len(items), T)
    for b, it in enumerate(items):
        segment_mask[b, :it["num_valid"]] = 1
    words = torch.from_numpy(np.stack([it["words"] for it in items]))
    return {
        "features": torch.from_numpy(np.stack([it["features"] for it in items])),
        "segment_mask": segment_mask,
        "words": words,
        "word_mask": (words > 0).float(),
        "start": torch.tensor([it["start_n"] for it in items], dtype=torch.float32),
        "end": torch.tensor([it["end_n"] for it in items], dtype=torch.float32),
        "attention_mask": torch.from_numpy(np.stack([it["attention_mask"] for it in items])),
        "gt": torch.tensor([it["gt"] for it in items], dtype=torch.float64),
        "duration": torch.tensor([it["duration"] for it in items], dtype=torch.float64),
        "index": torch.tensor([it["index"] for it in items], dtype=torch.int64),
        "video": [it["video"] for it in items],
        "query": [it["query"] for it in items],
    }


#: The benchmarks, and their default file names inside ``annotations``.
DEFAULT_FILES = {
    "charades": {"train": "charades_sta_train.txt", "test": "charades_sta_test.txt",
                 "train_durations": "Charades_v1_train.csv", "test_durations": "Charades_v1_test.csv"},
    "anet_captions": {"train": "train.json", "test": ["val_1.json", "val_2.json"]},
}


class LGIDataModule(FeatureDataModule):
    """Charades-STA / ActivityNet Captions queries with snippet features, for LGI.

    Args:
        benchmark: ``"charades"`` (``charades_sta_{train,test}.txt`` + ``Charades_v1_{train,test}.csv``) or
            ``"anet_captions"`` (``train.json``; test = ``val_1.json`` + ``val_2.json``, as the official config).
        train_file / test_files / train_durations / test_durations: other file names inside ``annotations``.
        max_words: query length limit (Charades 10, ActivityNet Captions 25).
        num_segments: ``T`` (128); given to the model through ``data_info``.
        memmap_above_gb: feature storage threshold (:mod:`bsp_lgi.features`).
        batch_size: 100 (official; train drops the last incomplete batch).
        *args, **kwargs: :class:`~bsp_lightning.heads.FeatureDataModule`'s (``annotations``: the folder holding
            the annotation files; ``val_fraction``: the seeded hold-out of training videos used for validation and
            model selection, written to ``<run>/split.json``. The vocabulary is built from the remaining training
            queries: 0 gives the official vocabulary, and no validation split).

    Raises:
        InvalidArgumentError: an unknown benchmark.
    """

    drop_last = True

    def __init__(self, *args: Any, benchmark: str = "charades", train_file: str | None = None,
                 test_files: str | list[str] | None = None, train_durations: str | None = None,
                 test_durations: str | None = None, max_words: int = 10, num_segments: int = 128,
                 memmap_above_gb: float = DEFAULT_MEMMAP_ABOVE_GB, batch_size: int = 100, **kwargs: Any) -> None:
        super().__init__(*args, batch_size=batch_size, **kwargs)
        if benchmark not in DEFAULT_FILES:
            raise InvalidArgumentError(f"benchmark must be one of {tuple(DEFAULT_FILES)}, got {benchmark!r}")
        defaults = DEFAULT_FILES[benchmark]
        self.benchmark = benchmark
        self.train_file = train_file or defaults["train"]
        tests = test_files or defaults["test"]
        self.test_files = [tests] if isinstance(tests, str) else list(tests)
        self.train_durations = train_durations or defaults.get("train_durations")
        self.test_durations = test_durations or defaults.get("test_durations")
        self.max_words = max_words
        self.num_segments = num_segments
        self.memmap_above_gb = memmap_above_gb
        self._bank: FeatureBank | None = None

    # --- annotations ---------------------------------------------------------------------------------------

    def _path(self, name: str) -> Path:
        root = Path(self.annotations)
        if not root.is_dir():
            raise AnnotationError(root, f"--data.annotations must be the folder holding {name} (not a file)")
        return root / name

    def read_queries(self, split: str) -> list[GroundingQuery]:
        """Every query of the ``train`` or ``test`` annotation file(s), LGI-style (no filtering, no clipping)."""
        files = [self.train_file] if split == "train" else self.test_files
        csv = self.train_durations if split == "train" else self.test_durations
        loaded = load_grounding(self.benchmark, [self._path(f) for f in files], policy="lgi",
                                durations=self._path(csv) if csv else None)
        if loaded.report.anomalies:
            logger.info("%s", loaded.report.format_text())
        self.skips.update(split, dict(loaded.report.anomalies))
        return loaded.queries

    @cached_property
    def _train_queries(self) -> list[GroundingQuery]:
        return self.read_queries("train")

    @cached_property
    def _test_queries(self) -> list[GroundingQuery]:
        return self.read_queries("test")

    @property
    def split_videos(self) -> dict[str, list[str]]:
        """``{"train": [...], "val": [...]}``: the annotated training videos after the base class's hold-out."""
        return self.hold_out(q.video_id for q in self._train_queries)

    @cached_property
    def vocabulary(self) -> list[str]:
        """The words in index order, from the training queries of the videos not held out."""
        keep = set(self.split_videos["train"])
        return build_vocabulary(q.sentence for q in self._train_queries if q.video_id in keep)

    @property
    def data_info(self) -> dict[str, Any]:
        """``{"vocabulary": [...], "num_segments": T, "benchmark": name}`` (linked into the model)."""
        return {"vocabulary": self.vocabulary, "num_segments": self.num_segments, "benchmark": self.benchmark}

    # --- datasets ------------------------------------------------------------------------------------------

    def _queries(self, split: str) -> list[GroundingQuery]:
        if split in ("train", "val"):
            keep = set(self.split_videos[split])
            return [q for q in self._train_queries if q.video_id in keep]
        return self._test_queries

    @property
    def bank(self) -> FeatureBank:
        """The features of every annotated video (train, val and test), loaded once and shared by the splits."""
        if self._bank is None:
            fs = self.features_set
            annotated = {q.video_id for q in self._train_queries} | {q.video_id for q in self._test_queries}
            ids = sorted({fid for fid in map(fs.resolve, annotated) if fid is not None})
            if not ids:
                ids = fs.video_ids[:1]  # match_videos raises the coverage error naming both paths
            lengths = [fs.entry(v).get("num_snippets") for v in ids]
            # a memory-mapped bank lives in the run folder, or in the temp folder without a trainer
            cache = Path(self.root_dir or tempfile.gettempdir()) / "feature_cache"
            self._bank = FeatureBank(ids, fs.load, fs.feature_dim, None if None in lengths else lengths,
                                     self.memmap_above_gb, cache)
        return self._bank

    def build_dataset(self, split: str) -> LGIDataset:
        if split == "val" and not self.split_videos["val"]:
            raise ValueError("no validation videos: val_fraction is 0 (use a fraction > 0 to validate)")
        queries = self._queries("test" if split == "predict" else split)
        found = self.match_videos((q.video_id for q in queries), split)
        vocab = Vocabulary(self.vocabulary, unk_index=UNK)
        counts: Counter = Counter()
        records = []
        for q in queries:
            fid = found.get(q.video_id)
            if fid is None:  # counted by match_videos (missing_features, per video)
                continue
            num_features = self.bank.num_snippets(fid)
            if num_features < 1:
                counts["empty_video"] += 1  # no snippet to sample (the official sampling would fail)
                continue
            tokens = tokenize(q.sentence)
            if len(tokens) > self.max_words:
                counts["truncated_query"] += 1
            if not tokens:
                counts["empty_query"] += 1
            words, _ = encode_query(tokens, vocab, self.max_words)
            records.append({
                "index": len(records), "video": q.video_id, "feature_id": fid, "query": q.sentence,
                "words": words, "duration": q.duration, "gt": (q.start, q.end),
                "start_n": q.start / q.duration, "end_n": q.end / q.duration,
                "attention_mask": attention_mask(q.start, q.end, q.duration, num_features, self.num_segments),
            })
        self.skips.update(split, dict(counts))
        if not records:
            raise ValueError(f"no {split} query left in {self.annotations} ({self.skips.summary(split)})")
        return LGIDataset(records, self.bank, train=split == "train", num_segments=self.num_segments,
                          seed=self.seed)

    def collate_fn(self, split: str):
        return collate

    def teardown(self, stage: str | None = None) -> None:
        if self._bank is not None and self._bank.memmapped and stage in (None, "fit", "test", "predict"):
            self._bank.close()
            self._bank = None
            self._datasets.clear()
