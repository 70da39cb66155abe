"""GloVe vectors from a local file, parsed once and cached as a binary array (no torchtext, no download).

2D-TAN embeds queries with torchtext's ``glove.6B.300d`` (``docs/heads/tan2d-lgi.md`` §1.5, §1.12). This
module reads the same file with torchtext's rule and layout, without torchtext (deprecated, and its
downloader breaks):

* each line is ``word v1 ... vd`` split on single spaces; the **last** ``d`` fields are the vector and the
  rest is the word (840B files have words containing spaces); row order is the index order;
* numbers are parsed as Python/C doubles and then rounded to float32, as ``torch.Tensor([float(x) ...])``;
* one zero row is appended for unknown words, at index ``V`` (400000 for glove.6B: 2D-TAN's literal), so the
  unknown index comes from the vocabulary size, not a hard-coded number;
* a repeated word keeps its last index (torchtext's ``stoi`` dict comprehension).

The first load parses the text (about 20-30 s for the 400k x 300 file on one core) and writes
``<name>.npy`` (float32 ``(V + 1, d)``) and ``<name>.json`` (the words, ``d`` and the source file's size and
modification time) next to the file; later loads check the key and map the binary array (well under a
second, ``benchmarks/glove_load.py``). A changed source file (other size or mtime) is parsed again. When the
file's folder cannot be written, the cache goes to ``$XDG_CACHE_HOME/bsp-lightning/glove`` (default
``~/.cache/bsp-lightning/glove``). Nothing is ever downloaded.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import logging
import os
import zipfile
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

import numpy as np

from bsp_lightning.text.vocabulary import Vocabulary
from bsp_lightning.utils.errors import InputFileError
from bsp_lightning.utils.io import atomic_save_npy, atomic_write_json

log = logging.getLogger(__name__)

#: The file 2D-TAN uses (torchtext alias ``glove.6B.300d``) and the archive that holds it.
DEFAULT_MEMBER = "glove.6B.300d.txt"
HOW_TO_GET = (
    "get glove.6B.300d.txt (inside glove.6B.zip, 822 MB, from the GloVe project page "
    "https://nlp.stanford.edu/projects/glove/) and pass the path of the .txt or of the .zip"
)
#: Bumped when the cache layout changes, so old caches are parsed again instead of misread.
CACHE_VERSION = 1
#: Lines parsed per numpy call: big enough to amortise the call, small enough to bound the float64 buffer.
_CHUNK_LINES = 8192


class GloveError(InputFileError):
    """A GloVe file that cannot be used (missing, malformed line, wrong archive); one line naming the file."""


@dataclass
class GloveVectors:
    """Word vectors and their vocabulary.

    Attributes:
        vectors: float32 ``(V + 1, d)``; row ``V`` (the last) is zero and is the unknown-word vector.
        vocab: the ``V`` words, ``vocab.unk_index == V``.
        source: the file parsed (for a ``.zip``: ``archive.zip/member.txt``).
        from_cache: whether this load read the binary cache instead of parsing text.
    """

    vectors: np.ndarray
    vocab: Vocabulary
    source: str
    from_cache: bool = False

    @property
    def dim(self) -> int:
        """Vector dimension ``d``."""
        return int(self.vectors.shape[1])

    def embed(self, tokens: Iterable[str]) -> np.ndarray:
        """float32 ``(len(tokens), d)``: the vector of each token, zeros for unknown tokens."""
        return self.vectors[self.vocab.encode(tokens)]


def load_glove(
    path: str | os.PathLike,
    member: str | None = None,
    dim: int | None = None,
    cache: bool = True,
    mmap: bool = True,
) -> GloveVectors:
    """Load GloVe vectors from a ``word v1 ... vd`` text file, its ``.gz``, or a ``.zip`` holding it.

    Args:
        path: a ``.txt`` (or any text file in that format), a ``.gz`` of one, a ``.zip`` (``glove.6B.zip``:
            ``glove.6B.300d.txt`` is read unless ``member`` says otherwise), or a folder holding
            ``glove.6B.300d.txt`` or ``glove.6B.zip`` (torchtext's ``.vector_cache``).
        member: the file to read inside a ``.zip``; default ``glove.6B.300d.txt``, else the archive's only
            ``.txt``.
        dim: the vector dimension; default: taken from the first line (its number of fields minus one). A
            first line of two integers (a word2vec header ``count dim``) is read as a header and skipped.
        cache: read and write the binary cache (see the module docstring); ``False`` always parses.
        mmap: map a cached array copy-on-write (``numpy.load(mmap_mode="c")``) instead of reading it: the
            load returns at once, pages are read on first use and shared between DataLoader workers, and
            writing to the array never changes the cache. ``False`` reads the whole array into memory.

    Returns:
        :class:`GloveVectors` with float32 vectors ``(V + 1, d)``, the last row zero.

    Raises:
        GloveError: missing file (with where to get it), an archive without the member, a line with fewer
            than ``d + 1`` fields or a non-numeric/non-finite value (file and line number), bad UTF-8, a file
            with no vectors.
    """
    src = _resolve(Path(path), member)
    if cache:
        for base in _cache_bases(src):
            hit = _read_cache(base, src, mmap)
            if hit is not None:
                return hit
    words, vectors = _parse(src, dim)
    result = GloveVectors(vectors, Vocabulary(words, unk_index=len(words)), src.display)
    if cache:
        _write_cache(src, result)
    return result


# ---------------------------------------------------------------------------------------------- source files


@dataclass(frozen=True)
class _Source:
    path: Path  # the file on disk (.txt, .gz or .zip)
    member: str | None  # the text file inside a .zip

    @property
    def display(self) -> str:
        return str(self.path) if self.member is None else f"{self.path}/{self.member}"

    @property
    def key(self) -> dict:
        stat = self.path.stat()
        return {"size": stat.st_size, "mtime_ns": stat.st_mtime_ns, "member": self.member}


def _resolve(path: Path, member: str | None) -> _Source:
    if path.is_dir():
        for name in (DEFAULT_MEMBER, "glove.6B.zip"):
            if (path / name).is_file():
                return _resolve(path / name, member)
        raise GloveError(path, f"no {DEFAULT_MEMBER} or glove.6B.zip in this folder; {HOW_TO_GET}")
    if not path.is_file():
        raise GloveError(path, f"GloVe file not found; {HOW_TO_GET}")
    if not zipfile.is_zipfile(path):
        if member is not None:
            raise GloveError(path, f"member={member!r} given but the file is not a .zip archive")
        return _Source(path, None)
    with zipfile.ZipFile(path) as archive:
        names = [n for n in archive.namelist() if not n.endswith("/")]
    if member is None:
        texts = [n for n in names if n.endswith(".txt")]
        if DEFAULT_MEMBER in names:
            member = DEFAULT_MEMBER
        elif len(texts) == 1:
            member = texts[0]
        else:
            raise GloveError(path, f"archive has no {DEFAULT_MEMBER}; pass member= one of {', '.join(names) or 'none'}")
    elif member not in names:
        raise GloveError(path, f"archive has no {member!r}; it holds {', '.join(names) or 'nothing'}")
    return _Source(path, member)


@contextmanager
def _open_text(src: _Source) -> Iterator[TextIO]:
    # newline="\n": only LF ends a line, as torchtext's binary ``for line in f`` (a stray CR stays in the word).
    if src.member is not None:
        with zipfile.ZipFile(src.path) as archive, archive.open(src.member) as raw:
            yield io.TextIOWrapper(raw, encoding="utf-8", newline="\n")
    elif src.path.suffix == ".gz":
        with gzip.open(src.path, "rt", encoding="utf-8", newline="\n") as f:
            yield f
    else:
        with open(src.path, encoding="utf-8", newline="\n") as f:
            yield f


# ---------------------------------------------------------------------------------------------------- parse


def _parse(src: _Source, dim: int | None) -> tuple[list[str], np.ndarray]:
    words: list[str] = []
    blocks: list[np.ndarray] = []
    rests: list[str] = []
    first_line = 0  # line number of rests[0]
    lineno = 0
    try:
        with _open_text(src) as f:
            for lineno, line in enumerate(f, start=1):
                line = line.rstrip()
                if not line:
                    continue  # blank lines (a trailing newline) carry no word
                n_spaces = line.count(" ")
                if dim is None:
                    header = line.split(" ")
                    if len(header) == 2 and all(h.isdigit() for h in header):
                        dim = int(header[1])  # word2vec-style "count dim" header line
                        continue
                    dim = n_spaces
                    if dim < 1:
                        raise GloveError(src.display, "expected 'word v1 ... vd', found a single field", lineno)
                if n_spaces == dim:
                    cut = line.index(" ")
                elif n_spaces > dim:
                    cut = len(line.rsplit(" ", dim)[0])  # the word has spaces: the last d fields are the vector
                else:
                    raise GloveError(
                        src.display, f"expected a word and {dim} numbers, found {n_spaces + 1} fields", lineno
                    )
                if not rests:
                    first_line = lineno
                words.append(line[:cut])
                rests.append(line[cut + 1 :])
                if len(rests) == _CHUNK_LINES:
                    blocks.append(_parse_numbers(rests, dim, src, first_line))
                    rests = []
            if rests:
                blocks.append(_parse_numbers(rests, dim, src, first_line))
    except UnicodeDecodeError as exc:
        raise GloveError(src.display, f"not UTF-8 after line {lineno}: {exc.reason}", lineno + 1) from None
    except (OSError, EOFError, zipfile.BadZipFile, gzip.BadGzipFile) as exc:
        raise GloveError(src.display, f"cannot read: {exc}") from None
    if not words:
        raise GloveError(src.display, "no word vectors in the file")
    vectors = np.empty((len(words) + 1, dim), dtype=np.float32)
    start = 0
    for block in blocks:
        vectors[start : start + len(block)] = block
        start += len(block)
    vectors[-1] = 0.0
    return words, vectors


def _parse_numbers(rests: list[str], dim: int, src: _Source, first_line: int) -> np.ndarray:
    """float32 ``(len(rests), dim)`` from the number parts of consecutive lines (blank lines excluded)."""
    try:
        values = np.loadtxt(rests, dtype=np.float64, delimiter=" ", comments=None, ndmin=2)
        ok = values.shape == (len(rests), dim) and bool(np.isfinite(values).all())
    except ValueError:
        ok = False
    if not ok:
        _raise_first_bad(rests, dim, src, first_line)
    # float64 then float32: the rounding torchtext gets from float() then a float32 tensor.
    return values.astype(np.float32)


def _raise_first_bad(rests: list[str], dim: int, src: _Source, first_line: int) -> None:
    # Slow path, only on error: find the line again. Blank lines were skipped, so count from the file.
    with _open_text(src) as f:
        lines = iter(enumerate(f, start=1))
        for lineno, line in lines:
            if lineno == first_line:
                break
        candidates = [(lineno, line)]
        candidates += [pair for _, pair in zip(range(2 * len(rests)), lines)]
    for lineno, line in candidates:
        line = line.rstrip()
        if not line:
            continue
        fields = line.rsplit(" ", dim)[1:]
        for field in fields:
            try:
                value = float(field)
            except ValueError:
                raise GloveError(src.display, f"not a number: {field[:40]!r}", lineno) from None
            if not np.isfinite(value):
                raise GloveError(src.display, f"not a finite number: {field!r}", lineno)
    raise GloveError(src.display, f"cannot parse the lines from {first_line} on as {dim} numbers each", first_line)


# ---------------------------------------------------------------------------------------------------- cache


def user_cache_dir() -> Path:
    """``$XDG_CACHE_HOME/bsp-lightning/glove``, default ``~/.cache/bsp-lightning/glove``."""
    root = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(root) / "bsp-lightning" / "glove"


def _cache_bases(src: _Source) -> list[Path]:
    """Where the cache of ``src`` may live: next to the file, then in the user cache folder.

    A base ``B`` stands for ``B.npy`` and ``B.json``. In the shared user folder the name carries a hash of
    the source's absolute path so two files called ``glove.6B.300d.txt`` do not overwrite each other.
    """
    name = src.path.name if src.member is None else f"{src.path.name}-{Path(src.member).name}"
    digest = hashlib.sha1(f"{src.path.resolve()}/{src.member or ''}".encode())
    return [src.path.parent / f"{name}.bsp-cache", user_cache_dir() / f"{name}-{digest.hexdigest()[:12]}"]


def _read_cache(base: Path, src: _Source, mmap: bool) -> GloveVectors | None:
    meta_path, npy_path = base.with_name(base.name + ".json"), base.with_name(base.name + ".npy")
    if not meta_path.is_file() or not npy_path.is_file():
        return None
    try:
        meta = json.loads(meta_path.read_text(encoding="utf-8"))
        if meta.get("version") != CACHE_VERSION or meta.get("key") != src.key:
            log.info("GloVe cache %s is stale (source changed); parsing %s again", meta_path, src.display)
            return None
        words = meta["words"]
        vectors = np.load(npy_path, mmap_mode="c" if mmap else None)
    except (OSError, ValueError, KeyError, TypeError) as exc:
        log.warning("ignoring unreadable GloVe cache %s: %s", meta_path, exc)
        return None
    if vectors.dtype != np.float32 or vectors.shape != (len(words) + 1, meta.get("dim")):
        log.warning("ignoring GloVe cache %s: array shape %s does not match its vocabulary", npy_path, vectors.shape)
        return None
    return GloveVectors(vectors, Vocabulary(words, unk_index=len(words)), src.display, from_cache=True)


def _write_cache(src: _Source, glove: GloveVectors) -> None:
    meta = {
        "version": CACHE_VERSION,
        "source": src.display,
        "key": src.key,
        "dim": glove.dim,
        "words": glove.vocab.words,
    }
    for base in _cache_bases(src):
        try:
            base.parent.mkdir(parents=True, exist_ok=True)
            # The array first, the JSON (which holds the key) last: a reader that sees the key sees the array.
            atomic_save_npy(base.with_name(base.name + ".npy"), glove.vectors)
            atomic_write_json(base.with_name(base.name + ".json"), meta, indent=None)
            log.info("cached GloVe vectors of %s in %s.npy", src.display, base)
            return
        except OSError as exc:
            log.info("cannot write the GloVe cache at %s (%s); trying the next place", base, exc)
    log.warning("could not cache the GloVe vectors of %s anywhere; the next load parses the text again", src.display)
