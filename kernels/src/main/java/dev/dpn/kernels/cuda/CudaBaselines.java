package dev.dpn.kernels.cuda;

import dev.dpn.tensors.DType;
import dev.dpn.tensors.Tensor;
import dev.dpn.tensors.TensorArena;
import java.util.SplittableRandom;

/**
 * What the GPU does without dpn's model code, for {@code dpn bench} to compare with: cuBLAS alone at the prefill's
 * GEMM shapes and a read of device memory. Each returns an operation that queues its work; the caller times a batch
 * of them up to {@link CudaBackend#synchronize}.
 */
public final class CudaBaselines {
    /** Blocks of the read: enough to fill every multiprocessor many times over. */
    private static final int READ_BLOCKS = 132 * 16;

    private final CudaBackend backend;

    public CudaBaselines(CudaBackend backend) {
        this.backend = backend;
    }

    /**
     * {@code cublasGemmEx} of F16 x [m, k] and w [n, k] into F32 y, F32 accumulation, on random values (tensor cores
     * run faster on zeros), with tensors owned by {@code arena}.
     */
    public Runnable cublasGemm(TensorArena arena, int m, int n, int k) {
        Tensor x = randomF16(arena, m, k), w = randomF16(arena, n, k);
        Tensor y = backend.allocate(arena, DType.F32, m, n);
        return () -> backend.cublasGemmF16(m, n, k, x, w, y);
    }

    /** A read of {@code bytes} (rounded down to 16) of device memory, owned by {@code arena}. */
    public Runnable read(TensorArena arena, long bytes) {
        Tensor data = backend.allocate(arena, DType.F32, bytes / 16 * 4);
        Tensor partials = backend.allocate(arena, DType.F32, READ_BLOCKS);
        return () -> backend.readSum(data, partials);
    }

    private Tensor randomF16(TensorArena arena, int rows, int cols) {
        SplittableRandom random = new SplittableRandom(rows * 31L + cols);
        Tensor host = arena.allocate(DType.F32, rows, cols);
        for (long i = 0; i < host.size(); i++) {
            host.setFloat(i, (float) (random.nextDouble() * 2 - 1));
        }
        Tensor wide = backend.allocate(arena, DType.F32, rows, cols), narrow = backend.allocate(arena, DType.F16, rows,
                cols);
        backend.copy(host, wide);
        backend.toF16(wide, narrow);
        return narrow;
    }
}
