package dev.dpn.kernels.cpu;

import dev.dpn.kernels.*;
import dev.dpn.tensors.Tensor;

final class Activations {
    private Activations() {
    }

    static void activate(Parallel parallel, Activation f, Tensor x, Tensor out) {
        throw new UnsupportedOperationException("TODO");
    }

    static void siluGate(Parallel parallel, Tensor gate, Tensor up, Tensor out) {
        throw new UnsupportedOperationException("TODO");
    }
}
