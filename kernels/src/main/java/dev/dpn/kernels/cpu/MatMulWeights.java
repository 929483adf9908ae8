package dev.dpn.kernels.cpu;

import dev.dpn.tensors.DType;
import java.lang.foreign.MemorySegment;
import java.nio.ByteOrder;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.ShortVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorShape;
import jdk.incubator.vector.VectorSpecies;

/**
 * Reads matmul weights, stored as F32, F16 or BF16, as F32 vectors. Weights come straight from a (possibly mapped)
 * file, so every load is little-endian and tolerates any byte alignment.
 */
final class MatMulWeights {
    /** The widest vectors of the CPU: 8 floats with AVX2, 16 with AVX-512. */
    static final VectorSpecies<Float> F = FloatVector.SPECIES_PREFERRED;
    /** Half-width shorts: one F32 vector's worth of 16-bit weights. */
    private static final VectorSpecies<Short> HALVES =
            VectorSpecies.of(short.class, VectorShape.forBitSize(F.vectorBitSize() / 2));
    private static final VectorSpecies<Integer> INTS = F.withLanes(int.class);
    private static final ByteOrder LE = ByteOrder.LITTLE_ENDIAN;

    private MatMulWeights() {
    }

    /** {@code F.length()} weights of {@code type} starting at element {@code index} of {@code w}. */
    static FloatVector load(DType type, MemorySegment w, long index) {
        return switch (type) {
            case F16 -> f16(w, index);
            case BF16 -> bf16(w, index);
            default -> FloatVector.fromMemorySegment(F, w, index * 4, LE);
        };
    }

    /** Decodes {@code count} weights starting at element {@code index} of {@code w} into {@code out}. */
    static void decode(DType type, MemorySegment w, long index, float[] out, int count) {
        int i = 0;
        for (; i < F.loopBound(count); i += F.length()) {
            load(type, w, index + i).intoArray(out, i);
        }
        for (; i < count; i++) {
            out[i] = type.getFloat(w, index + i);
        }
    }

    /**
     * F16 → F32 with integer arithmetic (the Vector API has no half-float conversion). Sign-extended to 32 bits and
     * shifted left by 13, an F16 has its sign in bit 31 (copies of it in bits 28-30, masked off) and its exponent
     * and mantissa where F32 keeps them; scaling by 2^112, the difference of the exponent biases, then gives
     * normals and subnormals exactly, sign included. Inf and NaN (exponent 31) would land on finite values, so
     * their exponent is forced to all ones.
     */
    private static FloatVector f16(MemorySegment w, long index) {
        IntVector bits = widen(w, index);
        FloatVector value = bits.lanewise(VectorOperators.LSHL, 13).and(0x8FFFE000).reinterpretAsFloats()
                .mul(0x1p112f);
        var infNan = (IntVector) bits.and(0x7FFF).compare(VectorOperators.GT, 0x7BFF).toVector();
        return value.reinterpretAsInts().or(infNan.and(0x7F800000)).reinterpretAsFloats();
    }

    /** BF16 is the upper half of an F32. */
    private static FloatVector bf16(MemorySegment w, long index) {
        return widen(w, index).lanewise(VectorOperators.LSHL, 16).reinterpretAsFloats();
    }

    /** 16-bit weights sign-extended into int lanes. */
    private static IntVector widen(MemorySegment w, long index) {
        return (IntVector) ShortVector.fromMemorySegment(HALVES, w, index * 2, LE)
                .convertShape(VectorOperators.S2I, INTS, 0);
    }
}
