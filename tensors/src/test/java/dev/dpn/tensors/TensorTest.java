package dev.dpn.tensors;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.foreign.MemorySegment;
import org.junit.jupiter.api.Test;

class TensorTest {

    @Test
    void viewsShareMemoryWithTheirTensor() {
        try (var arena = new TensorArena()) {
            Tensor t = arena.allocate(DType.F32, 4, 3);
            t.rows(1, 3).reshape(6).setFloat(5, 7f); // row 2, column 2
            t.row(0).setFloat(1, 3f);
            assertEquals(7f, t.getFloat(8));
            assertEquals(3f, t.getFloat(1));
            assertArrayEquals(new long[] {2, 3}, t.rows(2, 4).shape());
            assertEquals(4, t.rowCount());
            assertEquals(12, t.reshape(2, 2, 3).size());
        }
    }

    @Test
    void allocationsAreCacheLineAlignedAndZeroed() {
        try (var arena = new TensorArena()) {
            for (int n = 1; n < 10; n++) {
                Tensor t = arena.allocate(DType.F16, n);
                assertEquals(0, t.data().address() % TensorArena.ALIGNMENT);
                assertArrayEquals(new float[n], t.toFloatArray());
            }
        }
    }

    @Test
    void closingTheArenaReleasesTheMemory() {
        var arena = new TensorArena();
        Tensor t = arena.allocate(DType.F32, 8);
        arena.close();
        assertThrows(IllegalStateException.class, () -> t.getFloat(0));
    }

    @Test
    void rejectsBadShapesAndIndices() {
        try (var arena = new TensorArena()) {
            Tensor t = arena.allocate(DType.F32, 2, 3);
            assertThrows(IllegalArgumentException.class, () -> t.reshape(4, 2));
            assertThrows(IndexOutOfBoundsException.class, () -> t.rows(1, 3));
            assertThrows(IndexOutOfBoundsException.class, () -> t.getFloat(6));
            assertThrows(IllegalArgumentException.class, () -> arena.allocate(DType.F32, 2, -1));
            assertThrows(ArithmeticException.class, () -> Tensor.elementCount(1L << 40, 1L << 40));
            assertThrows(IllegalArgumentException.class,
                    () -> Tensor.of(MemorySegment.ofArray(new byte[10]), DType.F32, 3));
        }
    }

    @Test
    void halfPrecisionRoundsToNearestEven() {
        try (var arena = new TensorArena()) {
            Tensor bf = arena.allocate(DType.BF16, 3);
            // 1 + 2^-8 lies halfway between two BF16 values (1 and 1 + 2^-7): ties go to the even mantissa, 1.
            bf.copyFrom(new float[] {1f + 0x1p-8f, 1f + 3 * 0x1p-8f, -2.5f});
            assertArrayEquals(new float[] {1f, 1f + 0x1p-6f, -2.5f}, bf.toFloatArray());
            Tensor h = arena.allocate(DType.F16, 2);
            h.copyFrom(new float[] {65504f, 0x1p-24f}); // largest normal and smallest subnormal F16
            assertArrayEquals(new float[] {65504f, 0x1p-24f}, h.toFloatArray());
            assertTrue(Float.isNaN(DType.bf16ToFloat(DType.floatToBf16(Float.NaN))));
        }
    }

    @Test
    void byteSizesFollowTheDtype() {
        assertEquals(8, DType.BF16.byteSize(4));
        assertEquals(Long.valueOf(DType.F32.byteSize(3)), 12L);
        assertEquals(DType.I64, DType.fromSafetensorsName("I64").orElseThrow());
        assertTrue(DType.fromSafetensorsName("F8_E9").isEmpty());
    }

    @Test
    void deviceTensorsOffsetTheirAddressAndRefuseHostAccess() {
        Tensor t = Tensor.onDevice(new Tensor.DeviceMemory("cuda:0", 0x1000), DType.F16, 4, 8);
        Tensor rows = t.rows(1, 3);
        assertEquals(0x1000 + 16, rows.deviceMemory().address()); // one row of 8 F16 values
        assertEquals(32, rows.byteSize());
        assertEquals(0x1000 + 48, t.row(3).reshape(2, 4).deviceMemory().address());
        assertTrue(!t.isHost());
        var e = assertThrows(IllegalStateException.class, () -> rows.getFloat(0));
        assertTrue(e.getMessage().contains("cuda:0"), e.getMessage());
        assertThrows(IllegalStateException.class, t::data);
        assertThrows(IllegalStateException.class, t::toFloatArray);
        try (var arena = new TensorArena()) {
            assertThrows(IllegalStateException.class, () -> arena.allocate(DType.F32, 1).deviceMemory());
        }
    }
}
