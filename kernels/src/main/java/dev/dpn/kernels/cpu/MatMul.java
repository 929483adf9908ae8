package dev.dpn.kernels.cpu;

import dev.dpn.kernels.*;
import dev.dpn.tensors.Tensor;

final class MatMul {
    private MatMul() {
    }

    static void matmul(Parallel parallel, Tensor x, Tensor w, Tensor bias, Tensor y, int m, int n, int k) {
        throw new UnsupportedOperationException("TODO");
    }
}
