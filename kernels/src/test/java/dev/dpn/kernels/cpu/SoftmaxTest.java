package dev.dpn.kernels.cpu;

import dev.dpn.kernels.reference.ScalarBackend;
import dev.dpn.tensors.Tensor;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class SoftmaxTest {
    /**
     * Each probability is e^(x·scale − max)/sum: the difference is rounded once (relative 6e-8 of a value |d|),
     * so the exponential is off by |d|·6e-8 relative, at most 2e-8 absolute after e^d; exp and the
     * normalisation add ~3 ulp. Hence 1e-6 relative with a 1e-7 floor.
     */
    private static final Tolerance TOLERANCE = new Tolerance(1e-7, 1e-6);

    @ParameterizedTest
    @ValueSource(ints = {1, 2})
    void softmaxMatchesTheReference(int threads) {
        var scalar = new ScalarBackend();
        try (var cpu = new CpuBackend(threads); var tensors = new TestTensors(threads)) {
            int[][] shapes = {{1, 3}, {5, 1}, {4, 37}, {33, 1500}};
            for (int[] shape : shapes) {
                for (float scale : new float[] {1f, 0.1f, -2.5f}) {
                    Tensor x = tensors.uniform(-10, 10, shape[0], shape[1]);
                    Tensor expected = tensors.copyOf(x);
                    scalar.softmax(expected, scale);
                    cpu.softmax(x, scale);
                    TOLERANCE.assertClose(expected, x, "softmax " + shape[0] + "x" + shape[1] + " scale " + scale);
                }
            }
        }
    }

    /**
     * Values whose plain exponentials overflow float (and underflow, far below the max), with a scale that makes
     * x·scale inexact: rounding it before subtracting the max would cost 1e-4 relative.
     */
    @ParameterizedTest
    @ValueSource(ints = {1, 2})
    void largeValuesDoNotOverflow(int threads) {
        var scalar = new ScalarBackend();
        try (var cpu = new CpuBackend(threads); var tensors = new TestTensors(threads)) {
            Tensor x = tensors.uniform(9_990, 10_000, 3, 29);
            x.setFloat(5, -10_000);
            Tensor expected = tensors.copyOf(x);
            scalar.softmax(expected, 0.37f);
            cpu.softmax(x, 0.37f);
            TOLERANCE.assertClose(expected, x, "softmax of values near 1e4");
        }
    }
}
