// The CUDA kernels of dev.dpn.kernels.cuda.CudaBackend: one per Backend operation that cuBLAS does not cover, with
// the semantics of reference/ScalarBackend (float accumulation instead of its double, stated per test).
// Compiled to PTX (kernels/pom.xml, profile "nvcc"); the PTX is committed under src/main/resources.
// Activations are F32 row-major; weight element types are the codes of CudaBackend.dtypeCode.
#include <cuda_fp16.h>
#include <cuda_bf16.h>

#define F32 0
#define F16 1
#define BF16 2
#define F64 3
#define Q8_0 4
#define Q4_0 5

typedef long long i64;

// Element i of a weight stored as dtype; Q8_0 and Q4_0 are GGML blocks of 32: an F16 scale, then the values.
__device__ __forceinline__ float load(const void *p, int dtype, i64 i) {
    switch (dtype) {
        case F32: return ((const float *) p)[i];
        case F16: return __half2float(((const __half *) p)[i]);
        case BF16: return __bfloat162float(((const __nv_bfloat16 *) p)[i]);
        case F64: return (float) ((const double *) p)[i];
        case Q8_0: {
            const unsigned char *block = (const unsigned char *) p + (i / 32) * 34;
            return __half2float(*(const __half *) block) * (float) ((const signed char *) block)[2 + i % 32];
        }
        default: {
            const unsigned char *block = (const unsigned char *) p + (i / 32) * 18;
            int j = (int) (i % 32);
            int packed = block[2 + j % 16];
            int nibble = j < 16 ? packed & 0x0F : packed >> 4;
            return __half2float(*(const __half *) block) * (float) (nibble - 8);
        }
    }
}

__device__ __forceinline__ float warp_sum(float v) {
    for (int offset = 16; offset > 0; offset >>= 1) v += __shfl_xor_sync(0xffffffff, v, offset);
    return v;
}

__device__ __forceinline__ float warp_max(float v) {
    for (int offset = 16; offset > 0; offset >>= 1) v = fmaxf(v, __shfl_xor_sync(0xffffffff, v, offset));
    return v;
}

// Sum (or max) over the block, returned to every thread; blockDim.x is a multiple of 32, at most 1024.
__device__ float block_reduce(float v, bool max) {
    __shared__ float partial[32];
    __shared__ float result;
    int lane = threadIdx.x % 32, warp = threadIdx.x / 32, warps = blockDim.x / 32;
    v = max ? warp_max(v) : warp_sum(v);
    if (lane == 0) partial[warp] = v;
    __syncthreads();
    if (warp == 0) {
        float w = lane < warps ? partial[lane] : (max ? -INFINITY : 0.0f);
        w = max ? warp_max(w) : warp_sum(w);
        if (lane == 0) result = w;
    }
    __syncthreads();
    float r = result;
    __syncthreads();
    return r;
}

#define GRID_STRIDE(i, n) for (i64 i = blockIdx.x * (i64) blockDim.x + threadIdx.x; i < (n); i += (i64) gridDim.x * blockDim.x)

extern "C" __global__ void convert_to_f32(const void *src, int dtype, float *out, i64 n) {
    GRID_STRIDE(i, n) out[i] = load(src, dtype, i);
}

// Activations narrowed to the weights' type for cublasGemmEx, which takes one input type for both matrices.
extern "C" __global__ void f32_to_narrow(const float *x, void *out, int dtype, i64 n) {
    if (dtype == F16) {
        GRID_STRIDE(i, n) ((__half *) out)[i] = __float2half_rn(x[i]);
    } else {
        GRID_STRIDE(i, n) ((__nv_bfloat16 *) out)[i] = __float2bfloat16_rn(x[i]);
    }
}

