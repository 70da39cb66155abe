"""Tokeniser, vocabulary, attention-guidance target, feature bank and dataset (the "lgi" annotation policy is the
core's: tests/annotations/test_grounding.py)."""

from __future__ import annotations

import numpy as np
import pytest

from bsp_lightning.annotations.errors import AnnotationError
from bsp_lightning.features.resample import strided_subsample
from bsp_lightning.text import Vocabulary
from bsp_lgi.data import LGIDataModule, attention_mask, build_vocabulary, collate, encode_query, tokenize
from bsp_lgi.features import FeatureBank

# Lines in the Charades-STA format (``vid start end##sentence``), with its punctuation habits.
STA_LINES = [
    "AO8RW 0.0 6.9##a person is putting a book on a shelf.",
    "AO8RW 12.3 19.4##Person's laughing, then sits down.",
    "Y6R7T 30.1 25.0##the person closes the door",
    "Y6R7T 0.0 40.0##A person opens a door; they look out the window!",
]


def test_tokenize_lower_cases_and_deletes_punctuation():
    assert tokenize(STA_LINES[0].split("##")[1]) == ["a", "person", "is", "putting", "a", "book", "on", "a", "shelf"]
    # punctuation is deleted, not replaced by a space: "Person's" -> "persons"
    assert tokenize("Person's laughing, then sits down.") == ["persons", "laughing", "then", "sits", "down"]
    assert tokenize("  A-B  (c)  ") == ["ab", "c"]
    assert tokenize("...!") == []


def test_vocabulary_specials_first_then_sorted_words():
    vocab = build_vocabulary(line.split("##")[1] for line in STA_LINES)
    assert vocab[:4] == ["<PAD>", "<UNK>", "<S>", "<E>"]
    words = vocab[4:]
    assert words == sorted(words) and len(words) == len(set(words))
    assert words == ["a", "book", "closes", "door", "down", "is", "laughing", "look", "on", "opens", "out", "person",
                     "persons", "putting", "shelf", "sits", "the", "then", "they", "window"]


def test_encode_query_pads_truncates_and_never_empty():
    vocab = Vocabulary(["<PAD>", "<UNK>", "<S>", "<E>", "a", "door"], unk_index=1)
    labels, n = encode_query(["a", "red", "door"], vocab, 5)
    assert labels.tolist() == [4, 1, 5, 0, 0] and n == 3
    labels, n = encode_query(["a"] * 7, vocab, 5)
    assert labels.tolist() == [4] * 5 and n == 5
    labels, n = encode_query([], vocab, 3)
    assert labels.tolist() == [1, 0, 0] and n == 1


@pytest.mark.parametrize("start,end,duration,num_features,expected", [
    # n = 10: first = round(2.0/20*10) = 1, last = round(7.0/20*10) = round(3.5) = 4 (half to even): 1..4
    (2.0, 7.0, 20.0, 10, [1, 2, 3, 4]),
    # round(2.5) = 2 (half to even): 2.5/10*10 -> 2 ; end 4.5 -> 4: positions 2..4
    (2.5, 4.5, 10.0, 10, [2, 3, 4]),
    # n = min(300, 128) = 128: first = round(0/30*128) = 0, last = round(3/30*128) = round(12.8) = 13
    (0.0, 3.0, 30.0, 300, list(range(0, 14))),
    # zero length: last = max(round, first + 1): 5..6
    (5.0, 5.0, 10.0, 10, [5, 6]),
    # start at the end: first = min(10, 9) = 9, last = max(10, 10) = 10: 9..10 (10 is a padded position)
    (10.0, 10.0, 10.0, 10, [9, 10]),
    # end past the video (L = 10 < 128): last = round(15/10*10) = 15: 6..15 covers padded positions 10..15
    (6.0, 15.0, 10.0, 10, list(range(6, 16))),
    # end far past a long video: last = round(50/20*128) = 320, cut at 128 by the slice: 64..127
    (10.0, 50.0, 20.0, 500, list(range(64, 128))),
    # reversed moment (the 4 Charades-STA train lines): first = 6, last = max(round(4.0), 7) = 7: 6..7
    (6.0, 4.0, 10.0, 10, [6, 7]),
])
def test_attention_mask_hand_computed(start, end, duration, num_features, expected):
    mask = attention_mask(start, end, duration, num_features)
    assert mask.dtype == np.float32 and mask.shape == (128,)
    assert np.flatnonzero(mask).tolist() == expected


def test_attention_mask_rejects_bad_duration():
    with pytest.raises(ValueError, match="duration"):
        attention_mask(0.0, 1.0, 0.0, 10)


@pytest.mark.parametrize("memmap_above_gb", [4.0, 0.0])
def test_feature_bank_matches_the_arrays(tmp_path, memmap_above_gb):
    rng = np.random.default_rng(0)
    arrays = {"a": rng.normal(size=(5, 3)).astype(np.float32), "b": rng.normal(size=(300, 3)).astype(np.float32)}
    bank = FeatureBank(["a", "b"], arrays.__getitem__, 3, [5, 300], memmap_above_gb, tmp_path / "cache")
    assert bank.memmapped == (memmap_above_gb == 0.0)
    tol = 1e-3 if bank.memmapped else 0
    assert bank.rows.dtype == (np.float16 if bank.memmapped else np.float32)
    np.testing.assert_allclose(bank.video("b"), arrays["b"], rtol=tol, atol=tol)
    out, valid = bank.sample("a", 8)
    assert valid == 5 and out.dtype == np.float32 and not out[5:].any()
    expected, _ = strided_subsample(arrays["b"], 128, np.random.default_rng(3))
    got, valid = bank.sample("b", 128, np.random.default_rng(3))
    assert valid == 128
    np.testing.assert_allclose(got, expected, rtol=tol, atol=tol)
    path = bank.path
    bank.close()
    assert path is None or not path.exists()


