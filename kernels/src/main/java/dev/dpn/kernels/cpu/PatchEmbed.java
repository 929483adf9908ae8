package dev.dpn.kernels.cpu;

import dev.dpn.kernels.*;
import dev.dpn.tensors.Tensor;

final class PatchEmbed {
    private PatchEmbed() {
    }

    static void patchEmbed(Parallel parallel, Backend backend, Tensor pixels, Tensor weight, Tensor bias, Tensor out) {
        throw new UnsupportedOperationException("TODO");
    }
}