// Q8_0/Q4_0 weights widened to F16 for a cuBLAS prefill GEMM: one thread per 4 weights of a 32-weight block (the
// same 4 as in quantized_row_dot), so that neighbouring threads read neighbouring 16-bit words.
extern "C" __global__ void dequantize_f16(const unsigned char *src, int dtype, __half *out, i64 blocks) {
    int bytes = dtype == Q8_0 ? 34 : 18;
    GRID_STRIDE(idx, blocks * 8) {
        i64 b = idx / 8;
        int part = (int) (idx % 8);
        const unsigned short *words = (const unsigned short *) (src + b * bytes);
        float d = __half2float(__ushort_as_half(words[0]));
        __half2 *o = (__half2 *) (out + b * 32);
        if (dtype == Q8_0) {
            unsigned short lo = words[1 + 2 * part], hi = words[2 + 2 * part];
            o[2 * part] = __floats2half2_rn(d * (float) (signed char) (lo & 0xFF), d * (float) (signed char) (lo >> 8));
            o[2 * part + 1] = __floats2half2_rn(d * (float) (signed char) (hi & 0xFF),
                                                d * (float) (signed char) (hi >> 8));
        } else {
            unsigned short pair = words[1 + part];
            int b0 = pair & 0xFF, b1 = pair >> 8;
            o[part] = __floats2half2_rn(d * (float) ((b0 & 0x0F) - 8), d * (float) ((b1 & 0x0F) - 8));
            o[8 + part] = __floats2half2_rn(d * (float) ((b0 >> 4) - 8), d * (float) ((b1 >> 4) - 8));
        }
    }
}

extern "C" __global__ void embed(const void *table, int dtype, const int *ids, float *out, int d, int count) {
    GRID_STRIDE(i, (i64) count * d) out[i] = load(table, dtype, (i64) ids[i / d] * d + i % d);
}

// One block per row.
extern "C" __global__ void rms_norm(const float *x, const float *weight, float eps, float *out, int d) {
    const float *row = x + (i64) blockIdx.x * d;
    float squares = 0;
    for (int c = threadIdx.x; c < d; c += blockDim.x) squares += row[c] * row[c];
    float inv = rsqrtf(block_reduce(squares, false) / d + eps);
    float *o = out + (i64) blockIdx.x * d;
    for (int c = threadIdx.x; c < d; c += blockDim.x) o[c] = row[c] * inv * weight[c];
}

// One block per row; two passes (mean, then squared deviations) as in the reference.
extern "C" __global__ void layer_norm(const float *x, const float *weight, const float *bias, float eps, float *out,
                                      int d) {
    const float *row = x + (i64) blockIdx.x * d;
    float sum = 0;
    for (int c = threadIdx.x; c < d; c += blockDim.x) sum += row[c];
    float mean = block_reduce(sum, false) / d;
    float squares = 0;
    for (int c = threadIdx.x; c < d; c += blockDim.x) squares += (row[c] - mean) * (row[c] - mean);
    float inv = rsqrtf(block_reduce(squares, false) / d + eps);
    float *o = out + (i64) blockIdx.x * d;
    for (int c = threadIdx.x; c < d; c += blockDim.x) o[c] = (row[c] - mean) * inv * weight[c] + bias[c];
}

// One block per row, in place: x = softmax(x * scale), max-subtracted.
extern "C" __global__ void softmax_rows(float *x, float scale, int d) {
    float *row = x + (i64) blockIdx.x * d;
    float max = -INFINITY;
    for (int c = threadIdx.x; c < d; c += blockDim.x) max = fmaxf(max, row[c] * scale);
    max = block_reduce(max, true);
    float sum = 0;
    for (int c = threadIdx.x; c < d; c += blockDim.x) sum += expf(row[c] * scale - max);
    float inv = 1.0f / block_reduce(sum, false);
    for (int c = threadIdx.x; c < d; c += blockDim.x) row[c] = expf(row[c] * scale - max) * inv;
}

__device__ __forceinline__ float sigmoid(float v) {
    return 1.0f / (1.0f + expf(-v));
}

// f: the ordinal of dev.dpn.kernels.Activation (GELU, GELU_TANH, QUICK_GELU, SILU).
extern "C" __global__ void activate(int f, const float *x, float *out, i64 n) {
    GRID_STRIDE(i, n) {
        float v = x[i];
        switch (f) {
            case 0: out[i] = 0.5f * v * (1.0f + erff(v * 0.70710678118654752f)); break;
            case 1: out[i] = 0.5f * v * (1.0f + tanhf(0.79788456080286536f * (v + 0.044715f * v * v * v))); break;
            case 2: out[i] = v * sigmoid(1.702f * v); break;
            default: out[i] = v * sigmoid(v); break;
        }
    }
}

extern "C" __global__ void silu_gate(const float *gate, const float *up, float *out, i64 n) {
    GRID_STRIDE(i, n) out[i] = gate[i] * sigmoid(gate[i]) * up[i];
}

