package dev.dpn.kernels.cpu;

import dev.dpn.kernels.*;
import dev.dpn.tensors.Tensor;

final class Rope {
    private Rope() {
    }

    static void rope(Parallel parallel, Tensor x, int[] positions, int headDim, float theta) {
        throw new UnsupportedOperationException("TODO");
    }
}
