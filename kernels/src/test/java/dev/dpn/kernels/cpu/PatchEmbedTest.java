package dev.dpn.kernels.cpu;

import dev.dpn.kernels.reference.ScalarBackend;
import dev.dpn.tensors.DType;
import dev.dpn.tensors.Tensor;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** A 3×31×45 image cut into 7×7 patches: 4×6 of them, the 3 bottom rows and 3 right columns left over. */
class PatchEmbedTest {
    private static final int DIM = 20, P = 7, PATCHES = 4 * 6;

    /**
     * With the reference matmul behind it, the gathered rows give the reference's sums term for term, in the
     * same order and in double: any misplaced pixel shows as an inexact result.
     */
    @ParameterizedTest
    @ValueSource(ints = {1, 2})
    void gatheredPatchesGiveTheReferenceExactly(int threads) {
        var scalar = new ScalarBackend();
        try (var parallel = new Parallel(threads); var tensors = new TestTensors(threads)) {
            Tensor pixels = tensors.uniform(-2, 2, 3, 31, 45);
            Tensor weight = tensors.uniform(DType.BF16, -0.1f, 0.1f, DIM, 3, P, P);
            Tensor bias = tensors.uniform(-1, 1, DIM);
            Tensor expected = tensors.zeros(PATCHES, DIM), actual = tensors.zeros(PATCHES, DIM);
            scalar.patchEmbed(pixels, weight, bias, expected);
            PatchEmbed.patchEmbed(parallel, scalar, pixels, weight, bias, actual);
            Tolerance.EXACT.assertClose(expected, actual, "patches through the reference matmul");
        }
    }

    /**
     * End to end on the CPU backend (needs its matmul). Sums of 147 products of a few tenths, in float:
     * ~1e-6 absolute; 1e-5 leaves room for any summation order.
     */
    @ParameterizedTest
    @ValueSource(ints = {1, 2})
    void patchEmbeddingMatchesTheReference(int threads) {
        var scalar = new ScalarBackend();
        try (var cpu = new CpuBackend(threads); var tensors = new TestTensors(threads)) {
            Tensor pixels = tensors.uniform(-2, 2, 3, 31, 45);
            Tensor bias = tensors.uniform(-1, 1, DIM);
            for (DType type : new DType[] {DType.F32, DType.F16, DType.BF16}) {
                Tensor weight = tensors.uniform(type, -0.1f, 0.1f, DIM, 3, P, P);
                for (Tensor b : new Tensor[] {bias, null}) {
                    Tensor expected = tensors.zeros(PATCHES, DIM), actual = tensors.zeros(PATCHES, DIM);
                    scalar.patchEmbed(pixels, weight, b, expected);
                    cpu.patchEmbed(pixels, weight, b, actual);
                    new Tolerance(1e-5, 0).assertClose(expected, actual,
                            "patchEmbed " + type + (b == null ? "" : " with bias"));
                }
            }
        }
    }
}
