package dev.dpn.kernels.cpu;

import dev.dpn.tensors.Tensor;
import java.lang.foreign.MemorySegment;

/**
 * {@code y[m,n] = Σk x[m,k]·w[n,k] (+ bias[n])}. A few rows of x make a memory-bound matrix-vector product
 * ({@link Gemv}); more rows reuse every weight many times, which the cache-blocked {@link Gemm} exploits.
 */
final class MatMul {
    /** Up to this many rows, streaming the weights once beats packing them. */
    static final int GEMV_MAX_ROWS = 4;

    private MatMul() {
    }

    static void matmul(Parallel parallel, Tensor x, Tensor w, Tensor bias, Tensor y, int m, int n, int k) {
        MemorySegment b = bias == null ? null : bias.data();
        if (m <= GEMV_MAX_ROWS) {
            Gemv.gemv(parallel, x.data(), w.data(), w.dtype(), b, y.data(), m, n, k);
        } else {
            Gemm.gemm(parallel, x.data(), w.data(), w.dtype(), b, y.data(), m, n, k);
        }
    }
}
