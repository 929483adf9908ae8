package dev.dpn.kernels.cpu;

import dev.dpn.kernels.*;
import dev.dpn.tensors.Tensor;

final class Elementwise {
    private Elementwise() {
    }

    static void add(Parallel parallel, Tensor a, Tensor b, Tensor out) {
        throw new UnsupportedOperationException("TODO");
    }

    static void scale(Parallel parallel, Tensor x, float s, Tensor out) {
        throw new UnsupportedOperationException("TODO");
    }
}
