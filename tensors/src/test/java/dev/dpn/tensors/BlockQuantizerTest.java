package dev.dpn.tensors;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.InputStream;
import java.lang.foreign.ValueLayout;
import java.nio.charset.StandardCharsets;
import java.util.HexFormat;
import java.util.List;
import org.junit.jupiter.api.Test;

/** GGML's reference rounding, on blocks worked out by hand and on blocks from an independent numpy derivation. */
class BlockQuantizerTest {
    private static final HexFormat HEX = HexFormat.of();

    @Test
    void q8RoundsHalvesAwayFromZero() {
        // max|x| = 127 makes d = 1 and 1/d = 1 exactly, so q is x rounded: C's roundf, not Java's Math.round.
        float[] x = new float[32];
        float[] values = {127, -2.5f, 2.5f, 0.5f, -0.5f, 1.4999f, -126.5f, 0.25f};
        System.arraycopy(values, 0, x, 0, values.length);
        byte[] expected = new byte[34];
        expected[0] = 0x00; // F16 1.0 = 0x3C00, little-endian
        expected[1] = 0x3C;
        byte[] q = {127, -3, 3, 1, -1, 1, -127, 0};
        System.arraycopy(q, 0, expected, 2, q.length);
        assertArrayEquals(expected, quantize(DType.Q8_0, x));
    }

    @Test
    void q4CentresTheLargestMagnitudeOnTheBottomOfTheGrid() {
        // The largest magnitude is −8, so d = −8 / −8 = 1 and a nibble is min(15, trunc(x + 8.5)).
        float[] x = new float[32];
        float[] values = {-8, 7, 7.6f, -0.5f, -0.6f, 0.49f};
        System.arraycopy(values, 0, x, 0, values.length);
        x[16] = 3.2f;   // high nibble of byte 0: trunc(11.7) = 11
        x[17] = -7.7f;  // trunc(0.8) = 0
        int[] nibbles = new int[32];
        java.util.Arrays.fill(nibbles, 8);
        int[] low = {0, 15, 15, 8, 7, 8};
        System.arraycopy(low, 0, nibbles, 0, low.length);
        nibbles[16] = 11;
        nibbles[17] = 0;
        assertArrayEquals(q4Block((short) 0x3C00, nibbles), quantize(DType.Q4_0, x));
    }

    @Test
    void q4TakesTheFirstOfEqualMagnitudes() {
        // +8 comes first, so d = 8 / −8 = −1: +8 maps to nibble 0 and −8 to trunc(16.5) = 16, clamped to 15.
        float[] x = new float[32];
        x[0] = 8;
        x[5] = -8;
        int[] nibbles = new int[32];
        java.util.Arrays.fill(nibbles, 8);
        nibbles[0] = 0;
        nibbles[5] = 15;
        assertArrayEquals(q4Block((short) 0xBC00, nibbles), quantize(DType.Q4_0, x));
    }

    @Test
    void zeroBlocksHaveZeroScale() {
        assertArrayEquals(new byte[34], quantize(DType.Q8_0, new float[32]));
        // Q4_0's scale is 0 / −8 = −0 (F16 0x8000), as in ggml.
        assertArrayEquals(q4Block((short) 0x8000, filled(32, 8)), quantize(DType.Q4_0, new float[32]));
    }

    @Test
    void matchesTheNumpyDerivationOfGgmlsReference() throws IOException {
        List<String> lines;
        try (InputStream in = BlockQuantizerTest.class.getResourceAsStream("ggml-blocks.txt")) {
            lines = new String(in.readAllBytes(), StandardCharsets.US_ASCII).lines().toList();
        }
        assertTrue(lines.size() >= 8, "golden blocks");
        for (int b = 0; b < lines.size(); b++) {
            String[] parts = lines.get(b).split(" \\| ");
            String[] bits = parts[0].split(" ");
            float[] x = new float[32];
            for (int i = 0; i < 32; i++) {
                x[i] = Float.intBitsToFloat(Integer.parseUnsignedInt(bits[i], 16));
            }
            assertEquals(parts[1], HEX.formatHex(quantize(DType.Q8_0, x)), "Q8_0 block " + b);
            assertEquals(parts[2], HEX.formatHex(quantize(DType.Q4_0, x)), "Q4_0 block " + b);
        }
    }

    @Test
    void readsF16AndBf16SourcesAndKeepsBlocksInRowOrder() {
        try (var arena = new TensorArena()) {
            Tensor f32 = arena.allocate(DType.F32, 2, 64);
            Tensor bf16 = arena.allocate(DType.BF16, 2, 64);
            for (int i = 0; i < 128; i++) {
                float v = (i % 7 - 3) * (1 + i / 32); // exact in BF16, a different scale per block
                f32.setFloat(i, v);
                bf16.setFloat(i, v);
            }
            Tensor fromF32 = arena.allocate(DType.Q8_0, 2, 64);
            Tensor fromBf16 = arena.allocate(DType.Q8_0, 2, 64);
            BlockQuantizer.quantize(f32, fromF32);
            BlockQuantizer.quantize(bf16, fromBf16);
            assertArrayEquals(fromF32.data().toArray(ValueLayout.JAVA_BYTE), fromBf16.data().toArray(ValueLayout.JAVA_BYTE));
            for (int i = 0; i < 128; i++) {
                // Each block's largest magnitude is a multiple of 3, and every value is a multiple of a third of it:
                // the round trip errs by at most half a step of max/127.
                float scale = 3f * (1 + i / 32) / 127;
                assertEquals(f32.getFloat(i), DType.Q8_0.getFloat(fromF32.data(), i), scale / 2 + 1e-3f * scale,
                        "element " + i);
            }
        }
    }

    @Test
    void rejectsMismatchedTensors() {
        try (var arena = new TensorArena()) {
            Tensor source = arena.allocate(DType.F32, 2, 32);
            assertThrows(IllegalArgumentException.class,
                    () -> BlockQuantizer.quantize(source, arena.allocate(DType.Q8_0, 1, 64)));
            assertThrows(IllegalArgumentException.class,
                    () -> BlockQuantizer.quantize(source, arena.allocate(DType.F16, 2, 32)));
        }
    }

    private static byte[] quantize(DType type, float[] x) {
        try (var arena = new TensorArena()) {
            Tensor source = arena.allocate(DType.F32, 32).copyFrom(x);
            Tensor target = arena.allocate(type, 32);
            BlockQuantizer.quantize(source, target);
            return target.data().toArray(ValueLayout.JAVA_BYTE);
        }
    }

    private static byte[] q4Block(short scale, int[] nibbles) {
        byte[] block = new byte[18];
        block[0] = (byte) scale;
        block[1] = (byte) (scale >> 8);
        for (int i = 0; i < 16; i++) {
            block[2 + i] = (byte) (nibbles[i] | nibbles[i + 16] << 4);
        }
        return block;
    }

    private static int[] filled(int count, int value) {
        int[] values = new int[count];
        java.util.Arrays.fill(values, value);
        return values;
    }
}