def test_datamodule_split_vocabulary_and_batches(grounding_data):
    dm = LGIDataModule(str(grounding_data["features"]), str(grounding_data["annotations"]), batch_size=4)
    split = dm.split_videos
    assert len(split["val"]) == 2 and len(split["train"]) == 14 and not set(split["val"]) & set(split["train"])
    assert dm.data_info["vocabulary"][:4] == ["<PAD>", "<UNK>", "<S>", "<E>"]
    dm.setup("fit")
    train, val = dm.dataset("train"), dm.dataset("val")
    assert len(train) == 28 and len(val) == 4
    assert {r["video"] for r in val.records} == set(split["val"])
    batch = next(iter(dm.train_dataloader()))
    assert batch["features"].shape == (4, 128, 8) and batch["words"].shape == (4, 10)
    r = train.records[0]
    L = dm.bank.num_snippets(r["feature_id"])
    assert r["start_n"] == pytest.approx(r["gt"][0] / r["duration"])
    np.testing.assert_array_equal(r["attention_mask"], attention_mask(*r["gt"], r["duration"], L))
    # evaluation: offset 0, the official test sampling
    item = dm.dataset("test")[0]
    ref, valid = strided_subsample(dm.bank.video(item["feature_id"]), 128)
    np.testing.assert_array_equal(item["features"], ref)
    b = collate([item])
    assert b["segment_mask"][0].sum() == valid == min(128, dm.bank.num_snippets(item["feature_id"]))
    assert (b["word_mask"] == (b["words"] > 0)).all()


def test_datamodule_needs_a_folder(grounding_data):
    dm = LGIDataModule(str(grounding_data["features"]),
                       str(grounding_data["annotations"] / "charades_sta_train.txt"))
    with pytest.raises(AnnotationError, match="must be the folder"):
        dm.data_info


def test_bad_input_is_counted_not_raised(tmp_path, charades_files):
    from bsp_lightning.features.store import FeatureStore

    store = FeatureStore(tmp_path / "feats")
    store.write_video("A", np.ones((6, 4), np.float32), np.arange(6.0), 16.0, 48, "h")
    store.write_video("E", np.zeros((0, 4), np.float32), [], 16.0, 0, "h")
    store.write_manifest({"feature_dim": 4})
    lines = ["A 0.0 2.0##one two three four five six seven eight nine ten eleven twelve",  # 12 words
             "A 1.0 9.0##...!",                  # no word left; ends past the 6 s video
             "E 0.0 1.0##a person",              # no snippet
             "M 0.0 1.0##a person"]              # no features at all
    charades_files(tmp_path / "ann", "train", {"A": 6.0, "E": 3.0, "M": 4.0}, lines)
    charades_files(tmp_path / "ann", "test", {"A": 6.0}, lines[:1])
    dm = LGIDataModule(str(tmp_path / "feats"), str(tmp_path / "ann"), batch_size=2, val_fraction=0.0)
    ds = dm.dataset("train")
    assert len(ds) == 2
    assert dm.skips.counts("train") == {"end_past_video": 1, "truncated_query": 1, "empty_query": 1,
                                        "empty_video": 1, "missing_features": 1}
    assert ds.records[0]["words"].tolist() == [dm.vocabulary.index(w) for w in tokenize(lines[0].split("##")[1])[:10]]
    assert ds.records[1]["words"].tolist() == [1] + [0] * 9
    assert ds.records[1]["end_n"] == 1.5  # 9 / 6, not clipped
    batch = collate([ds[0], ds[1]])
    assert batch["segment_mask"].sum(1).tolist() == [6, 6]


def test_anet_captions_datamodule_test_is_val1_plus_val2(tmp_path):
    from bsp_lightning.features.store import FeatureStore

    store = FeatureStore(tmp_path / "feats")
    for vid in ("a", "b", "c", "d"):  # feature files without the v_ prefix of the annotation ids
        store.write_video(vid, np.ones((40, 4), np.float32), np.arange(40.0), 16.0, 320, "h")
    store.write_manifest({"feature_dim": 4})
    ann = tmp_path / "ann"
    ann.mkdir()
    (ann / "train.json").write_text('{"v_a": {"duration": 20, "timestamps": [[0, 5]], "sentences": ["A man."]},'
                                    '"v_b": {"duration": 20, "timestamps": [[2, 8]], "sentences": ["He runs."]}}')
    (ann / "val_1.json").write_text('{"v_c": {"duration": 20, "timestamps": [[1, 4]], "sentences": ["x"]}}')
    (ann / "val_2.json").write_text('{"v_d": {"duration": 20, "timestamps": [[3, 9]], "sentences": ["y"]}}')
    dm = LGIDataModule(str(tmp_path / "feats"), str(ann), batch_size=1, benchmark="anet_captions", max_words=25)
    test = dm.dataset("test")
    assert [(r["video"], r["feature_id"], r["gt"]) for r in test.records] == [("v_c", "c", (1.0, 4.0)),
                                                                             ("v_d", "d", (3.0, 9.0))]
    assert test.records[0]["words"].shape == (25,)
