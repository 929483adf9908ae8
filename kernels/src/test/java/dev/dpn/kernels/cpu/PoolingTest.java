package dev.dpn.kernels.cpu;

import dev.dpn.kernels.PoolType;
import dev.dpn.kernels.reference.ScalarBackend;
import dev.dpn.tensors.Tensor;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class PoolingTest {
    /** Max picks one input exactly. */
    private static final Tolerance MAX = Tolerance.EXACT;
    /**
     * An average sums up to 16 values of magnitude ≤ 5 in float: 15 roundings of at most ulp(80)/2 = 3.8e-6,
     * divided by 16: below 4e-6 absolute (the reference sums in double).
     */
    private static final Tolerance AVG = new Tolerance(4e-6, 0);

    @ParameterizedTest
    @ValueSource(ints = {1, 2})
    void poolingMatchesTheReference(int threads) {
        var scalar = new ScalarBackend();
        try (var cpu = new CpuBackend(threads); var tensors = new TestTensors(threads)) {
            // {h, w, channels}: the 24×24 start grid, a 24×12 grid after a (1,2) expert, odd grids that floor.
            int[][] grids = {{24, 24, 40}, {24, 12, 17}, {7, 5, 3}, {9, 11, 1}};
            int[][] windows = {{1, 1}, {1, 2}, {2, 2}, {2, 3}, {4, 4}};
            for (int[] g : grids) {
                int h = g[0], w = g[1], d = g[2];
                Tensor x = tensors.uniform(-5, 5, (long) h * w, d);
                for (int[] window : windows) {
                    int kh = window[0], kw = window[1];
                    long pooled = (long) (h / kh) * (w / kw);
                    for (PoolType type : PoolType.values()) {
                        Tensor expected = tensors.zeros(pooled, d), actual = tensors.zeros(pooled, d);
                        scalar.pool2d(type, x, h, w, kh, kw, expected);
                        cpu.pool2d(type, x, h, w, kh, kw, actual);
                        (type == PoolType.MAX ? MAX : AVG).assertClose(expected, actual,
                                String.format("%s pool %dx%d of %dx%dx%d", type, kh, kw, h, w, d));
                    }
                }
            }
        }
    }
}