extern "C" __global__ void add(const float *a, const float *b, float *out, i64 n) {
    GRID_STRIDE(i, n) out[i] = a[i] + b[i];
}

extern "C" __global__ void scale(const float *x, float s, float *out, i64 n) {
    GRID_STRIDE(i, n) out[i] = x[i] * s;
}

// y[m, n] += bias[n] after a cuBLAS GEMM.
extern "C" __global__ void add_bias(float *y, const float *bias, int n, i64 total) {
    GRID_STRIDE(i, total) y[i] += bias[i % n];
}

// rotate_half RoPE in place, one thread per (token, head, i < headDim/2); the angle in double, as the reference.
// Token t's position is positions[t], or first + t when positions is null (consecutive: nothing to upload).
extern "C" __global__ void rope(float *x, const int *positions, int first, int tokens, int width, int head_dim,
                                float theta) {
    int half = head_dim / 2, heads = width / head_dim;
    GRID_STRIDE(idx, (i64) tokens * heads * half) {
        int i = (int) (idx % half);
        i64 th = idx / half;
        int head = (int) (th % heads), t = (int) (th / heads);
        double angle = (positions ? positions[t] : first + t) * pow((double) theta, -2.0 * i / head_dim);
        double s, c;
        sincos(angle, &s, &c);
        float *base = x + (i64) t * width + (i64) head * head_dim;
        float a = base[i], b = base[i + half];
        base[i] = (float) (a * c - b * s);
        base[i + half] = (float) (b * c + a * s);
    }
}

// One block per (query row, head). Query row t sits at cache position kv_length - tokens + t (causal: it sees
// rows up to there). Dynamic shared memory holds the scores [kv_length], then one partial output per thread group
// [groups][head_dim]. A warp takes one key at a time, its lanes splitting head_dim, so each key row is read
// contiguously; for the values the block splits into groups of head_dim threads, each summing every groups-th
// position, and the groups' partials are added at the end.
extern "C" __global__ void attention(const float *q, const float *k, const float *v, int kv_length, int tokens,
                                     int heads, int kv_heads, int head_dim, int causal, float scale, float *out) {
    extern __shared__ float shared[];
    float *scores = shared, *partials = shared + kv_length;
    int t = blockIdx.x, h = blockIdx.y;
    int lane = threadIdx.x % 32, warp = threadIdx.x / 32, warps = blockDim.x / 32;
    int visible = causal ? kv_length - tokens + t + 1 : kv_length;
    int kv_head = h / (heads / kv_heads);
    int q_width = heads * head_dim, kv_width = kv_heads * head_dim;
    const float *query = q + (i64) t * q_width + (i64) h * head_dim;
    for (int s = warp; s < visible; s += warps) {
        const float *key = k + (i64) s * kv_width + (i64) kv_head * head_dim;
        float dot = 0;
        for (int i = lane; i < head_dim; i += 32) dot += query[i] * key[i];
        dot = warp_sum(dot);
        if (lane == 0) scores[s] = dot * scale;
    }
    __syncthreads();
    float top = -INFINITY;
    for (int s = threadIdx.x; s < visible; s += blockDim.x) top = fmaxf(top, scores[s]);
    top = block_reduce(top, true);
    float sum = 0;
    for (int s = threadIdx.x; s < visible; s += blockDim.x) {
        scores[s] = expf(scores[s] - top);
        sum += scores[s];
    }
    float inv = 1.0f / block_reduce(sum, false);
    int groups = max(1, (int) blockDim.x / head_dim), group = threadIdx.x / head_dim, i = threadIdx.x % head_dim;
    const float *values = v + (i64) kv_head * head_dim;
    float *o = out + (i64) t * q_width + (i64) h * head_dim;
    if (groups == 1) {
        for (int c = threadIdx.x; c < head_dim; c += blockDim.x) {
            float acc = 0;
            for (int s = 0; s < visible; s++) acc += scores[s] * values[(i64) s * kv_width + c];
            o[c] = acc * inv;
        }
        return;
    }
    if (group < groups) {
        float acc = 0;
        for (int s = group; s < visible; s += groups) acc += scores[s] * values[(i64) s * kv_width + i];
        partials[group * head_dim + i] = acc;
    }
    __syncthreads();
    for (int c = threadIdx.x; c < head_dim; c += blockDim.x) {
        float acc = 0;
        for (int g = 0; g < groups; g++) acc += partials[g * head_dim + c];
        o[c] = acc * inv;
    }
}

