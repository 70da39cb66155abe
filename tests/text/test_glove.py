"""load_glove on tiny generated files: parse rule, zero unknown row, cache, zip/gz/folder inputs, errors."""

from __future__ import annotations

import gzip
import os
import zipfile

import numpy as np
import pytest

import bsp_lightning.text.glove as glove_mod
from bsp_lightning.text import GloveError, load_glove
from bsp_lightning.utils.errors import InputFileError

LINES = [
    "the 0.1 -0.2 0.3",
    "door 1.5 2.25e-1 -3",
    "person's 0 0 1e-3",
]


@pytest.fixture(autouse=True)
def _user_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))


def expected_vectors(lines):
    # float() then float32, row by row, plus the zero unknown row: what torchtext's tensor holds.
    rows = [[np.float32(float(x)) for x in line.split(" ")[1:]] for line in lines]
    return np.array(rows + [[0.0] * len(rows[0])], dtype=np.float32)


def write(path, lines, end="\n"):
    path.write_text(end.join(lines) + end, encoding="utf-8")
    return path


def test_parse_values_vocab_and_unknown_row(tmp_path):
    g = load_glove(write(tmp_path / "g.txt", LINES))
    assert g.vectors.dtype == np.float32 and g.vectors.shape == (4, 3) and g.dim == 3
    np.testing.assert_array_equal(g.vectors, expected_vectors(LINES))
    assert g.vocab.words == ["the", "door", "person's"]
    assert g.vocab.unk_index == 3 and not g.vectors[3].any()
    np.testing.assert_array_equal(g.vocab.encode(["door", "zebra", "the"]), [1, 3, 0])
    np.testing.assert_array_equal(g.embed(["person's", "zebra"]), [g.vectors[2], np.zeros(3)])
    assert not g.from_cache


def test_second_load_reads_the_cache_without_parsing(tmp_path, monkeypatch):
    path = write(tmp_path / "g.txt", LINES)
    first = load_glove(path)
    assert (tmp_path / "g.txt.bsp-cache.npy").is_file() and (tmp_path / "g.txt.bsp-cache.json").is_file()

    def no_parse(*args, **kwargs):
        raise AssertionError("parsed the text although the cache is valid")

    monkeypatch.setattr(glove_mod, "_parse", no_parse)
    second = load_glove(path)
    assert second.from_cache
    np.testing.assert_array_equal(second.vectors, first.vectors)
    assert second.vocab.words == first.vocab.words and second.vocab.unk_index == 3
    # Mapped copy-on-write: writable, and writing does not change the cache.
    assert isinstance(second.vectors, np.memmap) and second.vectors.flags.writeable
    second.vectors[0] = 7.0
    third = load_glove(path, mmap=False)
    assert type(third.vectors) is np.ndarray
    np.testing.assert_array_equal(third.vectors, first.vectors)


def test_changed_file_is_parsed_again(tmp_path):
    path = write(tmp_path / "g.txt", LINES)
    load_glove(path)
    write(path, LINES + ["zebra 9 8 7"])
    g = load_glove(path)
    assert not g.from_cache and g.vocab.words[-1] == "zebra" and g.vectors.shape == (5, 3)
    # Same size, other mtime: still re-parsed (the key is size and modification time).
    write(path, [line.replace("9 8 7", "1 2 3") for line in LINES + ["zebra 9 8 7"]])
    os.utime(path, ns=(1, 1))
    g = load_glove(path)
    assert not g.from_cache and g.vectors[3].tolist() == [1.0, 2.0, 3.0]
    assert load_glove(path).from_cache


def test_cache_off_neither_reads_nor_writes(tmp_path):
    path = write(tmp_path / "g.txt", LINES)
    g = load_glove(path, cache=False)
    assert not g.from_cache and sorted(p.name for p in tmp_path.iterdir()) == ["g.txt"]
    assert not load_glove(path, cache=False).from_cache


def test_zip_default_member_and_explicit_member(tmp_path):
    small = ["the 1 2", "door 3 4"]
    archive = tmp_path / "glove.6B.zip"
    with zipfile.ZipFile(archive, "w") as z:
        z.writestr("glove.6B.2d.txt", "\n".join(small) + "\n")
        z.writestr("glove.6B.300d.txt", "\n".join(LINES) + "\n")
    g = load_glove(archive)
    np.testing.assert_array_equal(g.vectors, expected_vectors(LINES))
    assert g.source.endswith("glove.6B.zip/glove.6B.300d.txt")
    assert load_glove(archive).from_cache
    g2 = load_glove(archive, member="glove.6B.2d.txt")
    np.testing.assert_array_equal(g2.vectors, expected_vectors(small))
    assert not g2.from_cache  # its own cache, not the 300d one
    with pytest.raises(GloveError, match="no 'glove.6B.50d.txt'.*glove.6B.2d.txt"):
        load_glove(archive, member="glove.6B.50d.txt")
    # The folder holding the zip (torchtext's .vector_cache) works too.
    assert load_glove(tmp_path).vocab.words == ["the", "door", "person's"]


def test_zip_without_the_default_member(tmp_path):
    one = tmp_path / "one.zip"
    with zipfile.ZipFile(one, "w") as z:
        z.writestr("vectors.txt", "a 1\nb 2\n")
    assert load_glove(one).vocab.words == ["a", "b"]
    two = tmp_path / "two.zip"
    with zipfile.ZipFile(two, "w") as z:
        z.writestr("x.txt", "a 1\n")
        z.writestr("y.txt", "a 1\n")
    with pytest.raises(GloveError, match=r"two.zip: archive has no glove.6B.300d.txt; pass member= one of x.txt"):
        load_glove(two)


