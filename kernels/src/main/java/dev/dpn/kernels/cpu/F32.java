package dev.dpn.kernels.cpu;

import dev.dpn.tensors.DType;
import java.lang.foreign.MemorySegment;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;

/**
 * The vector shape of the CPU kernels, and scalar access to little-endian F32 data by element index (unaligned:
 * tensor views and mapped files promise no alignment).
 *
 * <p>Vector loads and stores are written out where they are used rather than wrapped here: a vector passed to or
 * returned from a method that the JIT declines to inline (a large caller reaches its node budget, or the method
 * was compiled on its own first) is boxed on the heap, while the JDK's own vector methods are always inlined.
 * For the same reason the kernels keep their loops in small methods whose arguments are segments and scalars.
 */
final class F32 {
    /** The widest vectors the machine runs natively: 8 lanes with AVX2, 16 with AVX-512. */
    static final VectorSpecies<Float> SPECIES = FloatVector.SPECIES_PREFERRED;
    static final int LANES = SPECIES.length();

    private F32() {
    }

    static float get(MemorySegment segment, long index) {
        return segment.get(DType.FLOAT, index * Float.BYTES);
    }

    static void set(MemorySegment segment, long index, float value) {
        segment.set(DType.FLOAT, index * Float.BYTES, value);
    }
}