// Window = stride pooling of an (h, w) grid of d-channel tokens; one thread per (output token, channel).
extern "C" __global__ void pool2d(int is_max, const float *x, int h, int w, int kh, int kw, int d, float *out) {
    int out_w = w / kw;
    GRID_STRIDE(idx, (i64) (h / kh) * out_w * d) {
        int c = (int) (idx % d);
        int cell = (int) (idx / d), oy = cell / out_w, ox = cell % out_w;
        float acc = is_max ? -INFINITY : 0.0f;
        for (int dy = 0; dy < kh; dy++) {
            for (int dx = 0; dx < kw; dx++) {
                float value = x[((i64) (oy * kh + dy) * w + ox * kw + dx) * d + c];
                acc = is_max ? fmaxf(acc, value) : acc + value;
            }
        }
        out[idx] = is_max ? acc : acc / (kh * kw);
    }
}

// DPN's conv experts: depthwise, window = stride, weight [kh, kw, d]; one thread per (output token, channel).
extern "C" __global__ void depthwise_conv2d(const float *x, int h, int w, const float *weight, int kh, int kw, int d,
                                            float *out) {
    int out_w = w / kw;
    GRID_STRIDE(idx, (i64) (h / kh) * out_w * d) {
        int c = (int) (idx % d);
        int cell = (int) (idx / d), oy = cell / out_w, ox = cell % out_w;
        float sum = 0;
        for (int dy = 0; dy < kh; dy++) {
            for (int dx = 0; dx < kw; dx++) {
                sum += x[((i64) (oy * kh + dy) * w + ox * kw + dx) * d + c] * weight[(dy * kw + dx) * d + c];
            }
        }
        out[idx] = sum;
    }
}

// CLIP's patch embedding, kernel = stride = p; one thread per (patch, output channel); bias may be null.
extern "C" __global__ void patch_embed(const float *pixels, const void *weight, int dtype, const float *bias,
                                       int channels, int height, int width, int dim, int p, float *out) {
    int cols = width / p;
    GRID_STRIDE(idx, (i64) (height / p) * cols * dim) {
        int o = (int) (idx % dim), patch = (int) (idx / dim), py = patch / cols, px = patch % cols;
        float sum = bias ? bias[o] : 0.0f;
        for (int c = 0; c < channels; c++) {
            for (int dy = 0; dy < p; dy++) {
                const float *pixel = pixels + ((i64) c * height + py * p + dy) * width + px * p;
                i64 w = (((i64) o * channels + c) * p + dy) * p;
                for (int dx = 0; dx < p; dx++) sum += pixel[dx] * load(weight, dtype, w + dx);
            }
        }
        out[idx] = sum;
    }
}

// Dot product of one Q8_0/Q4_0 weight row with x over k, by the 32 lanes of a warp; the sum is in every lane.
// Eight lanes share a 32-weight block, 4 weights each, so a warp reads 4 consecutive blocks (136 or 72 bytes) per
// step, coalesced, in 16-bit words (a block is 34 or 18 bytes: 2-byte aligned only). Q8_0 lane p takes quantized
// bytes 4p..4p+3; Q4_0 lane p bytes 2p and 2p+1, whose low nibbles are weights 2p, 2p+1 and high ones 16+2p, 17+2p.
__device__ float quantized_row_dot(const float *x, const unsigned char *row, int dtype, int k, int lane) {
    int bytes = dtype == Q8_0 ? 34 : 18, part = lane % 8;
    float sum = 0;
#pragma unroll 4
    for (int b = lane / 8; b < k / 32; b += 4) {
        const unsigned short *words = (const unsigned short *) (row + (i64) b * bytes);
        const float *xb = x + b * 32;
        float d = __half2float(__ushort_as_half(words[0])), partial;
        if (dtype == Q8_0) {
            unsigned short lo = words[1 + 2 * part], hi = words[2 + 2 * part];
            float4 xv = *(const float4 *) (xb + 4 * part);
            partial = xv.x * (float) (signed char) (lo & 0xFF) + xv.y * (float) (signed char) (lo >> 8)
                    + xv.z * (float) (signed char) (hi & 0xFF) + xv.w * (float) (signed char) (hi >> 8);
        } else {
            unsigned short pair = words[1 + part];
            int b0 = pair & 0xFF, b1 = pair >> 8;
            float2 low = *(const float2 *) (xb + 2 * part), high = *(const float2 *) (xb + 16 + 2 * part);
            partial = low.x * (float) ((b0 & 0x0F) - 8) + low.y * (float) ((b1 & 0x0F) - 8)
                    + high.x * (float) ((b0 >> 4) - 8) + high.y * (float) ((b1 >> 4) - 8);
        }
        sum += d * partial;
    }
    return warp_sum(sum);
}