def test_gz(tmp_path):
    path = tmp_path / "g.txt.gz"
    with gzip.open(path, "wt", encoding="utf-8") as f:
        f.write("\n".join(LINES) + "\n")
    np.testing.assert_array_equal(load_glove(path).vectors, expected_vectors(LINES))


def test_read_only_folder_caches_in_the_user_folder(tmp_path, monkeypatch):
    folder = tmp_path / "ro"
    folder.mkdir()
    path = write(folder / "g.txt", LINES)
    real_save = glove_mod.atomic_save_npy

    def save(target, array):  # root ignores chmod, so the read-only folder is simulated at the write
        if os.path.dirname(target) == str(folder):
            raise PermissionError(13, "Read-only file system", str(target))
        real_save(target, array)

    monkeypatch.setattr(glove_mod, "atomic_save_npy", save)
    assert not load_glove(path).from_cache
    assert sorted(p.name for p in folder.iterdir()) == ["g.txt"]
    cached = sorted(p.name for p in (tmp_path / "xdg" / "bsp-lightning" / "glove").iterdir())
    assert len(cached) == 2 and cached[0].startswith("g.txt-") and cached[0].endswith(".json")
    again = load_glove(path)
    assert again.from_cache
    np.testing.assert_array_equal(again.vectors, expected_vectors(LINES))


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes into read-only folders")
def test_read_only_folder_for_real(tmp_path):
    folder = tmp_path / "ro"
    folder.mkdir()
    path = write(folder / "g.txt", LINES)
    folder.chmod(0o555)
    try:
        load_glove(path)
        assert load_glove(path).from_cache
        assert sorted(p.name for p in folder.iterdir()) == ["g.txt"]
    finally:
        folder.chmod(0o755)


def test_missing_file_says_what_to_get(tmp_path):
    path = tmp_path / "nowhere" / "glove.6B.300d.txt"
    with pytest.raises(GloveError) as info:
        load_glove(path)
    message = str(info.value)
    assert message.startswith(f"{path}: GloVe file not found")
    for part in ("glove.6B.300d.txt", "glove.6B.zip", "822 MB", "GloVe project page"):
        assert part in message
    assert isinstance(info.value, InputFileError) and isinstance(info.value, ValueError)
    assert "\n" not in message
    with pytest.raises(GloveError, match="no glove.6B.300d.txt or glove.6B.zip in this folder"):
        load_glove(tmp_path)


@pytest.mark.parametrize(
    ("bad", "message"),
    [
        ("door 1 x 3", r"g.txt:3: not a number: 'x'"),
        ("door 1 2", r"g.txt:3: expected a word and 3 numbers, found 3 fields"),
        ("door 1 nan 3", r"g.txt:3: not a finite number: 'nan'"),
    ],
)
def test_malformed_line_names_file_and_line(tmp_path, bad, message):
    # Line 2 is blank: line numbers count it, as an editor does.
    path = write(tmp_path / "g.txt", ["the 0.1 0.2 0.3", "", bad, "cat 1 2 3"])
    with pytest.raises(GloveError, match=message):
        load_glove(path)


def test_malformed_line_in_a_later_chunk(tmp_path, monkeypatch):
    monkeypatch.setattr(glove_mod, "_CHUNK_LINES", 4)
    lines = [f"w{i} {i} {i}" for i in range(11)]
    lines[9] = "w9 9 9e"
    with pytest.raises(GloveError, match=r"g.txt:10: not a number: '9e'"):
        load_glove(write(tmp_path / "g.txt", lines))
    lines[9] = "w9 9 9"
    g = load_glove(write(tmp_path / "g.txt", lines))
    np.testing.assert_array_equal(g.vectors[:-1], [[i, i] for i in range(11)])


def test_not_utf8_and_empty(tmp_path):
    bad = tmp_path / "bad.txt"
    bad.write_bytes(b"the 1 2\ncaf\xe9 3 4\n")
    with pytest.raises(GloveError, match="bad.txt:.*not UTF-8"):
        load_glove(bad)
    empty = write(tmp_path / "empty.txt", [""])
    with pytest.raises(GloveError, match="empty.txt: no word vectors"):
        load_glove(empty)


def test_words_with_spaces_header_duplicates_crlf(tmp_path):
    # 840B style: the last d fields are the vector, the rest (spaces included) the word.
    g = load_glove(write(tmp_path / "a.txt", ["the 1 2", "at . com 3 4", ". . . 5 6"]))
    assert g.vocab.words == ["the", "at . com", ". . ."]
    np.testing.assert_array_equal(g.vectors[1:3], [[3, 4], [5, 6]])
    # A word2vec "count dim" header is skipped; dim comes from it.
    g = load_glove(write(tmp_path / "b.txt", ["2 2", "x 1 2", "y 3 4"]))
    assert g.vocab.words == ["x", "y"] and g.dim == 2
    # A repeated word keeps its last index (torchtext's stoi); CRLF ends are stripped.
    g = load_glove(write(tmp_path / "c.txt", ["x 1", "y 2", "x 3"], end="\r\n"))
    assert g.vocab.index("x") == 2 and g.vocab.index("y") == 1 and g.vectors.shape == (4, 1)


def test_corrupt_cache_is_ignored(tmp_path):
    path = write(tmp_path / "g.txt", LINES)
    load_glove(path)
    (tmp_path / "g.txt.bsp-cache.npy").write_bytes(b"not an array")
    g = load_glove(path)
    assert not g.from_cache
    np.testing.assert_array_equal(g.vectors, expected_vectors(LINES))
    assert load_glove(path).from_cache  # rewritten
