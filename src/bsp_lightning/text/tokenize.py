"""The two tokenisers of the official grounding codes (they differ; each head uses its own).

* 2D-TAN [``lib/datasets/charades.py``, ``activitynet.py``, ``tacos.py``]: ``sentence.split()`` and each token
  lower-cased; punctuation stays, so ``"person's"`` and ``"door."`` are looked up as they are in GloVe
  (and usually miss, giving the zero unknown vector). ``docs/heads/tan2d-lgi.md`` §1.5.
* LGI [``src/utils/utils.py`` ``tokenize``]: ``str(txt).lower().translate(<delete string.punctuation>)
  .strip().split()``; punctuation characters are deleted, not replaced by spaces, so ``"person's"`` becomes
  ``"persons"``. ``docs/heads/tan2d-lgi.md`` §2.2.
"""

from __future__ import annotations

import string

#: ``str.translate`` table deleting every ASCII punctuation character, as LGI's ``tokenize`` builds it.
_DELETE_PUNCTUATION = str.maketrans("", "", string.punctuation)


def tokenize_2dtan(sentence: str) -> list[str]:
    """2D-TAN's tokens: whitespace split of the raw sentence, each token lower-cased, punctuation kept.

    The official loader does ``[vocab.stoi.get(w.lower(), 400000) for w in sentence.split()]``, i.e. it splits
    before lower-casing; the result is the same as lower-casing first for every character whose lower case
    is one character.
    """
    return [word.lower() for word in sentence.split()]


def tokenize_lgi(sentence: str) -> list[str]:
    """LGI's tokens: lower-case, delete every character of ``string.punctuation``, split on whitespace.

    ``"The person's opening a door."`` -> ``["the", "persons", "opening", "a", "door"]``.
    """
    return str(sentence).lower().translate(_DELETE_PUNCTUATION).strip().split()
