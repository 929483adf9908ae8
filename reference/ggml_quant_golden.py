"""Golden blocks for BlockQuantizer: GGML's reference Q8_0 / Q4_0 rounding re-derived in numpy float32.

Follows ggml-quants.c (quantize_row_q8_0_ref, quantize_row_q4_0_ref): the scale d and its inverse are F32, the
block stores d as F16 (round to nearest even), q8 = roundf(x * (1/d)) (half away from zero), q4 = min(15,
(int8_t)(x * (1/d) + 8.5f)) (truncation). Writes one line per block: 32 input floats as F32 bit patterns, then the
Q8_0 block and the Q4_0 block as hex bytes.

    /usr/bin/python3 reference/ggml_quant_golden.py > tensors/src/test/resources/dev/dpn/tensors/ggml-blocks.txt
"""
import numpy as np

f32 = np.float32


def q8_0(x):
    d = f32(np.max(np.abs(x))) / f32(127)
    inv = f32(1) / d if d != 0 else f32(0)
    scaled = (x * inv).astype(np.float64)
    q = (np.sign(scaled) * np.floor(np.abs(scaled) + 0.5)).astype(np.int8)
    return np.float16(d).tobytes() + q.tobytes()


def q4_0(x):
    m = x[np.argmax(np.abs(x))]  # argmax returns the first of equal magnitudes, as the C loop's strict '<'
    d = f32(m) / f32(-8)
    inv = f32(1) / d if d != 0 else f32(0)
    q = np.minimum(15, np.trunc(x * inv + f32(8.5)).astype(np.int32)).astype(np.uint8)
    return np.float16(d).tobytes() + (q[:16] | (q[16:] << 4)).astype(np.uint8).tobytes()


def blocks():
    rng = np.random.default_rng(2026)
    for scale in (1e-3, 0.02, 1.0, 300.0):
        yield (rng.standard_normal(32) * scale).astype(f32)
    yield rng.uniform(-1, 1, 32).astype(f32)
    heavy = rng.standard_normal(32).astype(f32)
    heavy[7] = f32(-9.5)  # one outlier sets the scale
    yield heavy
    yield np.round(rng.uniform(-127, 127, 32)).astype(f32) / f32(2)  # many exact halves before rounding
    yield np.zeros(32, dtype=f32)


for x in blocks():
    assert x.dtype == f32
    bits = " ".join(f"{b:08x}" for b in x.view(np.uint32))
    print(f"{bits} | {q8_0(x).hex()} | {q4_0(x).hex()}")
