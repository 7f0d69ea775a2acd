#!/usr/bin/python3
"""pytorch_step.py — the BERT pretraining step of `bert bench`, in PyTorch.

The baseline bert.c is compared with (bench/compare.sh). Its own small BERT
built from torch.nn modules (post-LN encoder layers, MLM head scoring only the
masked positions with the decoder tied to the word embeddings, NSP head,
dropout 0.1, torch.optim.AdamW with global-norm clipping at 1.0), run on the
same synthetic batches: random ids, full-length sequences, round(0.15·T)
masked positions (at most --predictions), random NSP labels. Prints tokens/s,
the median step time, GFLOP/s (the same analytic count as bert bench,
docs/performance.md) and peak RSS in bert bench's format.

    /usr/bin/python3 bench/pytorch_step.py --config configs/bert-mini.json --threads 2

Debian's torch does its matrix products in the system BLAS (libblas.so.3,
which is BLIS once bert.c's packages are installed). BLIS reads its kernel
set and thread count from the environment when it loads, and by default picks
its AVX2 kernels on these virtual machines and one thread; so that PyTorch
gets the same BLIS that bert.c uses, this script sets BLIS_ARCH_TYPE=0 (the
AVX-512 kernels, when the CPU has avx512f) and BLIS_NUM_THREADS /
OPENBLAS_NUM_THREADS / OMP_NUM_THREADS to --threads before importing torch
(--plain-blas leaves the environment as it is).
"""
import argparse
import json
import math
import os
import resource
import statistics
import sys
import time


def tune_blas_environment(threads):
    """Must run before torch (and with it libblas) is loaded."""
    with open("/proc/cpuinfo") as f:
        if " avx512f" in f.read():
            os.environ.setdefault("BLIS_ARCH_TYPE", "0")
    if threads > 0:
        for name in ("BLIS_NUM_THREADS", "OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS"):
            os.environ[name] = str(threads)


if __name__ == "__main__" and "--plain-blas" not in sys.argv:
    threads_arg = sys.argv[sys.argv.index("--threads") + 1] if "--threads" in sys.argv else "0"
    tune_blas_environment(int(threads_arg))

import torch  # noqa: E402  (after the BLAS environment is set)
import torch.nn as nn
import torch.nn.functional as F


class EncoderLayer(nn.Module):
    def __init__(self, C, NH, I, p, eps):
        super().__init__()
        self.NH = NH
        self.qkv = nn.Linear(C, 3 * C)        # query, key, value stacked
        self.attn_out = nn.Linear(C, C)
        self.ln1 = nn.LayerNorm(C, eps=eps)
        self.ff1 = nn.Linear(C, I)
        self.ff2 = nn.Linear(I, C)
        self.ln2 = nn.LayerNorm(C, eps=eps)
        self.attn_drop = nn.Dropout(p)
        self.hidden_drop = nn.Dropout(p)

    def forward(self, x, mask_add):
        B, T, C = x.shape
        hd = C // self.NH
        q, k, v = self.qkv(x).view(B, T, 3, self.NH, hd).permute(2, 0, 3, 1, 4)   # each [B,NH,T,hd]
        scores = q @ k.transpose(-1, -2) / math.sqrt(hd) + mask_add[:, None, None, :]
        probs = self.attn_drop(torch.softmax(scores, dim=-1))
        context = (probs @ v).transpose(1, 2).reshape(B, T, C)
        h = self.ln1(x + self.hidden_drop(self.attn_out(context)))
        f = self.ff2(F.gelu(self.ff1(h)))
        return self.ln2(h + self.hidden_drop(f))


