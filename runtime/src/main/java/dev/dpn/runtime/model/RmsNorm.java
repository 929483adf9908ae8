package dev.dpn.runtime.model;

import dev.dpn.kernels.Backend;
import dev.dpn.tensors.Tensor;

/** Llama's RMSNorm over each row, with a learned scale. */
record RmsNorm(Tensor weight, float eps) {

    static RmsNorm load(CheckpointWeights weights, String prefix, int size, double eps) {
        return new RmsNorm(weights.vector(prefix + ".weight", size), (float) eps);
    }

    void apply(Backend backend, Tensor x, Tensor out) {
        backend.rmsNorm(x, weight, eps, out);
    }
}
