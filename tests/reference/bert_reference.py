#!/usr/bin/python3
"""bert_reference.py — independent PyTorch reference data for bert.c.

A from-scratch BERT built from torch.nn modules, laid out so that its
state_dict names are exactly Hugging Face's (`BertForPreTraining`,
`BertForSequenceClassification`), plus a hand-written safetensors writer and
reader.  Running it regenerates, byte for byte:

  tests/data/reference_pretraining.safetensors   forward, loss, gradients and
                                                 one AdamW step of a tiny model
  tests/data/reference_pretraining_{relu,causal}.safetensors
                                                 the same model and batch with
                                                 hidden_act "relu", and with
                                                 is_decoder (causal attention)
  tests/data/reference_classifier/               a tiny Hugging Face model
                                                 directory with expected logits

Everything is computed in float64 with dropout off (dropout masks come from an
RNG that no other implementation can reproduce) and written as F32.  Before
writing, the script checks itself: tied-embedding gradients, a finite
difference of the loss, one encoder layer against torch.nn.TransformerEncoderLayer,
the losses against torch.nn.functional.cross_entropy, the explicit AdamW
against torch.optim.AdamW, the hand tokenization against a small WordPiece
implementation, and a read-back of every file written.

Usage: /usr/bin/python3 tests/reference/bert_reference.py   (needs only torch)
See tests/reference/README.md for what each file holds.
"""

import hashlib
import json
import math
import os
import re
import struct
import unicodedata

import torch
import torch.nn as nn
import torch.nn.functional as F

torch.set_num_threads(1)  # same summation order every run → same bytes
REPO = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
DATA_DIR = os.path.join(REPO, "tests", "data")

# ---------------------------------------------------------------------------
# Configuration
# ---------------------------------------------------------------------------

PRETRAIN_CONFIG = dict(
    vocab_size=100, hidden_size=32, num_hidden_layers=2, num_attention_heads=4,
    intermediate_size=64, max_position_embeddings=16, type_vocab_size=2,
    layer_norm_eps=1e-12, hidden_act="gelu", pad_token_id=0,
    # Dropout is off in the reference: its random masks cannot be matched
    # across implementations.  These values are what was actually used.
    hidden_dropout_prob=0.0, attention_probs_dropout_prob=0.0,
)

ADAMW = dict(lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-6, weight_decay=0.01,
             max_grad_norm=1.0)
# Google's exclude_from_weight_decay list (optimization.py); matched as
# substrings of the parameter name.
NO_DECAY_PATTERNS = ("LayerNorm", "layer_norm", "bias")

# hidden_act: the exact erf GELU x·Φ(x) (BERT's), or ReLU (the Transformer
# paper's feed-forward; HF ACT2FN["relu"]).
ACTIVATIONS = {"gelu": F.gelu, "relu": F.relu}

# BERT's extended attention mask: (1 − mask) · (−10000), added to the scores.
MASK_NEG = -10000.0

# ---------------------------------------------------------------------------
# The model.  Attribute names are chosen so that state_dict() keys are
# exactly Hugging Face's; shapes are in the comments (B batch, T tokens,
# H hidden, NH heads, HS = H/NH head size, I intermediate, V vocab).
# ---------------------------------------------------------------------------


class BertEmbeddings(nn.Module):
    def __init__(self, c):
        super().__init__()
        # padding_idx as in HF: row pad_token_id receives no gradient from the
        # lookup.  The reference batch uses id 0 only at padded positions,
        # whose gradient is exactly 0 anyway (see check_no_pad_id_in_text).
        self.word_embeddings = nn.Embedding(c["vocab_size"], c["hidden_size"], padding_idx=c["pad_token_id"])
        self.position_embeddings = nn.Embedding(c["max_position_embeddings"], c["hidden_size"])
        self.token_type_embeddings = nn.Embedding(c["type_vocab_size"], c["hidden_size"])
        self.LayerNorm = nn.LayerNorm(c["hidden_size"], eps=c["layer_norm_eps"])
        self.dropout = nn.Dropout(c["hidden_dropout_prob"])

    def forward(self, input_ids, token_type_ids):
        # input_ids, token_type_ids [B,T] → [B,T,H]
        T = input_ids.shape[1]
        positions = torch.arange(T, device=input_ids.device)
        x = (self.word_embeddings(input_ids) + self.token_type_embeddings(token_type_ids)
             + self.position_embeddings(positions)[None, :, :])
        return self.dropout(self.LayerNorm(x))


