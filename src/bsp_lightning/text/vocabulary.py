"""Word -> index maps: the GloVe vocabulary (2D-TAN) and the learned query vocabulary (LGI)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Sequence

import numpy as np

from bsp_lightning.text.tokenize import tokenize_lgi

#: LGI's reserved entries, at indices 0..3 [LGI ``src/dataset/abstract_dataset.py``]; index 0 pads.
LGI_SPECIALS = ("<PAD>", "<UNK>", "<S>", "<E>")


class Vocabulary:
    """An ordered word list with a fallback index for words not in it.

    Args:
        words: the word of each index, in order. When a word appears twice the **last** index wins, as in
            torchtext's ``Vectors.stoi`` (``{word: i for i, word in enumerate(itos)}``) that 2D-TAN reads.
        unk_index: index returned for a word not in ``words``; ``None`` makes unknown words a ``KeyError``.
            It may equal ``len(words)``: GloVe's unknown word is an extra zero row after the last word
            (2D-TAN's literal 400000 for glove.6B), not a word of the list.

    ``len(vocab)`` is the number of words; :attr:`num_indices` is the number of rows an embedding table
    needs (``max(len(words), unk_index + 1)``).
    """

    def __init__(self, words: Sequence[str], unk_index: int | None) -> None:
        self.words: list[str] = list(words)
        if unk_index is not None and not 0 <= unk_index <= len(self.words):
            raise ValueError(f"unk_index {unk_index} outside 0..{len(self.words)} (the number of words)")
        self.unk_index = unk_index
        self._stoi_cache: dict[str, int] | None = None

    @property
    def _stoi(self) -> dict[str, int]:
        # Built on the first lookup: for the 400k GloVe words this is most of a cached load's time, and a
        # caller that only wants the vectors (or the word list) never pays it.
        if self._stoi_cache is None:
            self._stoi_cache = dict(zip(self.words, range(len(self.words))))
        return self._stoi_cache

    def __len__(self) -> int:
        return len(self.words)

    def __contains__(self, word: object) -> bool:
        return word in self._stoi

    def __repr__(self) -> str:
        return f"Vocabulary({len(self.words)} words, unk_index={self.unk_index})"

    @property
    def num_indices(self) -> int:
        """Rows an embedding table indexed by this vocabulary needs."""
        return len(self.words) if self.unk_index is None else max(len(self.words), self.unk_index + 1)

    def index(self, word: str) -> int:
        """Index of ``word``; :attr:`unk_index` for an unknown word (``KeyError`` when that is ``None``)."""
        i = self._stoi.get(word)
        if i is not None:
            return i
        if self.unk_index is None:
            raise KeyError(f"{word!r} is not in the vocabulary and it has no unknown-word index")
        return self.unk_index

    def encode(self, tokens: Iterable[str]) -> np.ndarray:
        """Indices of ``tokens``: int64 array of shape ``(len(tokens),)`` (unknown -> :attr:`unk_index`)."""
        return np.fromiter((self.index(t) for t in tokens), dtype=np.int64)


def build_vocabulary(
    sentences: Iterable[str],
    tokenizer: Callable[[str], list[str]] = tokenize_lgi,
    specials: Sequence[str] = LGI_SPECIALS,
    min_count: int = 1,
) -> list[str]:
    """LGI's query vocabulary: ``specials`` first, then every word seen ``min_count`` times or more, sorted.

    LGI builds it from the **training** queries only, keeps every word (frequency threshold 1) and sorts the
    words alphabetically after ``<PAD> <UNK> <S> <E>`` [LGI ``src/utils/utils.py``, ``abstract_dataset.py``;
    ``docs/heads/tan2d-lgi.md`` §2.2]: 1,136 Charades-STA train words give the paper's 1,140 entries.
    Sorting is by code point (Python's ``sorted``). A special that also occurs as a word is not repeated.

    Returns:
        the word list; ``Vocabulary(words, unk_index=words.index("<UNK>"))`` turns it into a lookup.
    """
    if min_count < 1:
        raise ValueError(f"min_count must be at least 1, got {min_count}")
    counts: Counter[str] = Counter()
    for sentence in sentences:
        counts.update(tokenizer(sentence))
    reserved = set(specials)
    words = sorted(w for w, n in counts.items() if n >= min_count and w not in reserved)
    return [*specials, *words]
