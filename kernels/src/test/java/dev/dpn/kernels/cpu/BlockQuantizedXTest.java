package dev.dpn.kernels.cpu;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.dpn.tensors.DType;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.Arrays;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/**
 * The vector quantization of x for the quantized one-row products against ggml's {@code quantize_row_q8_0} written
 * out scalar: the two must agree bit for bit, ties and all, since llama.cpp agreement depends on the rounding.
 */
class BlockQuantizedXTest {
    private static final int BLOCK = MatMulWeights.BLOCK;

    @Test
    void matchesGgmlRoundingBitForBit() {
        SplittableRandom random = new SplittableRandom(7);
        int blocks = 64;
        float[] x = new float[blocks * BLOCK];
        for (int i = 0; i < x.length; i++) {
            x[i] = (float) (random.nextGaussian() * Math.pow(10, random.nextInt(-3, 4)));
        }
        // Block 0 is all zeros (scale 0); in block 1 the largest |x| is 127, so the scale is 1 and halves are exact
        // ties that must round away from zero; block 2 holds values just below a half, which must round down.
        Arrays.fill(x, 0, BLOCK, 0f);
        for (int i = 0; i < BLOCK; i++) {
            x[BLOCK + i] = i == 0 ? -127f : (i % 2 == 0 ? 1 : -1) * (i + 0.5f);
            x[2 * BLOCK + i] = i == 0 ? 127f : Math.nextDown(i + 0.5f);
        }
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment segment = arena.allocate(4L * x.length);
            MemorySegment.copy(x, 0, segment, DType.FLOAT, 0, x.length);
            Gemv.BlockQuantizedX quantized = new Gemv.BlockQuantizedX().quantize(segment, x.length);

            byte[] values = new byte[x.length];
            float[] scales = new float[blocks];
            float[] offsets = new float[blocks];
            quantizeScalar(x, values, scales, offsets);
            assertArrayEquals(values, Arrays.copyOf(quantized.values, x.length));
            assertArrayEquals(scales, Arrays.copyOf(quantized.scales, blocks));
            assertArrayEquals(offsets, Arrays.copyOf(quantized.offsets, blocks));
            assertEquals(3, values[BLOCK + 2], "2.5 rounds away from zero");
            assertEquals(-2, values[BLOCK + 1], "-1.5 rounds away from zero");
            assertEquals(1, values[2 * BLOCK + 1], "just below 1.5 rounds down");
        }
    }

    /** ggml's reference quantize_row_q8_0, with the F16 round trip of the scale and Q4_0's offsets. */
    private static void quantizeScalar(float[] x, byte[] values, float[] scales, float[] offsets) {
        for (int b = 0; b < scales.length; b++) {
            float max = 0;
            for (int i = b * BLOCK; i < (b + 1) * BLOCK; i++) {
                max = Math.max(max, Math.abs(x[i]));
            }
            float scale = max / Gemv.BlockQuantizedX.LEVELS;
            float inverse = scale == 0 ? 0 : 1 / scale;
            int sum = 0;
            for (int i = b * BLOCK; i < (b + 1) * BLOCK; i++) {
                float scaled = x[i] * inverse;
                int value = scaled < 0 ? -Math.round(-scaled) : Math.round(scaled);
                values[i] = (byte) value;
                sum += value;
            }
            scales[b] = Float.float16ToFloat(Float.floatToFloat16(scale));
            offsets[b] = 8 * scales[b] * sum;
        }
    }
}