class BertPretraining(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        C, V, p, eps = cfg["hidden_size"], cfg["vocab_size"], cfg["hidden_dropout_prob"], cfg["layer_norm_eps"]
        self.word = nn.Embedding(V, C)
        self.pos = nn.Embedding(cfg["max_position_embeddings"], C)
        self.token_type = nn.Embedding(cfg["type_vocab_size"], C)
        self.emb_ln = nn.LayerNorm(C, eps=eps)
        self.emb_drop = nn.Dropout(p)
        self.layers = nn.ModuleList(EncoderLayer(C, cfg["num_attention_heads"], cfg["intermediate_size"], p, eps)
                                    for _ in range(cfg["num_hidden_layers"]))
        self.pooler = nn.Linear(C, C)
        self.mlm_dense = nn.Linear(C, C)
        self.mlm_ln = nn.LayerNorm(C, eps=eps)
        self.mlm_bias = nn.Parameter(torch.zeros(V))
        self.nsp = nn.Linear(C, 2)
        for module in self.modules():
            if isinstance(module, (nn.Linear, nn.Embedding)):
                nn.init.trunc_normal_(module.weight, std=cfg["initializer_range"],
                                      a=-2 * cfg["initializer_range"], b=2 * cfg["initializer_range"])
                if isinstance(module, nn.Linear):
                    nn.init.zeros_(module.bias)

    mlm_ln_input_float = False   # --bf16: torch 1.13's autocast needs LayerNorm's input in float here

    def forward(self, ids, types, mask, mlm_rows, mlm_labels, nsp_labels):
        B, T = ids.shape
        positions = torch.arange(T)
        x = self.emb_drop(self.emb_ln(self.word(ids) + self.pos(positions)[None] + self.token_type(types)))
        mask_add = (1.0 - mask.float()) * -10000.0
        for layer in self.layers:
            x = layer(x, mask_add)
        pooled = torch.tanh(self.pooler(x[:, 0]))
        # MLM only at the masked positions; decoder tied to the word embeddings
        h = x.reshape(B * T, -1).index_select(0, mlm_rows)
        h = F.gelu(self.mlm_dense(h))
        h = self.mlm_ln(h.float() if self.mlm_ln_input_float else h)
        logits = F.linear(h, self.word.weight, self.mlm_bias)
        mlm_loss = F.cross_entropy(logits, mlm_labels)
        nsp_loss = F.cross_entropy(self.nsp(pooled), nsp_labels)
        return mlm_loss + nsp_loss


def synthetic_batch(B, T, P, V, generator):
    ids = torch.randint(1000 % V, V, (B, T), generator=generator)
    ids[:, 0] = 101 % V
    types = (torch.arange(T) >= T // 2).long().expand(B, T).contiguous()
    mask = torch.ones(B, T, dtype=torch.long)
    masked = min(int(0.15 * T + 0.5), P, T - 1)
    rows, labels = [], []
    for b in range(B):
        positions = 1 + torch.randperm(T - 1, generator=generator)[:masked]
        for pos in positions.tolist():
            rows.append(b * T + pos)
            labels.append(int(ids[b, pos]))
            ids[b, pos] = 103 % V
    nsp = torch.randint(0, 2, (B,), generator=generator)
    return ids, types, mask, torch.tensor(rows), torch.tensor(labels), nsp


def forward_flops(cfg, B, T, M):
    """bert bench's analytic count (docs/performance.md): matmuls only, 2·M·N·K each."""
    N, C, I, V, L = B * T, cfg["hidden_size"], cfg["intermediate_size"], cfg["vocab_size"], cfg["num_hidden_layers"]
    per_layer = 2 * N * C * 3 * C + 2 * 2 * B * T * T * C + 2 * N * C * C + 2 * 2 * N * C * I
    return L * per_layer + 2 * B * C * C + 2 * B * C * 2 + 2 * M * C * C + 2 * M * C * V


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--config", required=True)
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--seq", type=int, default=128)
    ap.add_argument("--predictions", type=int, default=20)
    ap.add_argument("--threads", type=int, default=0, help="0 = all cores")
    ap.add_argument("--steps", type=int, default=10)
    ap.add_argument("--warmup", type=int, default=2)
    ap.add_argument("--mode", choices=["train", "infer"], default="train")
    ap.add_argument("--bf16", action="store_true",
                    help="torch.autocast('cpu', dtype=torch.bfloat16) around forward and loss (oneDNN's bf16 products)")
    ap.add_argument("--plain-blas", action="store_true",
                    help="leave BLIS's kernel choice and thread count to its defaults")
    args = ap.parse_args()
    with open(args.config) as f:
        cfg = json.load(f)
    threads = args.threads or torch.get_num_threads()
    torch.set_num_threads(threads)
    torch.manual_seed(1)
    generator = torch.Generator().manual_seed(7)
    model = BertPretraining(cfg)
    model.mlm_ln_input_float = args.bf16
    autocast = torch.autocast("cpu", dtype=torch.bfloat16, enabled=args.bf16)
    B, T = args.batch, args.seq
    batch = synthetic_batch(B, T, args.predictions, cfg["vocab_size"], generator)
    M = len(batch[3])
    training = args.mode == "train"
    if training:
        model.train()
        optimizer = torch.optim.AdamW(model.parameters(), lr=1e-4, betas=(0.9, 0.999), eps=1e-6, weight_decay=0.01)
    else:
        model.eval()
    times = []
    for step in range(args.warmup + args.steps):
        t0 = time.perf_counter()
        if training:
            optimizer.zero_grad(set_to_none=False)
            with autocast:
                loss = model(*batch)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            optimizer.step()
        else:
            with torch.no_grad(), autocast:
                model(*batch)
        if step >= args.warmup:
            times.append(time.perf_counter() - t0)
    median = statistics.median(times)
    flops = forward_flops(cfg, B, T, M) * (3 if training else 1)
    rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    what = "train (forward + backward + AdamW, dropout 0.1)" if training else "infer (forward, no dropout)"
    print(f"pytorch {torch.__version__}: {args.config}, {what}, batch {B} × seq {T}, {M} masked predictions, "
          f"{threads} thread{'s' if threads != 1 else ''}, {'bf16 autocast' if args.bf16 else 'float32'}, BLAS: "
          f"{'defaults' if args.plain_blas else 'BLIS_ARCH_TYPE=' + os.environ.get('BLIS_ARCH_TYPE', '(unset)') + ', ' + os.environ.get('BLIS_NUM_THREADS', '(unset)') + ' thread(s)'}")
    print(f"  tokens/s:     {B * T / median:.0f}")
    print(f"  step time:    {median * 1e3:.2f} ms (median of {args.steps} after {args.warmup} warm-up; "
          f"min {min(times) * 1e3:.2f}, max {max(times) * 1e3:.2f})")
    print(f"  GFLOP/s:      {flops / median / 1e9:.1f} ({flops / 1e9:.2f} GFLOP per step)")
    print(f"  peak RSS:     {rss_mb:.1f} MB")


if __name__ == "__main__":
    main()
