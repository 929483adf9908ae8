package dev.dpn.kernels.cpu;

import dev.dpn.kernels.Backend;
import dev.dpn.tensors.DType;
import dev.dpn.tensors.Tensor;
import dev.dpn.tensors.TensorArena;
import java.lang.foreign.MemorySegment;

/**
 * A convolution with kernel = stride = P and no padding, as one matrix product: every patch is gathered into a
 * row of C·P·P values (im2col; 588 for CLIP's 3×14×14) and multiplied by the weight viewed as [D, C·P·P], so the
 * arithmetic is the backend's matmul.
 */
final class PatchEmbed {
    private PatchEmbed() {
    }

    static void patchEmbed(Parallel parallel, Backend backend, Tensor pixels, Tensor weight, Tensor bias, Tensor out) {
        int channels = pixels.intDim(0), height = pixels.intDim(1), width = pixels.intDim(2);
        int p = weight.intDim(2);
        int columns = width / p;
        int patches = (height / p) * columns;
        int patchSize = channels * p * p;
        MemorySegment image = pixels.data();
        // Scratch for this call only (vision runs once per image); a shared arena, since matmul reads it from
        // every thread of the team.
        try (TensorArena scratch = new TensorArena()) {
            Tensor rows = backend.allocate(scratch, DType.F32, patches, patchSize);
            MemorySegment gathered = rows.data();
            RowChunks.run(parallel, patches, patchSize, (from, to) -> {
                for (long patch = from; patch < to; patch++) {
                    long top = patch / columns * p, left = patch % columns * p;
                    for (int c = 0; c < channels; c++) {
                        for (int dy = 0; dy < p; dy++) {
                            long pixel = ((long) c * height + top + dy) * width + left;
                            long column = ((long) c * p + dy) * p;
                            MemorySegment.copy(image, pixel * Float.BYTES, gathered,
                                    (patch * patchSize + column) * Float.BYTES, (long) p * Float.BYTES);
                        }
                    }
                }
            });
            backend.matmul(rows, weight.reshape(weight.dim(0), patchSize), bias, out);
        }
    }
}
