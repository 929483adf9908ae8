package dev.dpn.kernels.cpu;

import dev.dpn.kernels.*;
import dev.dpn.tensors.Tensor;

final class Pooling {
    private Pooling() {
    }

    static void pool2d(Parallel parallel, PoolType type, Tensor x, int h, int w, int kh, int kw, Tensor out) {
        throw new UnsupportedOperationException("TODO");
    }
}
