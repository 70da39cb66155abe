"""The two official tokenisers and the vocabularies, on sentences whose tokens are written out by hand."""

from __future__ import annotations

import string

import numpy as np
import pytest

from bsp_lightning.text import LGI_SPECIALS, Vocabulary, build_vocabulary, tokenize_2dtan, tokenize_lgi


def test_tokenize_2dtan_keeps_punctuation():
    # 2D-TAN: sentence.split(), each token lower-cased; "door." and "person's" stay as they are.
    assert tokenize_2dtan("A Person's opening the door.") == ["a", "person's", "opening", "the", "door."]
    assert tokenize_2dtan("  two\tspaces\nand tabs ") == ["two", "spaces", "and", "tabs"]
    assert tokenize_2dtan("#1 / & x") == ["#1", "/", "&", "x"]
    assert tokenize_2dtan("") == []


def test_tokenize_lgi_deletes_punctuation():
    # LGI: lower, delete string.punctuation (not replaced by a space), whitespace split.
    assert tokenize_lgi("A Person's opening the door.") == ["a", "persons", "opening", "the", "door"]
    assert tokenize_lgi("person sits down/stands up") == ["person", "sits", "downstands", "up"]
    assert tokenize_lgi("#1 / & x") == ["1", "x"]
    assert tokenize_lgi(string.punctuation) == []


def test_vocabulary_lookup_and_encode():
    v = Vocabulary(["<PAD>", "<UNK>", "b", "a"], unk_index=1)
    assert len(v) == 4 and v.num_indices == 4 and "a" in v and "z" not in v
    assert v.index("a") == 3 and v.index("z") == 1
    codes = v.encode(["a", "z", "b"])
    assert codes.dtype == np.int64 and codes.tolist() == [3, 1, 2]
    assert v.encode([]).shape == (0,)
    # GloVe style: the unknown index is one past the last word.
    g = Vocabulary(["the", "door"], unk_index=2)
    assert len(g) == 2 and g.num_indices == 3 and g.encode(["door", "x"]).tolist() == [1, 2]
    # Repeated word: the last index wins (torchtext's stoi).
    assert Vocabulary(["x", "y", "x"], unk_index=None).index("x") == 2


def test_vocabulary_without_unknown_and_bad_unk():
    v = Vocabulary(["a"], unk_index=None)
    with pytest.raises(KeyError, match="'b' is not in the vocabulary"):
        v.index("b")
    with pytest.raises(ValueError, match="unk_index 3 outside 0..1"):
        Vocabulary(["a"], unk_index=3)


def test_build_vocabulary_lgi_layout():
    train = ["The person opens the door.", "A person's sitting.", "person sits"]
    words = build_vocabulary(train)
    # specials at 0..3, then every distinct token sorted by code point.
    assert words == [*LGI_SPECIALS, "a", "door", "opens", "person", "persons", "sits", "sitting", "the"]
    vocab = Vocabulary(words, unk_index=words.index("<UNK>"))
    assert vocab.encode(tokenize_lgi("The dog opens")).tolist() == [11, 1, 6]
    assert build_vocabulary(train, min_count=2) == [*LGI_SPECIALS, "person", "the"]
    assert build_vocabulary(["x <PAD> y"], tokenizer=str.split, specials=("<PAD>",)) == ["<PAD>", "x", "y"]
    assert build_vocabulary(["B a"], tokenizer=tokenize_2dtan, specials=()) == ["a", "b"]
