package dev.dpn.kernels.cpu;

import dev.dpn.tensors.DType;
import dev.dpn.tensors.Tensor;
import dev.dpn.tensors.TensorArena;
import java.lang.foreign.MemorySegment;
import java.util.Random;

/** Reproducible tensors for comparing the CPU kernels with the scalar reference; all freed on close. */
final class TestTensors implements AutoCloseable {
    private final TensorArena arena = new TensorArena();
    private final Random random;

    TestTensors(long seed) {
        this.random = new Random(seed);
    }

    Random random() {
        return random;
    }

    Tensor uniform(float from, float to, long... shape) {
        return uniform(DType.F32, from, to, shape);
    }

    /** Values uniform in [from, to), rounded to {@code dtype}. */
    Tensor uniform(DType dtype, float from, float to, long... shape) {
        Tensor t = arena.allocate(dtype, shape);
        for (long i = 0; i < t.size(); i++) {
            t.setFloat(i, from + (to - from) * random.nextFloat());
        }
        return t;
    }

    Tensor zeros(long... shape) {
        return arena.allocate(DType.F32, shape);
    }

    /** A copy in new memory, for operations that work in place. */
    Tensor copyOf(Tensor t) {
        Tensor copy = arena.allocate(t.dtype(), t.shape());
        MemorySegment.copy(t.data(), 0, copy.data(), 0, t.byteSize());
        return copy;
    }

    @Override
    public void close() {
        arena.close();
    }
}
