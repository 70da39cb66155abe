"""The network: shapes, masking of padded words and segments, slow references, official initialisation quirks."""

from __future__ import annotations

import math

import pytest
import torch

from bsp_lgi.blocks import AttentivePooling, NonLocalBlock, QueryEncoder, SequentialQueryAttention, VideoEmbedding
from bsp_lgi.model import LGI

SMALL = dict(dim=16, word_dim=8, att_hidden_dim=8, regression_hidden_dim=16, kernel_size=3, num_segments=12)


def _inputs(B=3, T=12, D=6, L=5, vocab=20, seed=0):
    g = torch.Generator().manual_seed(seed)
    features = torch.randn(B, T, D, generator=g)
    segment_mask = torch.zeros(B, T)
    for b, n in enumerate([T, 7, 3][:B]):
        segment_mask[b, :n] = 1
        features[b, n:] = 0
    words = torch.randint(4, vocab, (B, L), generator=g)
    for b, n in enumerate([L, 2, 1][:B]):
        words[b, n:] = 0
    return features, segment_mask, words, (words > 0).float()


def test_output_shapes_and_ranges():
    model = LGI(20, 6, num_phrases=3, num_nl_blocks=2, num_heads=4, **SMALL).eval()
    out = model(*_inputs())
    assert out["loc"].shape == (3, 2) and (out["loc"] >= 0).all()  # ReLU output (Charades)
    assert out["temporal_attention"].shape == (3, 12)
    assert out["phrase_attention"].shape == (3, 3, 5)
    assert out["phrase_weights"].shape == (3, 3)
    torch.testing.assert_close(out["temporal_attention"].sum(1), torch.ones(3))
    sig = LGI(20, 6, num_phrases=1, output_activation="sigmoid", **SMALL).eval()
    out = sig(*_inputs())
    assert out["phrase_attention"] is None and ((out["loc"] > 0) & (out["loc"] < 1)).all()


def test_padded_words_get_no_weight_and_do_not_matter():
    torch.manual_seed(0)
    encoder, sqan = QueryEncoder(20, 8, 8).eval(), SequentialQueryAttention(3, 16, 8).eval()
    _, _, words, word_mask = _inputs()
    w_feats, sentence = encoder(words, word_mask)
    assert (w_feats[word_mask == 0] == 0).all()  # pad_packed_sequence zeros
    phrases, attw = sqan(sentence, w_feats, word_mask)
    assert (attw.masked_select(word_mask.unsqueeze(1).expand_as(attw) == 0) == 0).all()
    torch.testing.assert_close(attw.sum(2), torch.ones(3, 3))
    # whatever sits at padded positions (word ids or features), nothing changes
    other = words.clone()
    other[word_mask == 0] = 7
    w2, s2 = encoder(other, word_mask)
    torch.testing.assert_close(s2, sentence)
    noisy = w_feats + 100.0 * (1 - word_mask).unsqueeze(2) * torch.randn_like(w_feats)
    p2, a2 = sqan(sentence, noisy, word_mask)
    torch.testing.assert_close(p2, phrases)
    torch.testing.assert_close(a2, attw)


def test_sentence_feature_is_forward_last_and_backward_first():
    torch.manual_seed(1)
    encoder = QueryEncoder(20, 8, 8).eval()
    words = torch.tensor([[5, 6, 7, 0, 0]])
    w_feats, sentence = encoder(words, (words > 0).float())
    # an unpadded run on the 3 real words gives the reference states
    ref, _ = encoder.rnn(encoder.embedding(words[:, :3]))
    torch.testing.assert_close(sentence[0, :8], ref[0, 2, :8])
    torch.testing.assert_close(sentence[0, 8:], ref[0, 0, 8:])
    torch.testing.assert_close(w_feats[:, :3], ref)


