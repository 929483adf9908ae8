package dev.dpn.kernels.cpu;

import dev.dpn.kernels.reference.ScalarBackend;
import dev.dpn.tensors.Tensor;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class ElementwiseTest {
    /** 1 and 13 run in a single chunk with a scalar tail; 70 001 spans three chunks and ends in a tail. */
    private static final int[] SIZES = {1, 13, 70_001};

    /** One float operation per element, the same as the reference's: results must be identical. */
    @ParameterizedTest
    @ValueSource(ints = {1, 2})
    void addAndScaleMatchTheReferenceExactly(int threads) {
        var scalar = new ScalarBackend();
        try (var cpu = new CpuBackend(threads); var tensors = new TestTensors(threads)) {
            for (int n : SIZES) {
                Tensor a = tensors.uniform(-100, 100, n);
                Tensor b = tensors.uniform(-1, 1, n);
                Tensor expected = tensors.zeros(n), actual = tensors.zeros(n);
                scalar.add(a, b, expected);
                cpu.add(a, b, actual);
                Tolerance.EXACT.assertClose(expected, actual, "add n=" + n);

                scalar.scale(a, 0.37f, expected);
                cpu.scale(a, 0.37f, actual);
                Tolerance.EXACT.assertClose(expected, actual, "scale n=" + n);
            }
        }
    }

    @ParameterizedTest
    @ValueSource(ints = {1, 2})
    void outputMayAliasAnInput(int threads) {
        var scalar = new ScalarBackend();
        try (var cpu = new CpuBackend(threads); var tensors = new TestTensors(threads)) {
            Tensor a = tensors.uniform(-1, 1, 3, 23_457);
            Tensor b = tensors.uniform(-1, 1, 3, 23_457);
            Tensor expected = tensors.zeros(3, 23_457);
            scalar.add(a, b, expected);
            cpu.add(a, b, b);
            Tolerance.EXACT.assertClose(expected, b, "add into b");

            scalar.scale(a, -2f, expected);
            cpu.scale(a, -2f, a);
            Tolerance.EXACT.assertClose(expected, a, "scale in place");
        }
    }
}
