package dev.dpn.tensors;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Arrays;

/**
 * Rounds float tensors to the GGML block-quantized types, bit for bit as ggml's reference quantizers
 * ({@code quantize_row_q8_0_ref}, {@code quantize_row_q4_0_ref}) do, so that our files and llama.cpp's hold the
 * same numbers for the same weights.
 *
 * <p>Each block of 32 consecutive values gets one scale d, computed and applied in F32 (the quantized values use
 * {@code 1/d} before d is rounded to the F16 the block stores):
 * <ul>
 *   <li>Q8_0: {@code d = max|x| / 127}, {@code q = round(x · (1/d))}, rounded half away from zero;</li>
 *   <li>Q4_0: m is the value of largest magnitude (the first one on ties), {@code d = m / −8},
 *       {@code q = min(15, trunc(x · (1/d) + 8.5))}, so m itself lands on 0 and the grid is −8…7 around it.</li>
 * </ul>
 * A block of zeros gets d = 0 (−0 for Q4_0) and values that decode to 0.
 */
public final class BlockQuantizer {
    private static final int BLOCK = 32;

    private BlockQuantizer() {
    }

    /**
     * Quantizes every element of {@code source} (F32, F16 or BF16) into {@code target} (Q8_0 or Q4_0) of the same
     * shape. Blocks run along the flattened elements, so a matrix whose rows are a multiple of 32 long gets blocks
     * that never straddle two rows.
     *
     * @throws IllegalArgumentException if the dtypes are not a float and a quantized type, or the shapes differ
     */
    public static void quantize(Tensor source, Tensor target) {
        DType from = source.dtype();
        DType to = target.dtype();
        if (!from.isFloatingPoint() || from == DType.F64 || !to.isQuantized()) {
            throw new IllegalArgumentException("cannot quantize " + source + " into " + target);
        }
        if (!Arrays.equals(source.shape(), target.shape())) {
            throw new IllegalArgumentException("shapes differ: " + source + " into " + target);
        }
        float[] block = new float[BLOCK];
        MemorySegment in = source.data();
        MemorySegment out = target.data();
        long blocks = source.size() / BLOCK;
        for (long b = 0; b < blocks; b++) {
            for (int i = 0; i < BLOCK; i++) {
                block[i] = from.getFloat(in, b * BLOCK + i);
            }
            long at = b * to.blockBytes();
            if (to == DType.Q8_0) {
                quantizeQ8(block, out, at);
            } else {
                quantizeQ4(block, out, at);
            }
        }
    }

    private static void quantizeQ8(float[] x, MemorySegment out, long at) {
        float amax = 0;
        for (float v : x) {
            amax = Math.max(amax, Math.abs(v));
        }
        float d = amax / 127;
        float id = d != 0 ? 1 / d : 0;
        out.set(DType.SHORT, at, Float.floatToFloat16(d));
        for (int i = 0; i < BLOCK; i++) {
            out.set(ValueLayout.JAVA_BYTE, at + 2 + i, (byte) roundHalfAwayFromZero(x[i] * id));
        }
    }

    private static void quantizeQ4(float[] x, MemorySegment out, long at) {
        float amax = 0;
        float max = 0;
        for (float v : x) {
            if (amax < Math.abs(v)) {
                amax = Math.abs(v);
                max = v;
            }
        }
        float d = max / -8;
        float id = d != 0 ? 1 / d : 0;
        out.set(DType.SHORT, at, Float.floatToFloat16(d));
        for (int i = 0; i < BLOCK / 2; i++) {
            // C's (int8_t) cast of a float truncates toward zero, as Java's (int) does.
            int low = Math.min(15, (int) (x[i] * id + 8.5f));
            int high = Math.min(15, (int) (x[i + BLOCK / 2] * id + 8.5f));
            out.set(ValueLayout.JAVA_BYTE, at + 2 + i, (byte) (low | high << 4));
        }
    }

    /** C's {@code roundf}; exact in double, where adding 0.5 to a float cannot round. */
    private static long roundHalfAwayFromZero(float v) {
        double rounded = Math.floor(Math.abs((double) v) + 0.5);
        return (long) Math.copySign(rounded, v);
    }
}
