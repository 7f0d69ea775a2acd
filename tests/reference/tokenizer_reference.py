#!/usr/bin/env python3
"""Independent reference for bert.c's tokenizer tests (not used by the C code).

Implements BERT's published tokenization algorithm (Google's tokenization.py,
Hugging Face's BertTokenizer) directly with Python's unicodedata and
str.lower(), and writes the expected token ids of every case in
tests/data/tokenizer_cases.txt:

    python3 tests/reference/tokenizer_reference.py VOCAB CASES OUT [--cased]

Rules (docs/tokenizer.md):
  * input bytes are decoded as UTF-8 with errors='ignore';
  * [PAD] [UNK] [CLS] [SEP] [MASK] written in the text are cut out first and
    kept whole (Hugging Face's special-token split);
  * cleaning drops U+0000, U+FFFD and every C* character except \\t \\n \\r
    (Hugging Face's _is_control), and maps \\t \\n \\r and Zs to a space;
  * CJK ideographs get spaces around them; str.split() splits on whitespace;
  * uncased: str.lower(), then NFD, then drop category Mn;
  * punctuation (non-alphanumeric printable ASCII, P*) splits off;
  * WordPiece: greedy longest match, '##' continuations, [UNK] for an
    uncoverable word or one longer than 100 characters.

Case file format: one text per line; escapes \\\\ \\n \\t \\r \\xHH (a raw
byte, may be invalid UTF-8) \\uXXXX \\UXXXXXXXX. Lines starting with '#:' are
comments. Output: one line per case, the ids separated by spaces.
"""
import re
import sys
import unicodedata

SPECIAL_TOKENS = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
MAX_WORD_CHARS = 100


def unescape(line):
    out = bytearray()
    i = 0
    while i < len(line):
        ch = line[i]
        if ch != "\\":
            out += ch.encode("utf-8")
            i += 1
            continue
        kind = line[i + 1]
        if kind == "\\":
            out += b"\\"; i += 2
        elif kind == "n":
            out += b"\n"; i += 2
        elif kind == "t":
            out += b"\t"; i += 2
        elif kind == "r":
            out += b"\r"; i += 2
        elif kind == "x":
            out.append(int(line[i + 2:i + 4], 16)); i += 4
        elif kind == "u":
            out += chr(int(line[i + 2:i + 6], 16)).encode("utf-8", "surrogatepass"); i += 6
        elif kind == "U":
            out += chr(int(line[i + 2:i + 10], 16)).encode("utf-8"); i += 10
        else:
            raise ValueError("bad escape in %r" % line)
    return bytes(out)


def read_cases(path):
    with open(path, encoding="utf-8") as f:
        return [unescape(l.rstrip("\n")) for l in f if not l.startswith("#:")]


def is_control(ch):
    if ch in "\t\n\r":
        return False
    return unicodedata.category(ch).startswith("C")


def is_whitespace(ch):
    return ch in " \t\n\r" or unicodedata.category(ch) == "Zs"


def is_punctuation(ch):
    cp = ord(ch)
    if 33 <= cp <= 47 or 58 <= cp <= 64 or 91 <= cp <= 96 or 123 <= cp <= 126:
        return True
    return unicodedata.category(ch).startswith("P")


CJK_RANGES = [(0x4E00, 0x9FFF), (0x3400, 0x4DBF), (0x20000, 0x2A6DF), (0x2A700, 0x2B73F),
              (0x2B740, 0x2B81F), (0x2B820, 0x2CEAF), (0xF900, 0xFAFF), (0x2F800, 0x2FA1F)]


def is_cjk(ch):
    cp = ord(ch)
    return any(lo <= cp <= hi for lo, hi in CJK_RANGES)


def basic_tokenize(text, lower):
    cleaned = []
    for ch in text:
        if ord(ch) in (0, 0xFFFD) or is_control(ch):
            continue
        if is_whitespace(ch):
            cleaned.append(" ")
        elif is_cjk(ch):
            cleaned.append(" " + ch + " ")
        else:
            cleaned.append(ch)
    words = []
    for token in "".join(cleaned).split():
        if lower:
            token = token.lower()
            token = "".join(c for c in unicodedata.normalize("NFD", token)
                            if unicodedata.category(c) != "Mn")
        current = ""
        for ch in token:
            if is_punctuation(ch):
                if current:
                    words.append(current)
                words.append(ch)
                current = ""
            else:
                current += ch
        if current:
            words.append(current)
    return words


def wordpiece(word, vocab):
    if len(word) > MAX_WORD_CHARS:
        return [vocab["[UNK]"]]
    pieces = []
    start = 0
    while start < len(word):
        for end in range(len(word), start, -1):
            piece = word[start:end] if start == 0 else "##" + word[start:end]
            if piece in vocab:
                pieces.append(vocab[piece])
                start = end
                break
        else:
            return [vocab["[UNK]"]]
    return pieces


def encode(data, vocab, lower):
    text = data.decode("utf-8", errors="ignore")
    pattern = "(" + "|".join(re.escape(s) for s in SPECIAL_TOKENS) + ")"
    ids = []
    for part in re.split(pattern, text):
        if part in SPECIAL_TOKENS:
            ids.append(vocab[part])
            continue
        for word in basic_tokenize(part, lower):
            ids.extend(wordpiece(word, vocab))
    return ids


def main():
    args = [a for a in sys.argv[1:] if a != "--cased"]
    lower = "--cased" not in sys.argv[1:]
    vocab_path, cases_path, out_path = args
    with open(vocab_path, encoding="utf-8") as f:
        vocab = {line.rstrip("\n"): i for i, line in enumerate(f)}
    with open(out_path, "w", encoding="utf-8") as out:
        for case in read_cases(cases_path):
            out.write(" ".join(map(str, encode(case, vocab, lower))) + "\n")


if __name__ == "__main__":
    main()