class BertSelfAttention(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.num_heads = c["num_attention_heads"]
        self.head_size = c["hidden_size"] // self.num_heads
        self.query = nn.Linear(c["hidden_size"], c["hidden_size"])
        self.key = nn.Linear(c["hidden_size"], c["hidden_size"])
        self.value = nn.Linear(c["hidden_size"], c["hidden_size"])
        self.dropout = nn.Dropout(c["attention_probs_dropout_prob"])

    def split_heads(self, x):
        # [B,T,H] → [B,NH,T,HS]
        B, T, _ = x.shape
        return x.view(B, T, self.num_heads, self.head_size).permute(0, 2, 1, 3)

    def forward(self, x, extended_mask):
        # x [B,T,H], extended_mask [B,1,1,T] (0 or −10000) → context [B,T,H]
        q = self.split_heads(self.query(x))
        k = self.split_heads(self.key(x))
        v = self.split_heads(self.value(x))
        scores = q @ k.transpose(-1, -2) / math.sqrt(self.head_size) + extended_mask  # [B,NH,T,T]
        probs = self.dropout(torch.softmax(scores, dim=-1))
        context = probs @ v                                                             # [B,NH,T,HS]
        B, _, T, _ = context.shape
        return context.permute(0, 2, 1, 3).reshape(B, T, self.num_heads * self.head_size)


class BertSelfOutput(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.dense = nn.Linear(c["hidden_size"], c["hidden_size"])
        self.LayerNorm = nn.LayerNorm(c["hidden_size"], eps=c["layer_norm_eps"])
        self.dropout = nn.Dropout(c["hidden_dropout_prob"])

    def forward(self, context, residual):
        return self.LayerNorm(self.dropout(self.dense(context)) + residual)


class BertAttention(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.self = BertSelfAttention(c)
        self.output = BertSelfOutput(c)

    def forward(self, x, extended_mask):
        return self.output(self.self(x, extended_mask), x)


class BertIntermediate(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.dense = nn.Linear(c["hidden_size"], c["intermediate_size"])

        self.act = ACTIVATIONS[c["hidden_act"]]

    def forward(self, x):
        return self.act(self.dense(x))


class BertOutput(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.dense = nn.Linear(c["intermediate_size"], c["hidden_size"])
        self.LayerNorm = nn.LayerNorm(c["hidden_size"], eps=c["layer_norm_eps"])
        self.dropout = nn.Dropout(c["hidden_dropout_prob"])

    def forward(self, h, residual):
        return self.LayerNorm(self.dropout(self.dense(h)) + residual)


class BertLayer(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.attention = BertAttention(c)
        self.intermediate = BertIntermediate(c)
        self.output = BertOutput(c)

    def forward(self, x, extended_mask):
        a = self.attention(x, extended_mask)
        return self.output(self.intermediate(a), a)


class BertEncoder(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.layer = nn.ModuleList([BertLayer(c) for _ in range(c["num_hidden_layers"])])

    def forward(self, x, extended_mask):
        for layer in self.layer:
            x = layer(x, extended_mask)
        return x


class BertPooler(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.dense = nn.Linear(c["hidden_size"], c["hidden_size"])

    def forward(self, sequence_output):
        return torch.tanh(self.dense(sequence_output[:, 0]))  # [B,H], token 0 ([CLS])


class BertModel(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.embeddings = BertEmbeddings(c)
        self.encoder = BertEncoder(c)
        self.pooler = BertPooler(c)

        self.is_decoder = c.get("is_decoder", False)

    def forward(self, input_ids, token_type_ids, attention_mask):
        dtype = self.embeddings.word_embeddings.weight.dtype
        keep = attention_mask[:, None, None, :].to(dtype)          # [B,1,1,T]
        if self.is_decoder:
            # HF's get_extended_attention_mask for a decoder: query i sees key
            # j only when j ≤ i, and only real keys.
            T = input_ids.shape[1]
            causal = (torch.arange(T)[None, :] <= torch.arange(T)[:, None]).to(dtype)   # [T,T]
            keep = causal[None, None, :, :] * keep                  # [B,1,T,T]
        extended_mask = (1.0 - keep) * MASK_NEG
        sequence_output = self.encoder(self.embeddings(input_ids, token_type_ids), extended_mask)
        return sequence_output, self.pooler(sequence_output)


class BertPredictionHeadTransform(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.dense = nn.Linear(c["hidden_size"], c["hidden_size"])
        self.LayerNorm = nn.LayerNorm(c["hidden_size"], eps=c["layer_norm_eps"])
        self.act = ACTIVATIONS[c["hidden_act"]]   # HF: the head's transform uses hidden_act too

    def forward(self, x):
        return self.LayerNorm(self.act(self.dense(x)))


class BertLMPredictionHead(nn.Module):
    def __init__(self, c, word_embedding_weight):
        super().__init__()
        # self.bias is registered before the children, so named_parameters()
        # reports it as `cls.predictions.bias` (decoder.bias is the same
        # Parameter, as in HF, and is de-duplicated away).
        self.bias = nn.Parameter(torch.zeros(c["vocab_size"]))
        self.transform = BertPredictionHeadTransform(c)
        self.decoder = nn.Linear(c["hidden_size"], c["vocab_size"], bias=False)
        self.decoder.weight = word_embedding_weight  # TIED: the same Parameter object
        self.decoder.bias = self.bias

    def forward(self, sequence_output):
        return self.decoder(self.transform(sequence_output))  # [B,T,V]


class BertPreTrainingHeads(nn.Module):
    def __init__(self, c, word_embedding_weight):
        super().__init__()
        self.predictions = BertLMPredictionHead(c, word_embedding_weight)
        self.seq_relationship = nn.Linear(c["hidden_size"], 2)


class BertForPreTraining(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.bert = BertModel(c)
        self.cls = BertPreTrainingHeads(c, self.bert.embeddings.word_embeddings.weight)

    def forward(self, input_ids, token_type_ids, attention_mask):
        sequence_output, pooled_output = self.bert(input_ids, token_type_ids, attention_mask)
        mlm_logits = self.cls.predictions(sequence_output)
        nsp_logits = self.cls.seq_relationship(pooled_output)
        return sequence_output, pooled_output, mlm_logits, nsp_logits


def pretraining_losses(mlm_logits, nsp_logits, mlm_labels, nsp_labels):
    """MLM: mean cross-entropy over positions with label != −100; NSP: mean
    over the batch; total = mlm + nsp (HF BertForPreTraining).  Written out
    explicitly as −log softmax[label]; cross-checked against F.cross_entropy."""
    V = mlm_logits.shape[-1]
    logp = torch.log_softmax(mlm_logits.reshape(-1, V), dim=-1)
    labels = mlm_labels.reshape(-1)
    keep = labels != -100
    mlm_loss = -logp[keep].gather(1, labels[keep][:, None]).mean()
    nsp_logp = torch.log_softmax(nsp_logits, dim=-1)
    nsp_loss = -nsp_logp.gather(1, nsp_labels[:, None]).mean()
    return mlm_loss, nsp_loss, mlm_loss + nsp_loss


class BertForSequenceClassification(nn.Module):
    def __init__(self, c, num_labels):
        super().__init__()
        self.bert = BertModel(c)
        self.dropout = nn.Dropout(c["hidden_dropout_prob"])
        self.classifier = nn.Linear(c["hidden_size"], num_labels)

    def forward(self, input_ids, token_type_ids, attention_mask):
        _, pooled_output = self.bert(input_ids, token_type_ids, attention_mask)
        return self.classifier(self.dropout(pooled_output))  # [B,num_labels]


def randomize_parameters(model, seed):
    """Seeded, deliberately non-trivial values so every code path sees
    magnitudes of order one: weights N(0, 0.2²), LayerNorm γ = 1 + 0.1·N(0,1),
    β and every bias 0.1·N(0,1).  Drawn in named_parameters() order."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, p in model.named_parameters():
            noise = torch.randn(p.shape, generator=g, dtype=torch.float64)
            if "LayerNorm" in name and name.endswith("weight"):
                p.copy_(1.0 + 0.1 * noise)
            elif name.endswith("bias"):
                p.copy_(0.1 * noise)
            else:
                p.copy_(0.2 * noise)


# ---------------------------------------------------------------------------
# safetensors: 8-byte little-endian u64 header length N, N bytes of JSON
# (padded with spaces so the data starts 8-byte aligned), then the raw
# little-endian tensor bytes; data_offsets are [begin, end) into the data.
# ---------------------------------------------------------------------------

DTYPES = {"F32": (torch.float32, 4), "F64": (torch.float64, 8), "I64": (torch.int64, 8)}


def safetensors_bytes(tensors, metadata):
    """tensors: {name: (dtype string, torch tensor)}; written sorted by name."""
    header = {"__metadata__": {k: str(v) for k, v in metadata.items()}}
    blobs, offset = [], 0
    for name in sorted(tensors):
        dtype, t = tensors[name]
        t = t.detach().to(DTYPES[dtype][0]).contiguous()
        raw = t.numpy().astype(t.numpy().dtype.newbyteorder("<")).tobytes()
        header[name] = {"dtype": dtype, "shape": list(t.shape), "data_offsets": [offset, offset + len(raw)]}
        blobs.append(raw)
        offset += len(raw)
    text = json.dumps(header, separators=(",", ":")).encode("utf-8")
    text += b" " * (-(8 + len(text)) % 8)
    return struct.pack("<Q", len(text)) + text + b"".join(blobs)


def read_safetensors(path):
    """Independent reader for the round-trip check: {name: (dtype, tensor)}, metadata."""
    with open(path, "rb") as f:
        blob = f.read()
    (n,) = struct.unpack("<Q", blob[:8])
    assert (8 + n) % 8 == 0, path + ": data not 8-byte aligned"
    header = json.loads(blob[8:8 + n].decode("utf-8"))
    metadata = header.pop("__metadata__", {})
    data = blob[8 + n:]
    out, end_max = {}, 0
    for name, info in header.items():
        torch_dtype, size = DTYPES[info["dtype"]]
        begin, end = info["data_offsets"]
        assert end - begin == size * math.prod(info["shape"]), name
        fmt = "<%d%s" % ((end - begin) // size, {"F32": "f", "F64": "d", "I64": "q"}[info["dtype"]])
        values = struct.unpack(fmt, data[begin:end])
        out[name] = (info["dtype"], torch.tensor(values, dtype=torch_dtype).reshape(info["shape"]))
        end_max = max(end_max, end)
    assert end_max == len(data), path + ": trailing bytes after the last tensor"
    return out, metadata


def write_safetensors(path, tensors, metadata):
    blob = safetensors_bytes(tensors, metadata)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as f:
        f.write(blob)
    back, back_meta = read_safetensors(path)
    assert set(back) == set(tensors) and back_meta == {k: str(v) for k, v in metadata.items()}
    for name, (dtype, t) in tensors.items():
        expect = t.detach().to(DTYPES[dtype][0])
        assert back[name][0] == dtype and torch.equal(back[name][1], expect), "round trip: " + name
    print("wrote %s (%d bytes, %d tensors, sha256 %s)" % (
        os.path.relpath(path, REPO), len(blob), len(tensors), hashlib.sha256(blob).hexdigest()[:16]))


# ---------------------------------------------------------------------------
# AdamW, written out so the update rule is visible.
# ---------------------------------------------------------------------------

def uses_weight_decay(name):
    return not any(p in name for p in NO_DECAY_PATTERNS)


def adamw_step(params, grads, m, v, step, bias_correction, hp):
    """One step on {name: tensor} in place.  m, v: moment dicts (updated).

    bias_correction=True  (torch.optim.AdamW, decoupled decay applied first):
        p ← p − lr·wd·p                     (decay parameters only)
        m ← β1·m + (1−β1)·g,  v ← β2·v + (1−β2)·g²
        p ← p − lr · m̂ / (√v̂ + ε),  m̂ = m/(1−β1^t),  v̂ = v/(1−β2^t)
    bias_correction=False (Google's AdamWeightDecayOptimizer, optimization.py):
        m, v as above;  update = m/(√v + ε) + wd·p_old  (decay params only)
        p ← p − lr·update
    Both decay from the old p, so the two differ only in the bias correction."""
    lr, b1, b2, eps, wd = hp["lr"], hp["beta1"], hp["beta2"], hp["eps"], hp["weight_decay"]
    for name, p in params.items():
        g = grads[name]
        decay = wd if uses_weight_decay(name) else 0.0
        m[name] = b1 * m[name] + (1 - b1) * g
        v[name] = b2 * v[name] + (1 - b2) * g * g
        if bias_correction:
            m_hat = m[name] / (1 - b1 ** step)
            v_hat = v[name] / (1 - b2 ** step)
            p.copy_(p - lr * decay * p - lr * m_hat / (v_hat.sqrt() + eps))
        else:
            update = m[name] / (v[name].sqrt() + eps) + decay * p
            p.copy_(p - lr * update)


def clip_by_global_norm(grads, max_norm):
    """torch.nn.utils.clip_grad_norm_'s rule: scale by max_norm/(‖g‖+1e-6)
    when that is below 1.  Returns (clipped grads, ‖g‖)."""
    norm = torch.sqrt(sum((g * g).sum() for g in grads.values()))
    scale = min(1.0, max_norm / (norm.item() + 1e-6))
    return {k: g * scale for k, g in grads.items()}, norm


# ---------------------------------------------------------------------------
# Pretraining reference
# ---------------------------------------------------------------------------

def pretraining_batch():
    """B=3, T=12.  Row 0 full, row 1 padded after position 10, row 2 after
    position 8.  Padded positions hold [PAD]=0; real positions use ids 1..99."""
    B, T, V = 3, 12, PRETRAIN_CONFIG["vocab_size"]
    g = torch.Generator().manual_seed(1234)
    input_ids = torch.randint(1, V, (B, T), generator=g)
    lengths = [12, 11, 9]
    attention_mask = torch.zeros(B, T, dtype=torch.int64)
    token_type_ids = torch.zeros(B, T, dtype=torch.int64)
    first_b = [7, 5, 4]  # segment B starts here in each row
    for b in range(B):
        attention_mask[b, :lengths[b]] = 1
        input_ids[b, lengths[b]:] = 0
        token_type_ids[b, first_b[b]:lengths[b]] = 1
    mlm_labels = torch.full((B, T), -100, dtype=torch.int64)
    masked = {0: [1, 5, 9, 11], 1: [2, 8], 2: [3, 6, 8]}
    for b, positions in masked.items():
        for t in positions:
            mlm_labels[b, t] = int(torch.randint(0, V, (1,), generator=g))
    nsp_labels = torch.tensor([0, 1, 1])
    return input_ids, token_type_ids, attention_mask, mlm_labels, nsp_labels


def check_no_pad_id_in_text(input_ids, attention_mask, pad_id):
    """With [PAD] only at masked positions, HF's padding_idx (no lookup
    gradient for row pad_id) and Google's plain lookup give the same
    gradient: masked keys get probability exp(−10000) = 0 exactly."""
    assert not bool(((input_ids == pad_id) & (attention_mask == 1)).any())


def check_tied_gradient(model, batch, tied_grad):
    """Untie a copy of the model: the tied gradient must equal the lookup
    gradient plus the decoder gradient, and both must be non-zero."""
    untied = BertForPreTraining(PRETRAIN_CONFIG).double()
    untied.load_state_dict(model.state_dict())
    untied.cls.predictions.decoder.weight = nn.Parameter(
        model.bert.embeddings.word_embeddings.weight.detach().clone())
    ids, tt, am, mlm_labels, nsp_labels = batch
    _, _, mlm, nsp = untied(ids, tt, am)
    pretraining_losses(mlm, nsp, mlm_labels, nsp_labels)[2].backward()
    lookup = untied.bert.embeddings.word_embeddings.weight.grad
    decoder = untied.cls.predictions.decoder.weight.grad
    assert lookup.abs().max() > 1e-3 and decoder.abs().max() > 1e-3
    assert torch.allclose(lookup + decoder, tied_grad, rtol=1e-12, atol=1e-14)


def check_directional_derivative(model, batch, grads):
    """(L(p + h·d) − L(p − h·d)) / 2h against Σ g·d for a random direction d
    over all parameters: catches any gradient autograd would drop (e.g. a
    padding_idx row that mattered)."""
    g = torch.Generator().manual_seed(99)
    params = dict(model.named_parameters())
    direction = {k: torch.randn(p.shape, generator=g, dtype=torch.float64) for k, p in params.items()}
    ids, tt, am, mlm_labels, nsp_labels = batch

    def loss_at(h):
        with torch.no_grad():
            for k, p in params.items():
                p.add_(h * direction[k])
            _, _, mlm, nsp = model(ids, tt, am)
            loss = pretraining_losses(mlm, nsp, mlm_labels, nsp_labels)[2].item()
            for k, p in params.items():
                p.sub_(h * direction[k])
        return loss

    h = 1e-6
    numeric = (loss_at(h) - loss_at(-h)) / (2 * h)
    analytic = sum((grads[k] * direction[k]).sum().item() for k in params)
    assert abs(numeric - analytic) <= 1e-6 * max(1.0, abs(analytic)), (numeric, analytic)


def check_layer_against_torch_transformer(layer, x, attention_mask, c):
    """One BertLayer against torch.nn.TransformerEncoderLayer (post-LN, exact
    GELU) with the same weights: an independent implementation of attention."""
    ref = nn.TransformerEncoderLayer(c["hidden_size"], c["num_attention_heads"], c["intermediate_size"],
                                     dropout=0.0, activation="gelu", layer_norm_eps=c["layer_norm_eps"],
                                     batch_first=True, norm_first=False).double()
    att = layer.attention
    with torch.no_grad():
        ref.self_attn.in_proj_weight.copy_(torch.cat([att.self.query.weight, att.self.key.weight, att.self.value.weight]))
        ref.self_attn.in_proj_bias.copy_(torch.cat([att.self.query.bias, att.self.key.bias, att.self.value.bias]))
        ref.self_attn.out_proj.weight.copy_(att.output.dense.weight)
        ref.self_attn.out_proj.bias.copy_(att.output.dense.bias)
        ref.norm1.load_state_dict(att.output.LayerNorm.state_dict())
        ref.linear1.load_state_dict(layer.intermediate.dense.state_dict())
        ref.linear2.load_state_dict(layer.output.dense.state_dict())
        ref.norm2.load_state_dict(layer.output.LayerNorm.state_dict())
    B, T, _ = x.shape
    NH = c["num_attention_heads"]
    additive = ((1.0 - attention_mask.double()) * MASK_NEG)[:, None, None, :].expand(B, NH, T, T).reshape(B * NH, T, T)
    ref.train()  # the "fast path" is eval-only; the plain path is the readable one
    expected = ref(x, src_mask=additive)
    mine = layer(x, ((1.0 - attention_mask.double()) * MASK_NEG)[:, None, None, :])
    assert torch.allclose(mine, expected, rtol=1e-10, atol=1e-12), (mine - expected).abs().max()


def check_adamw_against_torch(params0, clipped, expected_step1, expected_step2, hp):
    """Our explicit bias-corrected AdamW must agree with torch.optim.AdamW
    (two parameter groups: with and without decay) over two steps."""
    ps = {k: nn.Parameter(t.clone()) for k, t in params0.items()}
    opt = torch.optim.AdamW([
        {"params": [p for k, p in ps.items() if uses_weight_decay(k)], "weight_decay": hp["weight_decay"]},
        {"params": [p for k, p in ps.items() if not uses_weight_decay(k)], "weight_decay": 0.0},
    ], lr=hp["lr"], betas=(hp["beta1"], hp["beta2"]), eps=hp["eps"])
    for expected in (expected_step1, expected_step2):
        for k, p in ps.items():
            p.grad = clipped[k].clone()
        opt.step()
        for k, p in ps.items():
            assert torch.allclose(p.detach(), expected[k], rtol=1e-12, atol=1e-15), k


def make_pretraining_reference():
    c = PRETRAIN_CONFIG
    model = BertForPreTraining(c).double()
    randomize_parameters(model, seed=20240601)
    assert model.cls.predictions.decoder.weight is model.bert.embeddings.word_embeddings.weight
    assert model.cls.predictions.decoder.bias is model.cls.predictions.bias
    params = dict(model.named_parameters())  # de-duplicated: the HF names listed in the README
    assert "cls.predictions.decoder.weight" not in params and "cls.predictions.bias" in params

    batch = pretraining_batch()
    ids, tt, am, mlm_labels, nsp_labels = batch
    check_no_pad_id_in_text(ids, am, c["pad_token_id"])

    seq, pooled, mlm_logits, nsp_logits = model(ids, tt, am)
    mlm_loss, nsp_loss, loss = pretraining_losses(mlm_logits, nsp_logits, mlm_labels, nsp_labels)
    assert torch.allclose(mlm_loss, F.cross_entropy(mlm_logits.reshape(-1, c["vocab_size"]), mlm_labels.reshape(-1),
                                                    ignore_index=-100), rtol=1e-14)
    assert torch.allclose(nsp_loss, F.cross_entropy(nsp_logits, nsp_labels), rtol=1e-14)
    loss.backward()
    grads = {k: p.grad.detach().clone() for k, p in params.items()}
    assert all(g.abs().max() > 0 for g in grads.values()), "a parameter got no gradient"

    check_tied_gradient(model, batch, grads["bert.embeddings.word_embeddings.weight"])
    check_directional_derivative(model, batch, grads)
    with torch.no_grad():
        emb = model.bert.embeddings(ids, tt)
        check_layer_against_torch_transformer(model.bert.encoder.layer[0], emb, am, c)

    # Clipping: our rule, and torch.nn.utils.clip_grad_norm_ on the real grads.
    hp = ADAMW
    clipped, grad_norm = clip_by_global_norm(grads, hp["max_grad_norm"])
    torch_norm = torch.nn.utils.clip_grad_norm_(list(params.values()), hp["max_grad_norm"])
    assert grad_norm.item() > 2 * hp["max_grad_norm"], "clipping must be exercised"
    assert torch.allclose(torch_norm, grad_norm, rtol=1e-14)
    for k, p in params.items():
        assert torch.allclose(p.grad, clipped[k], rtol=1e-14, atol=0), k

    params0 = {k: p.detach().clone() for k, p in params.items()}
    after = {}
    for bias_correction in (True, False):
        p = {k: t.clone() for k, t in params0.items()}
        m = {k: torch.zeros_like(t) for k, t in params0.items()}
        v = {k: torch.zeros_like(t) for k, t in params0.items()}
        adamw_step(p, clipped, m, v, 1, bias_correction, hp)
        after[bias_correction, 1] = {k: t.clone() for k, t in p.items()}
        adamw_step(p, clipped, m, v, 2, bias_correction, hp)
        after[bias_correction, 2] = p
    check_adamw_against_torch(params0, clipped, after[True, 1], after[True, 2], hp)

    tensors = {}
    for k in params0:
        tensors[k] = ("F32", params0[k])
        tensors["grad." + k] = ("F32", grads[k])
        tensors["adamw." + k] = ("F32", after[True, 1][k])
        tensors["adamw_nobc." + k] = ("F32", after[False, 1][k])
        tensors["adamw_step2." + k] = ("F32", after[True, 2][k])
    for name, t in [("input_ids", ids), ("token_type_ids", tt), ("attention_mask", am),
                    ("mlm_labels", mlm_labels), ("nsp_labels", nsp_labels)]:
        tensors["input." + name] = ("I64", t)
    for name, t in [("sequence_output", seq), ("pooled_output", pooled), ("mlm_logits", mlm_logits),
                    ("nsp_logits", nsp_logits), ("mlm_loss", mlm_loss), ("nsp_loss", nsp_loss),
                    ("loss", loss), ("grad_norm", grad_norm)]:
        tensors["expected." + name] = ("F32", t)  # losses and grad_norm have shape [] (one value)

    metadata = {"config": json.dumps(c, sort_keys=True),
                "adamw": json.dumps(hp, sort_keys=True),
                "no_decay_patterns": json.dumps(list(NO_DECAY_PATTERNS)),
                "attention_mask_value": str(MASK_NEG),
                "compute_dtype": "float64",
                "dropout": "off (0.0) for every dropout layer",
                "generator": "tests/reference/bert_reference.py"}
    write_safetensors(os.path.join(DATA_DIR, "reference_pretraining.safetensors"), tensors, metadata)
    print("  loss %.6f = mlm %.6f + nsp %.6f, grad norm %.4f" % (loss, mlm_loss, nsp_loss, grad_norm))


# The teaching options Hugging Face can express, each against the same
# weights and batch as the main reference: hidden_act "relu", and
# is_decoder (causal self-attention). Forward outputs, losses and every
# gradient; the optimizer is the main file's business.
VARIANTS = {
    "relu": dict(hidden_act="relu"),
    "causal": dict(is_decoder=True),
}


def make_variant_reference(name, overrides):
    c = dict(PRETRAIN_CONFIG, **overrides)
    model = BertForPreTraining(c).double()
    randomize_parameters(model, seed=20240601)
    params = dict(model.named_parameters())
    batch = pretraining_batch()
    ids, tt, am, mlm_labels, nsp_labels = batch
    seq, pooled, mlm_logits, nsp_logits = model(ids, tt, am)
    mlm_loss, nsp_loss, loss = pretraining_losses(mlm_logits, nsp_logits, mlm_labels, nsp_labels)
    loss.backward()
    grads = {k: p.grad.detach().clone() for k, p in params.items()}
    if name == "causal":
        # the property the option promises: position t's output does not
        # depend on the tokens after t (change the last real token of row 0)
        with torch.no_grad():
            ids2 = ids.clone()
            last = int(am[0].sum()) - 1
            ids2[0, last] = (ids2[0, last] % (c["vocab_size"] - 5)) + 5
            seq2, _ = model.bert(ids2, tt, am)
            assert torch.equal(seq2[0, :last], seq[0, :last]) and not torch.equal(seq2[0, last], seq[0, last])
    check_directional_derivative(model, batch, grads)
    tensors = {}
    for k, p in params.items():
        tensors[k] = ("F32", p.detach())
        tensors["grad." + k] = ("F32", grads[k])
    for n, t in [("input_ids", ids), ("token_type_ids", tt), ("attention_mask", am),
                 ("mlm_labels", mlm_labels), ("nsp_labels", nsp_labels)]:
        tensors["input." + n] = ("I64", t)
    _, grad_norm = clip_by_global_norm(grads, float("inf"))
    for n, t in [("sequence_output", seq), ("pooled_output", pooled), ("mlm_logits", mlm_logits),
                 ("nsp_logits", nsp_logits), ("mlm_loss", mlm_loss), ("nsp_loss", nsp_loss),
                 ("loss", loss), ("grad_norm", grad_norm)]:
        tensors["expected." + n] = ("F32", t.detach())
    metadata = {"config": json.dumps(c, sort_keys=True), "attention_mask_value": str(MASK_NEG),
                "compute_dtype": "float64", "dropout": "off (0.0) for every dropout layer",
                "generator": "tests/reference/bert_reference.py"}
    write_safetensors(os.path.join(DATA_DIR, "reference_pretraining_%s.safetensors" % name), tensors, metadata)
    print("  %s: loss %.6f = mlm %.6f + nsp %.6f" % (name, loss, mlm_loss, nsp_loss))


# ---------------------------------------------------------------------------
# Classification reference: a tiny Hugging Face model directory
# ---------------------------------------------------------------------------

CLASSIFIER_VOCAB = [
    "[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]",
    "!", "'", ",", ".", "?",
    "a", "act", "and", "bad", "boring", "but", "cafe", "film", "fun", "good",
    "great", "i", "is", "it", "love", "movie", "not", "plot", "s", "the",
    "this", "un", "very", "was", "worst",
    "##able", "##believ", "##d", "##ed", "##ing", "##ly", "##s",
]
CLASSIFIER_LABELS = ["negative", "neutral", "positive"]

CLASSIFIER_TEXTS = [
    "The movie was GREAT!",
    "I loved the acting, but the plot was boring.",
    "Café food: unbelievable.",
    "It's not bad",
]

# Ids produced by hand-tokenizing CLASSIFIER_TEXTS for CLASSIFIER_VOCAB with
# BERT's uncased basic tokenizer (lowercase, strip accents, split on
# whitespace and punctuation) followed by greedy longest-match WordPiece,
# wrapped as [CLS] … [SEP]:
#   [CLS] the movie was great ! [SEP]
#   [CLS] i love ##d the act ##ing , but the plot was boring . [SEP]
#   [CLS] cafe [UNK] [UNK] un ##believ ##able . [SEP]      (food, ':' unknown)
#   [CLS] it ' s not bad [SEP]
CLASSIFIER_IDS = [
    [2, 29, 25, 33, 20, 5, 3],
    [2, 21, 24, 37, 29, 11, 39, 7, 15, 29, 27, 33, 14, 8, 3],
    [2, 16, 1, 1, 31, 36, 35, 8, 3],
    [2, 23, 6, 28, 26, 13, 3],
]


def wordpiece_tokenize(text, vocab):
    """A minimal BERT uncased tokenizer used only to double-check the hand
    ids above (control characters and CJK are not needed for these texts)."""
    text = unicodedata.normalize("NFD", text.lower())
    text = "".join(ch for ch in text if unicodedata.category(ch) != "Mn")
    words = []
    for chunk in text.split():
        words += [w for w in re.split(r"([^\w\s])", chunk) if w]
    ids = [vocab.index("[CLS]")]
    for w in words:
        pieces, start = [], 0
        while start < len(w):
            end = len(w)
            while end > start:
                piece = ("##" if start > 0 else "") + w[start:end]
                if piece in vocab:
                    break
                end -= 1
            if end == start:
                pieces = [vocab.index("[UNK]")]
                break
            pieces.append(vocab.index(piece))
            start = end
        ids += pieces
    return ids + [vocab.index("[SEP]")]


def make_classifier_reference():
    vocab = CLASSIFIER_VOCAB
    assert len(set(vocab)) == len(vocab)
    for text, ids in zip(CLASSIFIER_TEXTS, CLASSIFIER_IDS):
        assert wordpiece_tokenize(text, vocab) == ids, (text, wordpiece_tokenize(text, vocab))

    # Dropout as a real checkpoint would declare it; logits are computed in
    # eval mode, where dropout is the identity.
    c = dict(PRETRAIN_CONFIG, vocab_size=len(vocab), hidden_dropout_prob=0.1, attention_probs_dropout_prob=0.1)
    model = BertForSequenceClassification(c, len(CLASSIFIER_LABELS)).double()
    randomize_parameters(model, seed=20240602)
    model.eval()

    B, T = len(CLASSIFIER_IDS), max(len(r) for r in CLASSIFIER_IDS)
    input_ids = torch.zeros(B, T, dtype=torch.int64)
    attention_mask = torch.zeros(B, T, dtype=torch.int64)
    for b, row in enumerate(CLASSIFIER_IDS):
        input_ids[b, :len(row)] = torch.tensor(row)
        attention_mask[b, :len(row)] = 1
    token_type_ids = torch.zeros(B, T, dtype=torch.int64)
    with torch.no_grad():
        logits = model(input_ids, token_type_ids, attention_mask)
        # Padding must not change a row's logits: run each row unpadded.
        for b, row in enumerate(CLASSIFIER_IDS):
            n = len(row)
            alone = model(input_ids[b:b + 1, :n], token_type_ids[b:b + 1, :n], attention_mask[b:b + 1, :n])
            assert torch.allclose(alone[0], logits[b], rtol=1e-12, atol=1e-14), b

    out_dir = os.path.join(DATA_DIR, "reference_classifier")
    os.makedirs(out_dir, exist_ok=True)

    # Loader tolerance: legacy gamma/beta names for the embedding LayerNorm
    # and the position_ids buffer that older checkpoints carry.
    legacy = {"bert.embeddings.LayerNorm.weight": "bert.embeddings.LayerNorm.gamma",
              "bert.embeddings.LayerNorm.bias": "bert.embeddings.LayerNorm.beta"}
    weights = {legacy.get(k, k): ("F32", p) for k, p in model.named_parameters()}
    weights["bert.embeddings.position_ids"] = ("I64", torch.arange(c["max_position_embeddings"])[None, :])
    write_safetensors(os.path.join(out_dir, "model.safetensors"), weights, {"format": "pt"})

    write_safetensors(os.path.join(out_dir, "expected.safetensors"), {
        "input.input_ids": ("I64", input_ids),
        "input.token_type_ids": ("I64", token_type_ids),
        "input.attention_mask": ("I64", attention_mask),
        "expected.logits": ("F32", logits),
    }, {"compute_dtype": "float64", "mode": "eval (dropout off)",
        "texts": "texts.txt, one per row", "generator": "tests/reference/bert_reference.py"})

    config = {
        "architectures": ["BertForSequenceClassification"],
        "model_type": "bert",
        "attention_probs_dropout_prob": c["attention_probs_dropout_prob"],
        "classifier_dropout": None,
        "hidden_act": "gelu",
        "hidden_dropout_prob": c["hidden_dropout_prob"],
        "hidden_size": c["hidden_size"],
        "id2label": {str(i): name for i, name in enumerate(CLASSIFIER_LABELS)},
        "label2id": {name: i for i, name in enumerate(CLASSIFIER_LABELS)},
        "initializer_range": 0.02,
        "intermediate_size": c["intermediate_size"],
        "layer_norm_eps": c["layer_norm_eps"],
        "max_position_embeddings": c["max_position_embeddings"],
        "num_attention_heads": c["num_attention_heads"],
        "num_hidden_layers": c["num_hidden_layers"],
        "pad_token_id": 0,
        "position_embedding_type": "absolute",
        "torch_dtype": "float32",
        "type_vocab_size": c["type_vocab_size"],
        "vocab_size": len(vocab),
    }
    with open(os.path.join(out_dir, "config.json"), "w", encoding="utf-8") as f:
        f.write(json.dumps(config, indent=2, sort_keys=True) + "\n")
    with open(os.path.join(out_dir, "vocab.txt"), "w", encoding="utf-8") as f:
        f.write("".join(tok + "\n" for tok in vocab))
    with open(os.path.join(out_dir, "texts.txt"), "w", encoding="utf-8") as f:
        f.write("".join(t + "\n" for t in CLASSIFIER_TEXTS))
    print("wrote tests/data/reference_classifier/{config.json,vocab.txt,texts.txt}")
    print("  logits", [[round(x, 5) for x in row] for row in logits.tolist()])


if __name__ == "__main__":
    make_pretraining_reference()
    for variant, overrides in VARIANTS.items():
        make_variant_reference(variant, overrides)
    make_classifier_reference()
