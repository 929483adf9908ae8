package dev.dpn.kernels.cpu;

import dev.dpn.kernels.reference.ScalarBackend;
import dev.dpn.tensors.DType;
import dev.dpn.tensors.Tensor;
import org.junit.jupiter.api.Test;

class ConversionsTest {
    private static final DType[] WEIGHT_TYPES = {DType.F32, DType.F16, DType.BF16};
    private static final DType[] FLOAT_TYPES = {DType.F32, DType.F16, DType.BF16, DType.F64};

    /** Every F16 and BF16 value is a float, and F64 rounds the same way in both: the results are identical. */
    @Test
    void embedGathersRowsExactly() {
        var scalar = new ScalarBackend();
        try (var cpu = new CpuBackend(1); var tensors = new TestTensors(7)) {
            int[] ids = {3, 0, 3, 10};
            for (DType type : WEIGHT_TYPES) {
                for (int d : new int[] {1, 13, 64}) {
                    Tensor table = tensors.uniform(type, -70_000, 70_000, 11, d);
                    table.setFloat(1, Float.NEGATIVE_INFINITY);
                    Tensor expected = tensors.zeros(ids.length, d), actual = tensors.zeros(ids.length, d);
                    scalar.embed(table, ids, expected);
                    cpu.embed(table, ids, actual);
                    Tolerance.EXACT.assertClose(expected, actual, "embed " + type + " d=" + d);
                }
            }
        }
    }

    @Test
    void copyConvertsExactly() {
        var scalar = new ScalarBackend();
        try (var cpu = new CpuBackend(1); var tensors = new TestTensors(8)) {
            for (DType type : FLOAT_TYPES) {
                Tensor src = tensors.uniform(type, -1e-3f, 1e-3f, 5, 7, 3);
                src.setFloat(0, Float.NaN);
                src.setFloat(1, 6e-8f);
                Tensor expected = tensors.zeros(105), actual = tensors.zeros(105);
                scalar.copy(src, expected);
                cpu.copy(src, actual);
                Tolerance.EXACT.assertClose(expected, actual, "copy " + type);
            }
        }
    }

    /** F32 into an F16 key/value cache: both round to nearest even, overflow to Inf and keep NaN. */
    @Test
    void copyIntoF16RoundsAsTheReference() {
        var scalar = new ScalarBackend();
        try (var cpu = new CpuBackend(1); var tensors = new TestTensors(9)) {
            Tensor src = tensors.uniform(-70_000, 70_000, 3, 37);
            src.setFloat(0, Float.NaN);
            src.setFloat(1, 3e-8f);
            src.setFloat(2, 1 + 0x1p-11f);
            Tensor expected = tensors.zeros(111), actual = tensors.zeros(111);
            Tensor expectedHalf = tensors.uniform(DType.F16, 0, 1, 111);
            Tensor actualHalf = tensors.uniform(DType.F16, 0, 1, 111);
            scalar.copy(src, expectedHalf);
            cpu.copy(src, actualHalf);
            scalar.copy(expectedHalf, expected);
            scalar.copy(actualHalf, actual);
            Tolerance.EXACT.assertClose(expected, actual, "copy F32 into F16");
        }
    }
}
