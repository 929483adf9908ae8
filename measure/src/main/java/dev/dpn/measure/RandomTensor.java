package dev.dpn.measure;

import dev.dpn.tensors.BlockQuantizer;
import dev.dpn.tensors.DType;
import dev.dpn.tensors.Tensor;
import dev.dpn.tensors.TensorArena;
import java.lang.foreign.Arena;
import java.util.SplittableRandom;

/** Benchmark operands: off-heap tensors of seeded uniform values, so every run multiplies the same numbers. */
public final class RandomTensor {
    private RandomTensor() {
    }

    /**
     * A {@code dtype} tensor of {@code shape} in {@code arena}, filled with values uniform in [-1, 1); Q8_0 and
     * Q4_0 tensors hold those values quantized, as {@code dpn quantize} would write them.
     */
    public static Tensor allocate(TensorArena arena, DType dtype, long seed, long... shape) {
        if (dtype.isQuantized()) {
            Tensor t = arena.allocate(dtype, shape);
            try (TensorArena scratch = new TensorArena(Arena.ofConfined())) {
                BlockQuantizer.quantize(allocate(scratch, DType.F32, seed, shape), t);
            }
            return t;
        }
        Tensor t = arena.allocate(dtype, shape);
        SplittableRandom random = new SplittableRandom(seed);
        for (long i = 0; i < t.size(); i++) {
            t.setFloat(i, (float) random.nextDouble(-1, 1));
        }
        return t;
    }
}
