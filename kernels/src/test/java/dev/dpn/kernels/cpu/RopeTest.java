package dev.dpn.kernels.cpu;

import dev.dpn.kernels.reference.ScalarBackend;
import dev.dpn.tensors.Tensor;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class RopeTest {
    /**
     * Angles and their cos/sin are computed in double as in the reference, then rounded to float; a·cos − b·sin
     * of values below 1 adds two roundings: ~3e-7 absolute. A float angle at position 4095 would be off by 1e-4.
     */
    private static final Tolerance TOLERANCE = new Tolerance(5e-7, 0);

    @ParameterizedTest
    @ValueSource(ints = {1, 2})
    void ropeMatchesTheReferenceAtArbitraryPositions(int threads) {
        var scalar = new ScalarBackend();
        try (var cpu = new CpuBackend(threads); var tensors = new TestTensors(threads)) {
            // {tokens, heads, head dim}: Llama's 128, CLIP-sized 64, and odd half-widths (3, 9) with scalar tails.
            int[][] shapes = {{1, 32, 128}, {5, 3, 6}, {70, 4, 64}, {9, 2, 18}};
            for (int[] shape : shapes) {
                int tokens = shape[0], headDim = shape[2];
                Tensor x = tensors.uniform(-1, 1, tokens, (long) shape[1] * headDim);
                int[] positions = new int[tokens];
                for (int t = 0; t < tokens; t++) {
                    positions[t] = tensors.random().nextInt(4096);
                }
                positions[0] = 4095;
                Tensor expected = tensors.copyOf(x);
                scalar.rope(expected, positions, headDim, 10_000f);
                cpu.rope(x, positions, headDim, 10_000f);
                TOLERANCE.assertClose(expected, x, "rope " + tokens + "x" + shape[1] + "x" + headDim);
            }
        }
    }
}
