package dev.dpn.kernels.cpu;

import dev.dpn.tensors.Tensor;
import java.lang.foreign.MemorySegment;

/**
 * {@code y[m,n] = Σk x[m,k]·w[n,k] (+ bias[n])}. A few rows of x make a memory-bound matrix-vector product
 * ({@link Gemv}); more rows reuse every weight many times, which the cache-blocked {@link Gemm} exploits.
 */
final class MatMul {
    /**
     * Up to this many rows, streaming the weights once beats packing them: measured at N = K = 4096 on 1 and 2
     * threads, with AVX2 and AVX-512, streaming wins for F32 and BF16 up to 8 rows and ties for F16 at 5 and 6.
     */
    static final int GEMV_MAX_ROWS = 6;

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
