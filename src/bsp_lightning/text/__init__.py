"""Text inputs of the grounding heads: GloVe vectors (2D-TAN), the official tokenisers, a query vocabulary (LGI).

``docs/heads/tan2d-lgi.md`` §1.5, §1.12 (2D-TAN) and §2.2 (LGI) give the rules reproduced here.
"""

from bsp_lightning.text.glove import GloveError, GloveVectors, load_glove, user_cache_dir
from bsp_lightning.text.tokenize import tokenize_2dtan, tokenize_lgi
from bsp_lightning.text.vocabulary import LGI_SPECIALS, Vocabulary, build_vocabulary

__all__ = [
    "GloveError",
    "GloveVectors",
    "LGI_SPECIALS",
    "Vocabulary",
    "build_vocabulary",
    "load_glove",
    "tokenize_2dtan",
    "tokenize_lgi",
    "user_cache_dir",
]
