package dev.dpn.tensors;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import org.junit.jupiter.api.Test;

/** Element reads of the GGML block layouts, on blocks written byte by byte (values are exact in F32). */
class QuantizedDTypeTest {
    private static final short HALF = Float.floatToFloat16(0.5f);
    private static final short QUARTER = Float.floatToFloat16(-0.25f);

    @Test
    void q8ReadsSignedBytesTimesTheBlockScale() {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment blocks = arena.allocate(DType.Q8_0.byteSize(64));
            blocks.set(DType.SHORT, 0, HALF);
            blocks.set(DType.SHORT, 34, QUARTER);
            for (int i = 0; i < 32; i++) {
                blocks.set(ValueLayout.JAVA_BYTE, 2 + i, (byte) (i - 16));
                blocks.set(ValueLayout.JAVA_BYTE, 36 + i, (byte) (i == 0 ? -128 : 127));
            }
            for (int i = 0; i < 32; i++) {
                assertEquals((i - 16) * 0.5f, DType.Q8_0.getFloat(blocks, i), "element " + i);
            }
            assertEquals(32f, DType.Q8_0.getFloat(blocks, 32));
            assertEquals(-31.75f, DType.Q8_0.getFloat(blocks, 63));
        }
    }

    @Test
    void q4ReadsLowNibblesThenHighNibblesOffsetByEight() {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment block = arena.allocate(DType.Q4_0.byteSize(32));
            block.set(DType.SHORT, 0, HALF);
            for (int i = 0; i < 16; i++) {
                int low = i;
                int high = 15 - i;
                block.set(ValueLayout.JAVA_BYTE, 2 + i, (byte) (high << 4 | low));
            }
            for (int i = 0; i < 16; i++) {
                assertEquals((i - 8) * 0.5f, DType.Q4_0.getFloat(block, i), "low nibble " + i);
                assertEquals((15 - i - 8) * 0.5f, DType.Q4_0.getFloat(block, 16 + i), "high nibble " + i);
            }
        }
    }

    @Test
    void sizesAreWholeBlocks() {
        assertEquals(34 * 4, DType.Q8_0.byteSize(128));
        assertEquals(18 * 4, DType.Q4_0.byteSize(128));
        assertThrows(IllegalArgumentException.class, () -> DType.Q4_0.byteSize(48));
        assertTrue(DType.Q8_0.isQuantized());
        assertTrue(!DType.F16.isQuantized());
        assertThrows(UnsupportedOperationException.class, () -> DType.Q8_0.setFloat(MemorySegment.NULL, 0, 1f));
    }
}
