#!/usr/bin/python3
"""pretraining_probe.py — looks into what a bert.c pretraining run gave a
fine-tuning task (the SST-2 investigation in docs/finetuning.md). Analysis
only; nothing in bert.c depends on it. Needs numpy (Debian's python3-numpy,
which python3-torch pulls in) and the `bert` program for tokenizing.

  coverage  MODEL CORPUS_FILES... --task FILE
      How often the task's tokens occur in the pretraining corpus, and for the
      word embeddings of MODEL against a fresh BERT init: norm and mean
      pairwise cosine of tokens never seen in the corpus and of frequent ones.
      (A tied MLM decoder pushes every never-predicted token along the same
      direction, so unseen tokens collapse together.)
  reinit    MODEL OUT (--tensors SUBSTRING... | --rare N CORPUS_FILES...)
      Copies MODEL to OUT and re-initialises as BERT does (truncated normal
      0.02, biases 0, LayerNorm 1/0) every tensor whose name contains one of
      the substrings, or only the word-embedding rows of tokens seen fewer
      than N times in the corpus. For ablations: fine-tune OUT as usual.

The task file is a TSV/CSV whose first column is the text (header skipped).
"""
import argparse
import json
import os
import shutil
import struct
import subprocess
import sys
from collections import Counter

import numpy as np

WORD_EMBEDDINGS = "bert.embeddings.word_embeddings.weight"


def read_safetensors(path):
    raw = bytearray(open(path, "rb").read())
    n = struct.unpack("<Q", raw[:8])[0]
    return raw, json.loads(raw[8:8 + n]), 8 + n


def tensor(raw, header, base, name):
    a, b = header[name]["data_offsets"]
    return np.frombuffer(bytes(raw[base + a:base + b]), dtype=np.float32).reshape(header[name]["shape"])


def token_counts(bert, vocab, paths, first_column=False):
    counts = Counter()
    for path in paths:
        with open(path, encoding="utf-8", errors="replace") as f:
            lines = f.read().splitlines()
        if first_column:
            lines = [line.split("\t" if path.endswith(".tsv") else ",")[0] for line in lines[1:]]
        out = subprocess.run([bert, "tokenize", "--vocab", vocab, "--ids"], input="\n".join(lines),
                             capture_output=True, text=True, check=True).stdout
        counts.update(int(t) for t in out.split())
    return counts


def bert_init(shape, rng):
    x = rng.normal(0, 0.02, size=shape)
    while (np.abs(x) > 0.04).any():
        bad = np.abs(x) > 0.04
        x[bad] = rng.normal(0, 0.02, size=bad.sum())
    return x


def coverage(args):
    vocab = os.path.join(args.model, "vocab.txt")
    corpus = token_counts(args.bert, vocab, args.corpus)
    task = token_counts(args.bert, vocab, [args.task], first_column=True)
    total = sum(task.values())
    for below in (1, 10, 100):
        share = sum(v for t, v in task.items() if corpus.get(t, 0) < below) / total
        print(f"task token occurrences whose token occurs < {below} times in the corpus: {share:.3f}")
    raw, header, base = read_safetensors(os.path.join(args.model, "model.safetensors"))
    trained = tensor(raw, header, base, WORD_EMBEDDINGS)
    fresh = bert_init(trained.shape, np.random.default_rng(1)).astype(np.float32)
    rng = np.random.default_rng(0)
    groups = {"never seen in the corpus": [t for t in range(len(trained)) if corpus.get(t, 0) == 0],
              "seen >= 1000 times": [t for t in range(len(trained)) if corpus.get(t, 0) >= 1000]}
    for label, table in (("pretrained", trained), ("fresh init", fresh)):
        for group, ids in groups.items():
            e = table[ids]
            unit = e / np.linalg.norm(e, axis=1, keepdims=True)
            i, j = rng.integers(0, len(ids), 4000), rng.integers(0, len(ids), 4000)
            cosine = np.sum(unit[i] * unit[j], axis=1)[i != j].mean()
            print(f"{label}: {group}: {len(ids)} tokens, mean norm {np.linalg.norm(e, axis=1).mean():.3f}, "
                  f"mean pairwise cosine {cosine:.3f}")


def reinit(args):
    shutil.rmtree(args.out, ignore_errors=True)
    shutil.copytree(args.model, args.out, ignore=shutil.ignore_patterns("checkpoint-*", "metrics.jsonl"))
    path = os.path.join(args.out, "model.safetensors")
    raw, header, base = read_safetensors(path)
    rng = np.random.default_rng(1)
    changed = []
    for name, entry in header.items():
        if name == "__metadata__":
            continue
        a, b = entry["data_offsets"]
        shape = entry["shape"]
        if args.rare is not None:
            if name != WORD_EMBEDDINGS:
                continue
            corpus = token_counts(args.bert, os.path.join(args.model, "vocab.txt"), args.corpus)
            x = tensor(raw, header, base, name).copy()
            rows = [t for t in range(shape[0]) if corpus.get(t, 0) < args.rare]
            x[rows] = bert_init((len(rows), shape[1]), rng)
            changed.append(f"{name} ({len(rows)} rows)")
        elif any(s in name for s in args.tensors):
            if "LayerNorm" in name:
                x = np.ones(shape) if name.endswith(("weight", "gamma")) else np.zeros(shape)
            elif name.endswith(("bias", "beta")):
                x = np.zeros(shape)
            else:
                x = bert_init(shape, rng)
            changed.append(name)
        else:
            continue
        raw[base + a:base + b] = np.asarray(x, dtype=np.float32).tobytes()
    open(path, "wb").write(bytes(raw))
    print(f"{args.out}: re-initialised {len(changed)} tensors: " + ", ".join(changed[:6])
          + (" …" if len(changed) > 6 else ""))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--bert", default="./bert", help="the bert program (default ./bert)")
    sub = ap.add_subparsers(dest="command", required=True)
    c = sub.add_parser("coverage")
    c.add_argument("model")
    c.add_argument("corpus", nargs="+")
    c.add_argument("--task", required=True)
    r = sub.add_parser("reinit")
    r.add_argument("model")
    r.add_argument("out")
    r.add_argument("--tensors", nargs="+", default=[])
    r.add_argument("--rare", type=int)
    r.add_argument("--corpus", nargs="+", default=[])
    args = ap.parse_args()
    if args.command == "reinit" and (args.rare is None) == (not args.tensors):
        sys.exit("reinit: give either --tensors or --rare N --corpus FILES")
    if args.command == "reinit" and args.rare is not None and not args.corpus:
        sys.exit("reinit: --rare needs --corpus FILES")
    (coverage if args.command == "coverage" else reinit)(args)


if __name__ == "__main__":
    main()
