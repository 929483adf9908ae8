package dev.dpn.kernels.cpu;

import dev.dpn.kernels.Activation;
import dev.dpn.kernels.reference.ScalarBackend;
import dev.dpn.tensors.Tensor;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class ActivationsTest {
    private static final int[] SIZES = {1, 13, 70_001};
    private static final float[] EXTREMES = {-30f, 30f, 0f, -1e-30f, 1e-30f, -6f, 6f, -3.5f};

    /**
     * A few float roundings around a vector exp/erf that are good to ~2 ulp: 2e-6 relative. The exponent's
     * argument carries ~1e-7 relative error, which exp turns into |argument|·1e-7 relative: within 2e-6 wherever
     * the result is above 1e-7, the absolute floor (GELU's 1 + erf(x) also cancels there).
     */
    private static final Tolerance TOLERANCE = new Tolerance(1e-7, 2e-6);

    @ParameterizedTest
    @ValueSource(ints = {1, 2})
    void activationsMatchTheReference(int threads) {
        var scalar = new ScalarBackend();
        try (var cpu = new CpuBackend(threads); var tensors = new TestTensors(threads)) {
            for (int n : SIZES) {
                Tensor x = inputs(tensors, n);
                for (Activation f : Activation.values()) {
                    Tensor expected = tensors.zeros(n), actual = tensors.zeros(n);
                    scalar.activate(f, x, expected);
                    cpu.activate(f, x, actual);
                    TOLERANCE.assertClose(expected, actual, f + " n=" + n);
                }
            }
        }
    }

    @ParameterizedTest
    @ValueSource(ints = {1, 2})
    void activationWorksInPlace(int threads) {
        var scalar = new ScalarBackend();
        try (var cpu = new CpuBackend(threads); var tensors = new TestTensors(threads)) {
            Tensor x = inputs(tensors, 40_009);
            Tensor expected = tensors.zeros(40_009);
            scalar.activate(Activation.GELU, x, expected);
            cpu.activate(Activation.GELU, x, x);
            TOLERANCE.assertClose(expected, x, "GELU in place");
        }
    }

    @ParameterizedTest
    @ValueSource(ints = {1, 2})
    void siluGateMatchesTheReference(int threads) {
        var scalar = new ScalarBackend();
        try (var cpu = new CpuBackend(threads); var tensors = new TestTensors(threads)) {
            for (int n : SIZES) {
                Tensor gate = inputs(tensors, n);
                Tensor up = tensors.uniform(-3, 3, n);
                Tensor expected = tensors.zeros(n);
                scalar.siluGate(gate, up, expected);
                cpu.siluGate(gate, up, up);
                TOLERANCE.assertClose(expected, up, "siluGate into up, n=" + n);
            }
        }
    }

    /** Mostly the interesting range [−8, 8], with the extremes planted at the start. */
    private static Tensor inputs(TestTensors tensors, int n) {
        Tensor x = tensors.uniform(-8, 8, n);
        for (int i = 0; i < Math.min(n, EXTREMES.length); i++) {
            x.setFloat(i, EXTREMES[i]);
        }
        return x;
    }
}
