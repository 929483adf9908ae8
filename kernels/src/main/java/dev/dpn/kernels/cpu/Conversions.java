package dev.dpn.kernels.cpu;

import dev.dpn.tensors.DType;
import dev.dpn.tensors.Tensor;
import java.lang.foreign.MemorySegment;
import java.nio.ByteOrder;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.ShortVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorShape;
import jdk.incubator.vector.VectorSpecies;

/**
 * Float data of any stored dtype into F32: embedding rows gathered from a table, and whole-tensor copies; and F32
 * into F16, the key/value cache's type.
 */
final class Conversions {
    /** BF16 values, as many as F32.SPECIES has lanes. */
    private static final VectorSpecies<Short> BF16_LANES =
            VectorSpecies.of(short.class, VectorShape.forBitSize(F32.LANES * Short.SIZE));
    private static final VectorSpecies<Integer> INT_LANES = F32.SPECIES.withLanes(int.class);

    private Conversions() {
    }

    static void embed(Tensor table, int[] ids, Tensor out) {
        long d = table.dim(1);
        for (int t = 0; t < ids.length; t++) {
            toF32(table.dtype(), table.data(), ids[t] * d, out.data(), t * d, d);
        }
    }

    static void copy(Tensor src, Tensor out) {
        if (out.dtype() == DType.F16) {
            toF16(src.data(), out.data(), src.size());
        } else {
            toF32(src.dtype(), src.data(), 0, out.data(), 0, src.size());
        }
    }

    /** The scalar conversion is an intrinsic; a decode step converts one row of keys and values per layer. */
    private static void toF16(MemorySegment src, MemorySegment dst, long count) {
        for (long i = 0; i < count; i++) {
            dst.set(DType.SHORT, i * Short.BYTES, Float.floatToFloat16(F32.get(src, i)));
        }
    }

    /** Converts {@code count} elements of {@code src} from index {@code from} into {@code dst} from {@code to}. */
    private static void toF32(DType type, MemorySegment src, long from, MemorySegment dst, long to, long count) {
        switch (type) {
            case F32 -> MemorySegment.copy(src, from * Float.BYTES, dst, to * Float.BYTES, count * Float.BYTES);
            case BF16 -> bf16ToF32(src, from, dst, to, count);
            // F16 (the JDK has no vector half-float conversion; the scalar one is an intrinsic) and F64.
            default -> {
                for (long i = 0; i < count; i++) {
                    F32.set(dst, to + i, type.getFloat(src, from + i));
                }
            }
        }
    }

    /** A BF16 value is the upper half of the F32 with the same bits. */
    private static void bf16ToF32(MemorySegment src, long from, MemorySegment dst, long to, long count) {
        long i = 0;
        for (long bound = F32.SPECIES.loopBound(count); i < bound; i += F32.LANES) {
            ShortVector bits = ShortVector.fromMemorySegment(BF16_LANES, src, (from + i) * Short.BYTES,
                    ByteOrder.LITTLE_ENDIAN);
            FloatVector values = ((IntVector) bits.convertShape(VectorOperators.S2I, INT_LANES, 0))
                    .lanewise(VectorOperators.LSHL, 16)
                    .reinterpretAsFloats();
            values.intoMemorySegment(dst, (to + i) * Float.BYTES, ByteOrder.LITTLE_ENDIAN);
        }
        for (; i < count; i++) {
            F32.set(dst, to + i, DType.BF16.getFloat(src, from + i));
        }
    }
}
