package dev.dpn.kernels.cpu;

import dev.dpn.tensors.DType;
import java.lang.foreign.MemorySegment;
import java.nio.ByteOrder;
import jdk.incubator.vector.ByteVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.ShortVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorShape;
import jdk.incubator.vector.VectorSpecies;

/**
 * Reads matmul weights, stored as F32, F16, BF16, Q8_0 or Q4_0, as F32 vectors. Weights come straight from a
 * (possibly mapped) file, so every load is little-endian and tolerates any byte alignment.
 */
final class MatMulWeights {
    /** The widest vectors of the CPU: 8 floats with AVX2, 16 with AVX-512. */
    static final VectorSpecies<Float> F = FloatVector.SPECIES_PREFERRED;
    /** Half-width shorts: one F32 vector's worth of 16-bit weights. */
    static final VectorSpecies<Short> HALVES =
            VectorSpecies.of(short.class, VectorShape.forBitSize(F.vectorBitSize() / 2));
    static final VectorSpecies<Integer> INTS = F.withLanes(int.class);
    /**
     * Quarter-width bytes: one F32 vector's worth of 8-bit weights (Q8_0 values, Q4_0 nibble pairs). The quantized
     * loops need F32 vectors of 256 bits or more (the project's AVX2 and AVX-512 targets): there is no 32-bit species
     * for 128-bit ones, and the floor of 64 bits only keeps this class usable there for the other weight types.
     */
    static final VectorSpecies<Byte> QUARTERS =
            VectorSpecies.of(byte.class, VectorShape.forBitSize(Math.max(64, F.vectorBitSize() / 4)));
    /** Weights per block of Q8_0 and Q4_0, each with its own F16 scale in the block's first two bytes. */
    static final int BLOCK = 32;
    /** F16 → F32 by integer arithmetic, see {@link #decode}: keep sign, exponent and mantissa, then rescale. */
    static final int F16_BITS = 0x8FFFE000;
    static final float F16_SCALE = 0x1p112f;
    /** F16 magnitudes above the largest finite one (0x7BFF) are Inf or NaN. */
    static final int F16_MAX_FINITE = 0x7BFF;
    static final ByteOrder LE = ByteOrder.LITTLE_ENDIAN;

    private MatMulWeights() {
    }

    /**
     * Decodes {@code count} weights starting at element {@code index} of {@code w} into {@code out}. Each type has
     * its own small method with the conversion written out in its loop: a shared conversion method, once compiled
     * on its own for another caller, may be too big for the JIT to inline into a later hot loop, and a vector that
     * crosses a call boundary is boxed on the heap, making that loop several times slower. One method holding every
     * type's loop grew too big to compile well (F16 panels decoded ten times slower). Quantized weights start
     * {@code index} on a block; their blocks are decoded whole.
     */
    static void decode(DType type, MemorySegment w, long index, float[] out, int count) {
        int done = switch (type) {
            case F16 -> decodeF16(w, index, out, count);
            case BF16 -> decodeBf16(w, index, out, count);
            case Q8_0 -> decodeQ8(w, index, out, count);
            case Q4_0 -> decodeQ4(w, index, out, count);
            default -> decodeF32(w, index, out, count);
        };
        for (int i = done; i < count; i++) {
            out[i] = type.getFloat(w, index + i);
        }
    }

    /** Each decodes whole vectors (or blocks) of weights and returns how many it decoded. */
    private static int decodeF16(MemorySegment w, long index, float[] out, int count) {
        int bound = F.loopBound(count);
        int i = 0;
        for (; i < bound; i += F.length()) {
            // Sign-extended and shifted left by 13, an F16 has its sign in bit 31 (copies in bits 28-30, masked off)
            // and exponent and mantissa where F32 keeps them; scaling by 2^112, the difference of the exponent
            // biases, gives normals and subnormals exactly. Inf and NaN (exponent 31) would land on finite values,
            // so their exponent is forced to all ones.
            IntVector bits = (IntVector) ShortVector.fromMemorySegment(HALVES, w, (index + i) * 2, LE)
                    .convertShape(VectorOperators.S2I, INTS, 0);
            FloatVector value = bits.lanewise(VectorOperators.LSHL, 13).and(F16_BITS)
                    .reinterpretAsFloats().mul(F16_SCALE);
            VectorMask<Integer> infNan = bits.and(0x7FFF).compare(VectorOperators.GT, F16_MAX_FINITE);
            value.reinterpretAsInts().lanewise(VectorOperators.OR, 0x7F800000, infNan).reinterpretAsFloats()
                    .intoArray(out, i);
        }
        return i;
    }

    private static int decodeBf16(MemorySegment w, long index, float[] out, int count) {
        int bound = F.loopBound(count);
        int i = 0;
        for (; i < bound; i += F.length()) {
            // BF16 is the upper half of an F32.
            ((IntVector) ShortVector.fromMemorySegment(HALVES, w, (index + i) * 2, LE)
                    .convertShape(VectorOperators.S2I, INTS, 0))
                    .lanewise(VectorOperators.LSHL, 16).reinterpretAsFloats().intoArray(out, i);
        }
        return i;
    }

    private static int decodeQ8(MemorySegment w, long index, float[] out, int count) {
        int i = 0;
        for (; i + BLOCK <= count; i += BLOCK) {
            long block = (index + i) / BLOCK * DType.Q8_0.blockBytes();
            float scale = Float.float16ToFloat(w.get(DType.SHORT, block));
            for (int part = 0; part < BLOCK; part += F.length()) {
                ((FloatVector) ByteVector.fromMemorySegment(QUARTERS, w, block + 2 + part, LE)
                        .convertShape(VectorOperators.B2F, F, 0)).mul(scale).intoArray(out, i + part);
            }
        }
        return i;
    }

    private static int decodeQ4(MemorySegment w, long index, float[] out, int count) {
        int i = 0;
        for (; i + BLOCK <= count; i += BLOCK) {
            long block = (index + i) / BLOCK * DType.Q4_0.blockBytes();
            float scale = Float.float16ToFloat(w.get(DType.SHORT, block));
            for (int part = 0; part < BLOCK / 2; part += F.length()) {
                // Byte j holds weight j in its low nibble and weight j + 16 in its high one; zero-extended, the
                // high nibble is the byte shifted right.
                IntVector packed = (IntVector) ByteVector.fromMemorySegment(QUARTERS, w, block + 2 + part, LE)
                        .convertShape(VectorOperators.ZERO_EXTEND_B2I, INTS, 0);
                ((FloatVector) packed.and(0x0F).sub(8).convert(VectorOperators.I2F, 0)).mul(scale)
                        .intoArray(out, i + part);
                ((FloatVector) packed.lanewise(VectorOperators.LSHR, 4).sub(8).convert(VectorOperators.I2F, 0))
                        .mul(scale).intoArray(out, i + BLOCK / 2 + part);
            }
        }
        return i;
    }

    private static int decodeF32(MemorySegment w, long index, float[] out, int count) {
        int bound = F.loopBound(count);
        int i = 0;
        for (; i < bound; i += F.length()) {
            FloatVector.fromMemorySegment(F, w, (index + i) * 4, LE).intoArray(out, i);
        }
        return i;
    }
}
