"""Two-stream features: two feature folders concatenated along channels (``bsp-lightning combine``).

The paper's two-stream features (vanilla + BSP) are the channel concatenation of two extractions of the same
videos. The rule that two folders line up (same snippet count and snippet start times per video) is
:func:`bsp_lightning.features.store.disagreement`, shared with the on-the-fly
:class:`~bsp_lightning.features.FeatureSet`.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from bsp_lightning.features.store import ENTRIES_DIR, FeatureMismatchError, FeatureStore, FeatureStoreError
from bsp_lightning.features.store import config_hash, disagreement, load_features
from bsp_lightning.utils.cli import HelpFormatter

__all__ = ["CombineResult", "combine", "combine_main"]


@dataclass
class CombineResult:
    """What :func:`combine` wrote."""

    written: list[str] = field(default_factory=list)
    skipped: dict[str, str] = field(default_factory=dict)
    feature_dim: int = 0


def _ok_entries(store: FeatureStore) -> dict[str, dict[str, Any]]:
    return {vid: e for vid, e in store.entries().items() if e.get("status") == "ok"}



def combine(
    dir_a: str | os.PathLike,
    dir_b: str | os.PathLike,
    out_dir: str | os.PathLike,
    allow_missing: bool = False,
) -> CombineResult:
    """Concatenate two feature folders along the channel axis: ``(N, Da) + (N, Db) -> (N, Da + Db)``.

    Two-stream features (vanilla + BSP) as in the paper. Every video must have the same snippet count and
    snippet start times in both folders; all disagreements are collected and reported together before
    anything is written.

    Args:
        dir_a: first feature folder (its channels come first).
        dir_b: second feature folder.
        out_dir: output folder (same layout, with its own manifest).
        allow_missing: combine only the videos present (and ok) in both folders instead of failing on
            videos present in one of them only; those are reported in ``CombineResult.skipped``.

    Raises:
        FeatureStoreError: a folder or manifest is missing or malformed, or a feature file does not match
            its manifest entry.
        FeatureMismatchError: some videos disagree (names them and says what differs).
    """
    store_a, store_b = FeatureStore(dir_a, create=False), FeatureStore(dir_b, create=False)
    for store in (store_a, store_b):
        if not store.manifest_path.is_file() and not (store.root / ENTRIES_DIR).is_dir():
            raise FeatureStoreError(f"{store.manifest_path}: missing (not a bsp-lightning feature folder)")
    ok_a, ok_b = _ok_entries(store_a), _ok_entries(store_b)
    problems: dict[str, str] = {}
    skipped: dict[str, str] = {}
    for vid in sorted(set(ok_a) ^ set(ok_b)):
        where = f"only in {store_a.root}" if vid in ok_a else f"only in {store_b.root}"
        (skipped if allow_missing else problems)[vid] = where
    common = sorted(set(ok_a) & set(ok_b))
    for vid in common:
        why = disagreement(ok_a[vid], ok_b[vid])
        if why is not None:
            problems[vid] = why
    if problems:
        raise FeatureMismatchError(problems)

    manifest_a, manifest_b = store_a.manifest(), store_b.manifest()
    out = FeatureStore(out_dir)
    combined_config = {
        "combined_from": [
            {"path": str(store_a.root), "config": manifest_a["config"], "config_hash": manifest_a["config_hash"]},
            {"path": str(store_b.root), "config": manifest_b["config"], "config_hash": manifest_b["config_hash"]},
        ]
    }
    hash_ = config_hash(
        {"combined_from": [manifest_a["config_hash"], manifest_b["config_hash"]]}
    )
    result = CombineResult(skipped=skipped)
    for vid in common:
        feats_a, feats_b = load_features(store_a.root, vid), load_features(store_b.root, vid)
        for store, feats, entry in ((store_a, feats_a, ok_a[vid]), (store_b, feats_b, ok_b[vid])):
            if feats.shape[0] != entry["num_snippets"]:
                raise FeatureStoreError(
                    f"{store.feature_path(vid)}: {feats.shape[0]} snippets but the manifest says "
                    f"{entry['num_snippets']}"
                )
        entry = ok_a[vid]
        out.write_video(
            vid,
            np.concatenate([feats_a, feats_b], axis=1),
            entry["snippet_starts"],
            entry["fps"],
            entry["num_frames"],
            hash_,
        )
        result.written.append(vid)
        result.feature_dim = feats_a.shape[1] + feats_b.shape[1]
    combined_config["feature_dim"] = result.feature_dim
    out.write_manifest(combined_config, hash_)
    return result


def combine_main(argv: Sequence[str] | None = None) -> int:
    """``bsp-lightning combine A B --out C``: two-stream features by channel concatenation."""
    parser = argparse.ArgumentParser(
        prog="bsp-lightning combine",
        description=(
            "Concatenate two feature folders along the channel axis (two-stream: e.g. vanilla + BSP, giving "
            "2D channels). Snippet counts and start times must agree for every video; the disagreeing videos "
            "are listed and nothing is written."
        ),
        formatter_class=HelpFormatter,
    )
    parser.add_argument("first", metavar="A", help="first feature folder (its channels come first)")
    parser.add_argument("second", metavar="B", help="second feature folder")
    parser.add_argument("--out", required=True, metavar="C", help="output feature folder")
    parser.add_argument("--allow-missing", action="store_true",
                        help="combine the videos present in both folders and list the others, instead of failing")
    args = parser.parse_args(argv)
    try:
        result = combine(args.first, args.second, args.out, allow_missing=args.allow_missing)
    except FeatureMismatchError as err:
        print(f"bsp-lightning combine: {len(err.problems)} video(s) disagree between {args.first} and "
              f"{args.second}:", file=sys.stderr)
        for vid, why in err.problems.items():
            print(f"  {vid}: {why}", file=sys.stderr)
        return 2
    except FeatureStoreError as err:
        print(f"bsp-lightning combine: {err}", file=sys.stderr)
        return 2
    print(f"combine: {len(result.written)} video(s), D={result.feature_dim} -> {args.out}"
          + (f"; skipped {len(result.skipped)} present in one folder only" if result.skipped else ""))
    return 0

