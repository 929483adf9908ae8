package dev.dpn.runtime.model;

import dev.dpn.kernels.Backend;
import dev.dpn.tensors.Tensor;

/** {@code y = x·Wᵀ + b}: weight [out, in] as stored, bias [out] F32 or null. */
record Linear(Tensor weight, Tensor bias) {

    static Linear load(CheckpointWeights weights, String prefix, int in, int out, boolean hasBias) {
        return new Linear(weights.matrix(prefix + ".weight", out, in),
                hasBias ? weights.vector(prefix + ".bias", out) : null);
    }

    void apply(Backend backend, Tensor x, Tensor y) {
        backend.matmul(x, weight, bias, y);
    }
}
