package dev.dpn.runtime.synthetic;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.dpn.tensors.DType;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import org.junit.jupiter.api.Test;

class CounterRandomTest {
    private static final long KEY = CounterRandom.tensorKey(5, "language_model.model.embed_tokens.weight");

    @Test
    void aTensorWrittenInChunksEqualsOneWrittenWhole() {
        try (Arena arena = Arena.ofConfined()) {
            WeightInit init = WeightInit.withStd(0.1);
            MemorySegment whole = fill(arena, KEY, init, 0, 1001, DType.F16);
            MemorySegment pieces = arena.allocate(DType.F16.byteSize(1001));
            for (long[] piece : new long[][] {{0, 1}, {1, 500}, {501, 500}}) {
                CounterRandom.fill(KEY, init, piece[0], piece[1], DType.F16,
                        pieces.asSlice(DType.F16.byteSize(piece[0]), DType.F16.byteSize(piece[1])));
            }
            assertEquals(-1, whole.mismatch(pieces));
        }
    }

    @Test
    void drawsHaveTheAskedMeanAndStandardDeviation() {
        int n = 1 << 20;
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment values = fill(arena, KEY, new WeightInit(0.5f, 0.2f * (float) Math.sqrt(3)), 0, n,
                    DType.F32);
            double sum = 0, squares = 0, min = 1, max = 0;
            for (int i = 0; i < n; i++) {
                double v = DType.F32.getFloat(values, i);
                sum += v;
                squares += v * v;
                min = Math.min(min, v);
                max = Math.max(max, v);
            }
            double mean = sum / n, std = Math.sqrt(squares / n - mean * mean);
            // Standard errors over 2^20 draws: 0.2/1024 for the mean, about 0.2·0.9/1448 for the std; allow ~5.
            assertEquals(0.5, mean, 1e-3);
            assertEquals(0.2, std, 6e-4);
            double halfWidth = 0.2 * Math.sqrt(3);
            assertTrue(min >= 0.5 - halfWidth && max < 0.5 + halfWidth, min + " .. " + max);
        }
    }

    @Test
    void narrowTypesHoldTheF32DrawRounded() {
        try (Arena arena = Arena.ofConfined()) {
            WeightInit init = WeightInit.withStd(1);
            MemorySegment f32 = fill(arena, KEY, init, 77, 64, DType.F32);
            MemorySegment f16 = fill(arena, KEY, init, 77, 64, DType.F16);
            MemorySegment bf16 = fill(arena, KEY, init, 77, 64, DType.BF16);
            for (int i = 0; i < 64; i++) {
                float v = DType.F32.getFloat(f32, i);
                assertEquals(Float.float16ToFloat(Float.floatToFloat16(v)), DType.F16.getFloat(f16, i));
                assertEquals(DType.bf16ToFloat(DType.floatToBf16(v)), DType.BF16.getFloat(bf16, i));
            }
        }
    }

    @Test
    void theKeyDependsOnSeedAndName() {
        assertEquals(KEY, CounterRandom.tensorKey(5, "language_model.model.embed_tokens.weight"));
        assertNotEquals(KEY, CounterRandom.tensorKey(6, "language_model.model.embed_tokens.weight"));
        assertNotEquals(KEY, CounterRandom.tensorKey(5, "language_model.lm_head.weight"));
    }

    @Test
    void aConstantIsExact() {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment ones = fill(arena, KEY, WeightInit.constant(1f), 0, 100, DType.BF16);
            for (int i = 0; i < 100; i++) {
                assertEquals(1f, DType.BF16.getFloat(ones, i));
            }
        }
    }

    @Test
    void integerTypesAreRefused() {
        try (Arena arena = Arena.ofConfined()) {
            var e = assertThrows(IllegalArgumentException.class, () -> fill(arena, KEY, WeightInit.constant(1), 0,
                    4, DType.I32));
            assertEquals("random weights are F16, BF16 or F32, not I32", e.getMessage());
        }
    }

    private static MemorySegment fill(Arena arena, long key, WeightInit init, long first, long count, DType dtype) {
        MemorySegment out = arena.allocate(dtype.byteSize(count));
        CounterRandom.fill(key, init, first, count, dtype, out);
        return out;
    }
}