def _nonlocal_reference(block: NonLocalBlock, x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Loop over batch, heads and positions: out_i = x_i + concat_h sum_j softmax_j(k_i.q_j / sqrt(d_h)) v_j over
    real j only."""
    k_all = block.v_lin(x)
    q_all, v_all = block.c_lin(x).chunk(2, dim=2)
    B, T, d = x.shape
    dh = d // block.num_heads
    out = x.clone()
    for b in range(B):
        real = [j for j in range(T) if mask[b, j] > 0]
        for i in range(T):
            parts = []
            for h in range(block.num_heads):
                sl = slice(h * dh, (h + 1) * dh)
                scores = torch.stack([k_all[b, i, sl] @ q_all[b, j, sl] / math.sqrt(dh) for j in real])
                w = torch.softmax(scores, 0)
                parts.append(sum(w[n] * v_all[b, j, sl] for n, j in enumerate(real)))
            out[b, i] += torch.cat(parts)
    return out


def test_nonlocal_block_matches_reference_and_masks_padded_segments():
    torch.manual_seed(2)
    block = NonLocalBlock(16, 16, num_heads=4)
    x = torch.randn(2, 6, 16)
    mask = torch.tensor([[1, 1, 1, 1, 1, 1], [1, 1, 1, 0, 0, 0]], dtype=torch.float32)
    out, weights = block(x, mask)
    torch.testing.assert_close(out, _nonlocal_reference(block, x, mask))
    assert (weights[1, :, :, 3:] == 0).all()
    x2 = x.clone()
    x2[1, 3:] = 50.0  # padded segments change: the real rows do not
    out2, _ = block(x2, mask)
    torch.testing.assert_close(out2[1, :3], out[1, :3])


def test_attentive_pooling_masks_and_embeds():
    torch.manual_seed(3)
    pool = AttentivePooling(4, 3, embed_dim=5)
    x = torch.randn(2, 4, 4)
    mask = torch.tensor([[1, 1, 0, 0], [1, 1, 1, 1]], dtype=torch.float32)
    pooled, w = pool(x, mask)
    logits = torch.tanh(x @ pool.feat2att.weight.T) @ pool.to_alpha.weight.T
    ref0 = torch.softmax(logits[0, :2, 0], 0)
    torch.testing.assert_close(w[0], torch.cat([ref0, torch.zeros(2)]))
    torch.testing.assert_close(pooled[0], pool.fc(ref0 @ x[0, :2]))


def test_position_embedding_dropout_mask_shared_across_the_batch():
    torch.manual_seed(4)
    emb = VideoEmbedding(3, 8, num_positions=5).train()
    emb.segment[0].weight.data.zero_()
    emb.segment[0].bias.data.fill_(-1.0)  # ReLU(-1) = 0: the output is the position branch alone
    out = emb(torch.randn(4, 5, 3), torch.ones(4, 5))
    assert (out == out[0:1]).all() and (out == 0).any()  # one dropout draw for all videos


def test_per_phrase_modules_start_identical():
    model = LGI(20, 6, num_phrases=3, num_nl_blocks=2, **SMALL)
    lgi = model.interactions
    for mods in (lgi.fusion, lgi.local, lgi.global_blocks):
        first = mods[0].state_dict()
        for other in mods[1:]:
            assert all(torch.equal(first[k], v) for k, v in other.state_dict().items())
            assert other is not mods[0]


def test_parameter_count_of_the_charades_model():
    """Counted by hand from the official layer sizes (vocab 1,140, 1024-d I3D input), less the official unused
    global-pooling embedding (512 x 512 + 512)."""
    model = LGI(1140, 1024)
    lstm = 2 * (4 * 256 * (300 + 256) + 8 * 256) + 2 * (4 * 256 * (512 + 256) + 8 * 256)
    query = 1140 * 300 + lstm
    video = 1024 * 512 + 512 + 128 * 512
    sqan = 3 * (512 * 512 + 512) + (1024 * 512 + 512) + 2 * (512 * 256 + 256) + 257
    fusion = 3 * 3 * (512 * 512 + 512)
    local = 3 * (2 * 512 * 512 * 15 + 2 * 2 * 512)
    global_ = 512 * 256 + 256 + 2 * ((512 * 1024 + 1024) + (512 * 512 + 512))
    regression = 512 * 256 + 256 + (512 * 512 + 512) + (512 * 512 + 512) + (512 * 2 + 2)
    expected = query + video + sqan + fusion + local + global_ + regression
    assert sum(p.numel() for p in model.parameters()) == expected == 33_555_699


@pytest.mark.parametrize("bad", [dict(dim=15), dict(vocab_size=1)])
def test_bad_sizes_raise(bad):
    args = dict(vocab_size=20, feature_dim=6, **SMALL)
    args.update(bad)
    with pytest.raises(ValueError):
        LGI(**args)
