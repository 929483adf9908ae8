package dev.dpn.kernels.cpu;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import dev.dpn.kernels.reference.ScalarBackend;
import dev.dpn.tensors.DType;
import dev.dpn.tensors.Tensor;
import dev.dpn.tensors.TensorArena;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class DepthwiseConvTest {
    /**
     * A window of up to 16 products of values ≤ 2 in magnitude, summed in float (FMA) against the reference's
     * double: 16 roundings of at most ulp(64)/2 = 3.8e-6 bound the difference by 6.1e-5; typical sums are far
     * smaller, and 2e-5 keeps the test sharp while holding with margin for the sizes here.
     */
    private static final double TOLERANCE = 2e-5;

    @Test
    void theReferenceWeighsEachWindowCellPerChannel() {
        try (TensorArena arena = new TensorArena()) {
            // A 2×3 grid of 2-channel tokens (channel 1 = 10 × channel 0), one 2×2 window: the last column drops.
            Tensor x = arena.of(new float[] {1, 10, 2, 20, 3, 30, 4, 40, 5, 50, 6, 60}, 6, 2);
            Tensor weight = arena.of(new float[] {1, 0, 0.5f, 1, 0, 0, 2, -1}, 2, 2, 2);
            Tensor out = arena.allocate(DType.F32, 1, 2);
            new ScalarBackend().depthwiseConv2d(x, 2, 3, weight, out);
            assertArrayEquals(new float[] {1 + 0.5f * 2 + 2 * 5, 20 - 50}, out.toFloatArray());
        }
    }

    @ParameterizedTest
    @ValueSource(ints = {1, 3})
    void theCpuKernelMatchesTheReference(int threads) {
        ScalarBackend scalar = new ScalarBackend();
        SplittableRandom random = new SplittableRandom(threads);
        int[][] grids = {{24, 24, 40}, {7, 5, 3}, {9, 11, 19}};
        int[][] windows = {{1, 1}, {1, 2}, {2, 2}, {2, 3}, {4, 4}};
        try (CpuBackend cpu = new CpuBackend(threads); TensorArena arena = new TensorArena()) {
            for (int[] g : grids) {
                int h = g[0], w = g[1], d = g[2];
                Tensor x = uniform(arena, random, (long) h * w, d);
                for (int[] window : windows) {
                    Tensor weight = uniform(arena, random, window[0], window[1], d);
                    long pooled = (long) (h / window[0]) * (w / window[1]);
                    Tensor expected = arena.allocate(DType.F32, pooled, d);
                    Tensor actual = arena.allocate(DType.F32, pooled, d);
                    scalar.depthwiseConv2d(x, h, w, weight, expected);
                    cpu.depthwiseConv2d(x, h, w, weight, actual);
                    float[] e = expected.toFloatArray(), a = actual.toFloatArray();
                    for (int i = 0; i < e.length; i++) {
                        assertEquals(e[i], a[i], TOLERANCE, "element " + i + " of " + window[0] + "x" + window[1]
                                + " on " + h + "x" + w + "x" + d);
                    }
                }
            }
        }
    }

    @Test
    void aWeightThatIsNotChannelsLastIsRejected() {
        try (TensorArena arena = new TensorArena()) {
            Tensor x = arena.allocate(DType.F32, 16, 4);
            Tensor out = arena.allocate(DType.F32, 4, 4);
            Tensor torchLayout = arena.allocate(DType.F32, 4, 1, 2, 2);
            var e = assertThrows(IllegalArgumentException.class,
                    () -> new ScalarBackend().depthwiseConv2d(x, 4, 4, torchLayout, out));
            assertEquals("depthwiseConv2d: weight Tensor[F32 [4, 1, 2, 2]] is not [kh, kw, 4]", e.getMessage());
        }
    }

    private static Tensor uniform(TensorArena arena, SplittableRandom random, long... shape) {
        Tensor t = arena.allocate(DType.F32, shape);
        for (long i = 0; i < t.size(); i++) {
            t.setFloat(i, (float) random.nextDouble(-2, 2));
        }
        return t;
    }
}
