package dev.dpn.kernels.cpu;

import dev.dpn.kernels.reference.ScalarBackend;
import dev.dpn.tensors.Tensor;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class NormsTest {
    /** {rows, row length}: a decode row, odd rows shorter than a vector, and 40 rows that split into chunks. */
    private static final int[][] SHAPES = {{1, 4096}, {3, 5}, {7, 1}, {40, 1031}};

    /**
     * Row sums are accurate to ~1e-7 relative (float within a vector, double across vectors); the output takes
     * three float roundings of terms up to ~5 in size, so 1e-6 relative with a 1e-6 floor where x·w cancels b.
     */
    private static final Tolerance TOLERANCE = new Tolerance(1e-6, 1e-6);

    @ParameterizedTest
    @ValueSource(ints = {1, 2})
    void rmsNormMatchesTheReference(int threads) {
        var scalar = new ScalarBackend();
        try (var cpu = new CpuBackend(threads); var tensors = new TestTensors(threads)) {
            for (int[] shape : SHAPES) {
                Tensor x = tensors.uniform(-2, 2, shape[0], shape[1]);
                Tensor weight = tensors.uniform(-1.5f, 1.5f, shape[1]);
                Tensor expected = tensors.zeros(shape[0], shape[1]);
                scalar.rmsNorm(x, weight, 1e-5f, expected);
                cpu.rmsNorm(x, weight, 1e-5f, x);
                TOLERANCE.assertClose(expected, x, "rmsNorm in place " + shape[0] + "x" + shape[1]);
            }
        }
    }

    /** Values far from zero, so that a one-pass variance (E[x²] − mean²) would lose digits. */
    @ParameterizedTest
    @ValueSource(ints = {1, 2})
    void layerNormMatchesTheReference(int threads) {
        var scalar = new ScalarBackend();
        try (var cpu = new CpuBackend(threads); var tensors = new TestTensors(threads)) {
            for (int[] shape : SHAPES) {
                Tensor x = tensors.uniform(40, 41, shape[0], shape[1]);
                Tensor weight = tensors.uniform(-1.5f, 1.5f, shape[1]);
                Tensor bias = tensors.uniform(-1, 1, shape[1]);
                Tensor expected = tensors.zeros(shape[0], shape[1]), actual = tensors.zeros(shape[0], shape[1]);
                scalar.layerNorm(x, weight, bias, 1e-5f, expected);
                cpu.layerNorm(x, weight, bias, 1e-5f, actual);
                TOLERANCE.assertClose(expected, actual, "layerNorm " + shape[0] + "x" + shape[1]);
            }
        }
    }
}
