package dev.dpn.kernels;

import dev.dpn.tensors.DType;
import dev.dpn.tensors.Tensor;
import dev.dpn.tensors.TensorArena;
import java.lang.foreign.MemorySegment;

/**
 * The operations model code runs, independent of where they run.
 *
 * <p>Conventions shared by every operation:
 * <ul>
 *   <li>Activations are F32, row-major; "rows" are all leading dimensions, the last dimension is the row length.</li>
 *   <li>Weight matrices ({@code w} of {@link #matmul}, embedding tables) may be F32, F16 or BF16 (matmul weights
 *       also Q8_0 or Q4_0) and are read as stored (zero copy from the mapped file); small parameter vectors
 *       (norm weights, biases) are F32.</li>
 *   <li>Outputs are written into caller-provided tensors; an output may alias an input where noted.</li>
 *   <li>Shapes and dtypes are checked on entry; a mismatch is an {@link IllegalArgumentException} naming both.</li>
 * </ul>
 * A backend is safe to call from one thread at a time; it parallelises each operation internally.
 *
 * <p>Tensors from {@link #allocate} may live in device memory that the host cannot read (see
 * {@link Tensor#onDevice}); model code reads results only through {@link #download}. Host tensors are accepted
 * wherever an operation reads weights or the input image.
 */
public interface Backend extends AutoCloseable {

    /** A short name for logs and benchmark tables ("cpu", "scalar", "cuda"). */
    String name();

    /** Allocates a zeroed tensor in memory this backend's kernels can use, owned by {@code arena}. */
    Tensor allocate(TensorArena arena, DType dtype, long... shape);

    /**
     * Copies the F32 tensor {@code src} into {@code dst[0, src.size())} on the host: how model code reads logits and
     * router probabilities. A host backend copies from the segment; a device backend waits for its queued work.
     */
    default void download(Tensor src, float[] dst) {
        Contracts.download(src, dst);
        MemorySegment.copy(src.data(), DType.FLOAT, 0, dst, 0, Math.toIntExact(src.size()));
    }

    /**
     * Waits until every operation queued so far has finished. Host backends finish each operation before returning;
     * a device backend queues them, so timing a stage takes this call at its end.
     */
    default void synchronize() {
    }

    /**
     * {@code y[m,n] = Σk x[m,k]·w[n,k] (+ bias[n])}: x [M,K] F32, w [N,K] F32/F16/BF16, or Q8_0/Q4_0 with K a
     * multiple of their 32-weight blocks (every row then starts on a block); bias [N] F32 or null.
     */
    void matmul(Tensor x, Tensor w, Tensor bias, Tensor y);

    /** Gathers rows {@code ids} of {@code table} [V,D] (any float dtype) into {@code out} [ids.length, D] F32. */
    void embed(Tensor table, int[] ids, Tensor out);

    /**
     * Element-wise copy with conversion into {@code out} of the same element count: from any float dtype into F32,
     * or from F32 into F16 (filling a key/value cache of {@link #kvCacheType} F16).
     */
    void copy(Tensor src, Tensor out);

    /** Per row: {@code out = x / sqrt(mean(x²) + eps) · weight}; out may alias x. */
    void rmsNorm(Tensor x, Tensor weight, float eps, Tensor out);

    /** Per row: {@code out = (x − mean) / sqrt(var + eps) · weight + bias} (biased variance); out may alias x. */
    void layerNorm(Tensor x, Tensor weight, Tensor bias, float eps, Tensor out);

    /** Per row, in place: {@code x = softmax(x · scale)} (max-subtracted). */
    void softmax(Tensor x, float scale);

    /** {@code out = f(x)} element-wise; out may alias x. */
    void activate(Activation f, Tensor x, Tensor out);

    /** {@code out = silu(gate) · up} element-wise (SwiGLU); out may alias gate or up. */
    void siluGate(Tensor gate, Tensor up, Tensor out);

    /** {@code out = a + b} element-wise (residual connections); out may alias a or b. */
    void add(Tensor a, Tensor b, Tensor out);

    /** {@code out = x · s} element-wise; out may alias x. */
    void scale(Tensor x, float s, Tensor out);

    /**
     * Rotary position embedding in place, HF "rotate_half" layout: within each head of {@code headDim},
     * element {@code i} pairs with {@code i + headDim/2} and rotates by {@code positions[t] · theta^(−2i/headDim)}.
     *
     * @param x         [T, heads·headDim]
     * @param positions one position per row of x (arbitrary, not necessarily contiguous)
     */
    void rope(Tensor x, int[] positions, int headDim, float theta);

    /**
     * Threads for work on the host outside the kernels, such as converting weights as a model loads: all cores
     * unless a backend runs its kernels on fewer.
     */
    default int hostThreads() {
        return Runtime.getRuntime().availableProcessors();
    }

    /**
     * The dtype this backend's {@link #attention} reads key/value caches in fastest, F32 or F16: model code
     * allocates its caches in it. F32 unless a backend says otherwise; every backend also reads F32 caches.
     */
    default DType kvCacheType() {
        return DType.F32;
    }

    /**
     * Multi-head scaled dot-product attention over the first {@code kvLength} rows of a key/value cache.
     *
     * <p>Query row {@code t} of T sits at cache position {@code kvLength − T + t}; when {@code causal} it attends to
     * cache rows {@code 0..kvLength−T+t}, otherwise to all {@code kvLength}. Query head h reads key/value head
     * {@code h / (heads / kvHeads)} (grouped-query attention; kvHeads = heads is plain multi-head).
     *
     * @param q   [T, heads·headDim]
     * @param k   [capacity ≥ kvLength, kvHeads·headDim], F32 or the backend's {@link #kvCacheType}
     * @param v   like k, same dtype
     * @param out [T, heads·headDim], must not alias q
     */
    void attention(Tensor q, Tensor k, Tensor v, int kvLength, int heads, int kvHeads, boolean causal, float scale,
                   Tensor out);

    /**
     * 2D pooling of a token grid: x [h·w, D] is a row-major (h, w) grid of D-channel tokens; the window is
     * kh×kw with stride equal to the window, no padding, floor division. out [(h/kh)·(w/kw), D], row-major.
     */
    void pool2d(PoolType type, Tensor x, int h, int w, int kh, int kw, Tensor out);

    /**
     * Depthwise 2D convolution of a token grid with window = stride, no padding, floor division, no bias: DPN's
     * conv experts. x [h·w, D] is a row-major (h, w) grid; out [(h/kh)·(w/kw), D], row-major, with
     * {@code out[oy·(w/kw) + ox, c] = Σ_{dy,dx} weight[dy, dx, c] · x[(oy·kh + dy)·w + ox·kw + dx, c]}.
     *
     * @param weight [kh, kw, D] F32: channels last, like the tokens (torch stores [D, 1, kh, kw])
     */
    void depthwiseConv2d(Tensor x, int h, int w, Tensor weight, Tensor out);

    /**
     * Convolutional patch embedding (CLIP's {@code patch_embedding}): kernel = stride = P, no padding.
     *
     * @param pixels [C, H, W] F32
     * @param weight [D, C, P, P] F32/F16/BF16
     * @param bias   [D] F32 or null
     * @param out    [(H/P)·(W/P), D], patches in row-major order
     */
    void patchEmbed(Tensor pixels, Tensor weight, Tensor bias, Tensor out);

    /** Releases worker threads and backend-owned memory. */
    @Override
    void close();
}
