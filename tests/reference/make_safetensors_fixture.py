#!/usr/bin/python3
"""make_safetensors_fixture.py — writes tests/reference/fixture.safetensors, a
small safetensors file built from the published format description with only
struct and json (independently of bert.c's writer), for tests/test_safetensors.c.

Layout: u64 little-endian header length N, N bytes of JSON header (padded with
spaces so the data starts 8-byte aligned), then the tensors back to back, in
the reference writer's order (dtype by decreasing alignment, then name).

The values are hard-coded in the C test; change both together.
Run: /usr/bin/python3 tests/reference/make_safetensors_fixture.py
"""
import json
import os
import struct


def f32_bytes(values):
    return b"".join(struct.pack("<f", v) for v in values)


def f16_bytes(values):
    return b"".join(struct.pack("<e", v) for v in values)


def bf16_bytes(values):
    # bfloat16 is the upper 16 bits of a float32; these values are exact in bf16.
    out = b""
    for v in values:
        bits = struct.unpack("<I", struct.pack("<f", v))[0]
        assert bits & 0xFFFF == 0, v
        out += struct.pack("<H", bits >> 16)
    return out


inf = float("inf")
tensors = [
    # name, dtype, shape, bytes (in the reference writer's order: I64/F64, F32, BF16/F16, BOOL)
    ("f64", "F64", [2], b"".join(struct.pack("<d", v) for v in [0.1, -12345.678])),
    ("i64", "I64", [3], b"".join(struct.pack("<q", v) for v in [0, -7, 2147483647])),
    ("f32", "F32", [2, 3], f32_bytes([1.5, -2.25, 3.0e-8, 1.0e30, -0.0, 0.1])),
    # 2**-24 is the smallest F16 subnormal, 1023 * 2**-24 the largest; 65504 the largest finite.
    ("f16", "F16", [7], f16_bytes([1.0, -2.5, 2.0**-24, 1023 * 2.0**-24, 65504.0, inf, -0.0])),
    ("bf16", "BF16", [2, 2], bf16_bytes([1.0, -3.5, 0.15625, 2.0**-130])),
    ("mask", "BOOL", [4], bytes([1, 0, 0, 1])),
]

header = {"__metadata__": {"format": "pt", "producer": "make_safetensors_fixture.py"}}
offset = 0
for name, dtype, shape, data in tensors:
    header[name] = {"dtype": dtype, "shape": shape, "data_offsets": [offset, offset + len(data)]}
    offset += len(data)
text = json.dumps(header, separators=(",", ":")).encode("utf-8")
text += b" " * (-len(text) % 8)

path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "fixture.safetensors")
with open(path, "wb") as f:
    f.write(struct.pack("<Q", len(text)))
    f.write(text)
    for _, _, _, data in tensors:
        f.write(data)
print("wrote", path, 8 + len(text) + offset, "bytes")
