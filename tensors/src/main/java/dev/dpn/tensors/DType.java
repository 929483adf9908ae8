package dev.dpn.tensors;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.util.Optional;

/**
 * Element types of tensors, named as in safetensors headers.
 *
 * <p>Every type is stored in blocks: {@link #blockSize()} elements packed into {@link #blockBytes()} bytes. Plain
 * types have blocks of one element; the GGML block-quantized types (Q8_0, Q4_0: 32 weights and an F16 scale) slot
 * in as types with larger blocks, so byte-size arithmetic and validation stay the same for all of them.
 *
 * <p>Element access ({@link #getFloat}, {@link #setFloat}) is the slow, exact path for loaders, tests and scalar
 * references; kernels read segments with the Vector API.
 */
public enum DType {
    F64(1, 8),
    F32(1, 4),
    F16(1, 2),
    BF16(1, 2),
    I64(1, 8),
    I32(1, 4),
    I16(1, 2),
    I8(1, 1),
    U8(1, 1),
    BOOL(1, 1),
    /** GGML {@code block_q8_0}: an F16 scale d, then 32 signed bytes q; value = q·d. */
    Q8_0(32, 34),
    /**
     * GGML {@code block_q4_0}: an F16 scale d, then 16 bytes of nibbles; element i &lt; 16 is the low nibble of byte
     * i, element i ≥ 16 the high nibble of byte i − 16; value = (nibble − 8)·d.
     */
    Q4_0(32, 18);

    /** Little-endian layouts that tolerate any address: safetensors data offsets need not be aligned. */
    public static final ValueLayout.OfFloat FLOAT = ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    public static final ValueLayout.OfShort SHORT = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    public static final ValueLayout.OfDouble DOUBLE = ValueLayout.JAVA_DOUBLE_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    public static final ValueLayout.OfInt INT = ValueLayout.JAVA_INT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    public static final ValueLayout.OfLong LONG = ValueLayout.JAVA_LONG_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    private final int blockSize;
    private final int blockBytes;

    DType(int blockSize, int blockBytes) {
        this.blockSize = blockSize;
        this.blockBytes = blockBytes;
    }

    /** Elements per storage block (1 for plain types). */
    public int blockSize() {
        return blockSize;
    }

    /** Bytes per storage block. */
    public int blockBytes() {
        return blockBytes;
    }

    /** True for types with floating-point values that {@link #getFloat} reads exactly or by rounding. */
    public boolean isFloatingPoint() {
        return this == F64 || this == F32 || this == F16 || this == BF16;
    }

    /**
     * Bytes needed for {@code elements} values.
     *
     * @throws IllegalArgumentException if the count is negative or not a whole number of blocks
     * @throws ArithmeticException if the byte count overflows a long
     */
    public long byteSize(long elements) {
        if (elements < 0) {
            throw new IllegalArgumentException("negative element count " + elements);
        }
        if (elements % blockSize != 0) {
            throw new IllegalArgumentException(
                    name() + " stores blocks of " + blockSize + " elements; " + elements + " is not a multiple");
        }
        return Math.multiplyExact(elements / blockSize, (long) blockBytes);
    }

    /** The type named {@code name} in a safetensors header ("F32", "BF16", ...), if known. */
    public static Optional<DType> fromSafetensorsName(String name) {
        for (DType t : values()) {
            if (t.name().equals(name)) {
                return Optional.of(t);
            }
        }
        return Optional.empty();
    }

    /** Reads element {@code index} (counted in elements) of {@code segment} as a float. */
    public float getFloat(MemorySegment segment, long index) {
        return switch (this) {
            case F32 -> segment.get(FLOAT, index * 4);
            case F16 -> Float.float16ToFloat(segment.get(SHORT, index * 2));
            case BF16 -> bf16ToFloat(segment.get(SHORT, index * 2));
            case F64 -> (float) segment.get(DOUBLE, index * 8);
            case I64 -> segment.get(LONG, index * 8);
            case I32 -> segment.get(INT, index * 4);
            case I16 -> segment.get(SHORT, index * 2);
            case I8 -> segment.get(ValueLayout.JAVA_BYTE, index);
            case U8, BOOL -> Byte.toUnsignedInt(segment.get(ValueLayout.JAVA_BYTE, index));
            case Q8_0 -> blockScale(segment, index)
                    * segment.get(ValueLayout.JAVA_BYTE, blockOffset(index) + 2 + index % 32);
            case Q4_0 -> blockScale(segment, index) * (nibble(segment, index) - 8);
        };
    }

    /** Writes {@code value} to element {@code index}, rounding to nearest-even for narrower float types. */
    public void setFloat(MemorySegment segment, long index, float value) {
        switch (this) {
            case F32 -> segment.set(FLOAT, index * 4, value);
            case F16 -> segment.set(SHORT, index * 2, Float.floatToFloat16(value));
            case BF16 -> segment.set(SHORT, index * 2, floatToBf16(value));
            case F64 -> segment.set(DOUBLE, index * 8, value);
            default -> throw new UnsupportedOperationException("cannot store floats as " + this);
        }
    }

    /** True for the GGML block-quantized types, whose elements cannot be written one at a time. */
    public boolean isQuantized() {
        return blockSize > 1;
    }

    private long blockOffset(long index) {
        return index / blockSize * blockBytes;
    }

    private float blockScale(MemorySegment segment, long index) {
        return Float.float16ToFloat(segment.get(SHORT, blockOffset(index)));
    }

    private int nibble(MemorySegment segment, long index) {
        int i = (int) (index % 32);
        int packed = segment.get(ValueLayout.JAVA_BYTE, blockOffset(index) + 2 + i % 16);
        return i < 16 ? packed & 0x0F : (packed >> 4) & 0x0F;
    }

    /** BF16 is the upper half of an F32. */
    public static float bf16ToFloat(short bits) {
        return Float.intBitsToFloat((bits & 0xFFFF) << 16);
    }

    /** Rounds to nearest-even, as torch does; NaN stays a quiet NaN. */
    public static short floatToBf16(float value) {
        int bits = Float.floatToRawIntBits(value);
        if (Float.isNaN(value)) {
            return (short) ((bits >>> 16) | 0x40);
        }
        int rounding = 0x7FFF + ((bits >>> 16) & 1);
        return (short) ((bits + rounding) >>> 16);
    }
}
