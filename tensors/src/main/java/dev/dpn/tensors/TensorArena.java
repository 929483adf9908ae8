package dev.dpn.tensors;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;

/**
 * Owns off-heap tensors and releases them all, deterministically, on {@link #close()}.
 *
 * <p>Backed by a shared {@link Arena} so kernels may touch the tensors from worker threads. Allocations are
 * aligned to 64 bytes (one cache line, two AVX2 vectors) and zero-filled.
 */
public final class TensorArena implements AutoCloseable {
    /** Alignment of every allocation: a cache line. */
    public static final long ALIGNMENT = 64;

    private final Arena arena;

    public TensorArena() {
        this(Arena.ofShared());
    }

    /** Allocates from an existing arena, which the caller keeps owning unless it closes this. */
    public TensorArena(Arena arena) {
        this.arena = arena;
    }

    public Tensor allocate(DType dtype, long... shape) {
        long bytes = dtype.byteSize(Tensor.elementCount(shape));
        MemorySegment segment = arena.allocate(Math.max(bytes, 1), ALIGNMENT).asSlice(0, bytes);
        return Tensor.of(segment, dtype, shape);
    }

    /** An F32 tensor holding {@code values}. */
    public Tensor of(float[] values, long... shape) {
        return allocate(DType.F32, shape).copyFrom(values);
    }

    /** The arena itself, for mapping files or allocating non-tensor scratch with the same lifetime. */
    public Arena arena() {
        return arena;
    }

    @Override
    public void close() {
        arena.close();
    }
}
