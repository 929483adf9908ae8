package dev.dpn.kernels.cpu;

import dev.dpn.kernels.*;
import dev.dpn.tensors.Tensor;

final class Softmax {
    private Softmax() {
    }

    static void softmax(Parallel parallel, Tensor x, float scale) {
        throw new UnsupportedOperationException("TODO");
    }
}