// Dot product of one weight row with x over k, by the 32 lanes of a warp; the full sum is in every lane.
// F16/BF16 rows are read 8 values (16 bytes) per lane and step when k and the row allow it, F32 rows 4.
__device__ float row_dot(const float *x, const void *w, int dtype, i64 row, int k, int lane) {
    if (dtype == Q8_0 || dtype == Q4_0) {
        return quantized_row_dot(x, (const unsigned char *) w + row * (k / 32) * (dtype == Q8_0 ? 34 : 18), dtype, k,
                                 lane);
    }
    float sum = 0;
    const char *base = (const char *) w + row * k * (dtype == F32 ? 4 : dtype == F64 ? 8 : 2);
    bool aligned = ((unsigned long long) base & 15) == 0 && ((unsigned long long) x & 15) == 0;
    if ((dtype == F16 || dtype == BF16) && aligned && k % 8 == 0) {
        const uint4 *w8 = (const uint4 *) base;
        const float4 *x4 = (const float4 *) x;
#pragma unroll 4
        for (int j = lane; j < k / 8; j += 32) {
            uint4 packed = w8[j];
            float4 a = x4[2 * j], c = x4[2 * j + 1];
            float2 p0, p1, p2, p3;
            if (dtype == F16) {
                p0 = __half22float2(*(const __half2 *) &packed.x);
                p1 = __half22float2(*(const __half2 *) &packed.y);
                p2 = __half22float2(*(const __half2 *) &packed.z);
                p3 = __half22float2(*(const __half2 *) &packed.w);
            } else {
                p0 = __bfloat1622float2(*(const __nv_bfloat162 *) &packed.x);
                p1 = __bfloat1622float2(*(const __nv_bfloat162 *) &packed.y);
                p2 = __bfloat1622float2(*(const __nv_bfloat162 *) &packed.z);
                p3 = __bfloat1622float2(*(const __nv_bfloat162 *) &packed.w);
            }
            sum += a.x * p0.x + a.y * p0.y + a.z * p1.x + a.w * p1.y + c.x * p2.x + c.y * p2.y + c.z * p3.x
                    + c.w * p3.y;
        }
    } else if (dtype == F32 && aligned && k % 4 == 0) {
        const float4 *w4 = (const float4 *) base, *x4 = (const float4 *) x;
        for (int j = lane; j < k / 4; j += 32) {
            float4 a = x4[j], b = w4[j];
            sum += a.x * b.x + a.y * b.y + a.z * b.z + a.w * b.w;
        }
    } else {
        for (int j = lane; j < k; j += 32) sum += x[j] * load(w, dtype, row * k + j);
    }
    return warp_sum(sum);
}

// y[m, n] = x[m, :] . w[n, :] (+ bias[n]) for few rows m (decode): one warp per (n, m), reading its weight row
// contiguously; grid.y walks the rows of x.
extern "C" __global__ void gemv(const float *x, const void *w, int dtype, const float *bias, float *y, int m, int n,
                                int k) {
    int lane = threadIdx.x % 32;
    int row = blockIdx.x * (blockDim.x / 32) + threadIdx.x / 32;
    int r = blockIdx.y;
    if (row >= n || r >= m) return;
    float sum = row_dot(x + (i64) r * k, w, dtype, row, k, lane);
    if (lane == 0) y[(i64) r * n + row] = sum + (bias ? bias[row] : 0.0f);
}

// One partial sum per block of a grid-stride read of n4 float4s: the device's read bandwidth, for dpn bench.
extern "C" __global__ void read_sum(const float4 *x, i64 n4, float *partials) {
    float sum = 0;
    GRID_STRIDE(i, n4) {
        float4 v = x[i];
        sum += v.x + v.y + v.z + v.w;
    }
    sum = block_reduce(sum, false);
    if (threadIdx.x == 0) partials[blockIdx.x] = sum;
}
