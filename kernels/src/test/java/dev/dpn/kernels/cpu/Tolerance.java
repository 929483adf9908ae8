package dev.dpn.kernels.cpu;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.fail;

import dev.dpn.tensors.Tensor;

/** How close a kernel's output must be to the reference: per element, |error| ≤ abs + rel·|expected|. */
record Tolerance(double abs, double rel) {
    static final Tolerance EXACT = new Tolerance(0, 0);

    void assertClose(Tensor expected, Tensor actual, String what) {
        assertArrayEquals(expected.shape(), actual.shape(), what + ": shape");
        float[] e = expected.toFloatArray();
        float[] a = actual.toFloatArray();
        for (int i = 0; i < e.length; i++) {
            double error = Math.abs((double) a[i] - e[i]);
            double allowed = abs + rel * Math.abs(e[i]);
            // NaN fails unless NaN was expected; equal infinities pass.
            if (!(error <= allowed) && Float.compare(a[i], e[i]) != 0) {
                fail(String.format("%s: element %d of %d is %s, expected %s (error %.3g > %.3g)", what, i, e.length,
                        a[i], e[i], error, allowed));
            }
        }
    }
}
