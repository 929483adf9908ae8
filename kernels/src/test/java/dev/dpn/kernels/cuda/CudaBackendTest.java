package dev.dpn.kernels.cuda;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.dpn.kernels.Activation;
import dev.dpn.kernels.PoolType;
import dev.dpn.kernels.reference.ScalarBackend;
import dev.dpn.tensors.BlockQuantizer;
import dev.dpn.tensors.DType;
import dev.dpn.tensors.Tensor;
import dev.dpn.tensors.TensorArena;
import java.util.SplittableRandom;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Every CUDA operation against the scalar reference, on shapes that cross block and warp boundaries. Runs only
 * where a GPU is (skipped with the reason otherwise, e.g. "no CUDA driver found (libcuda.so.1)").
 *
 * <p>Tolerance: the kernels accumulate in F32 where the reference uses doubles, so sums of a few hundred terms of
 * size ~1 differ by ~1e-5 relative; 1e-4 of the output's scale leaves room without hiding a wrong index (which
 * errs by O(1)). cuBLAS prefill matmuls round F32 activations to F16/BF16 first: 2⁻¹¹ / 2⁻⁸ relative per term.
 */
class CudaBackendTest {
    private static final double TOLERANCE = 1e-4;
    private static CudaBackend cuda;
    private static final ScalarBackend REFERENCE = new ScalarBackend();
    private TensorArena arena = new TensorArena();
    private final SplittableRandom random = new SplittableRandom(7);

    @BeforeAll
    static void open() {
        try {
            cuda = CudaBackend.open();
        } catch (CudaUnavailableException e) {
            assumeTrue(false, e.getMessage());
        }
    }

    @AfterAll
    static void close() {
        if (cuda != null) {
            cuda.close();
        }
    }

    @AfterEach
    void release() {
        arena.close();
    }

    @ParameterizedTest
    @EnumSource(value = DType.class, names = {"F32", "F16", "BF16"})
    void matmulMatchesForOneRowAndForCublasRows(DType weightType) {
        for (int m : new int[] {1, 37}) {
            Tensor x = host(DType.F32, m, 300);
            Tensor w = host(weightType, 130, 300);
            Tensor bias = host(DType.F32, 130);
            Tensor expected = arena.allocate(DType.F32, m, 130);
            REFERENCE.matmul(x, w, bias, expected);
            Tensor y = cuda.allocate(arena, DType.F32, m, 130);
            cuda.matmul(device(x), w, device(bias), y);
            // One row runs the F32 gemv kernel; more rows round x to the weights' type for cuBLAS.
            double tolerance = m == 1 || weightType == DType.F32 ? TOLERANCE : weightType == DType.F16 ? 2e-3 : 1e-2;
            assertClose(expected, y, tolerance, "matmul " + weightType + " M=" + m);
        }
    }

    /**
     * Each weight type at the decoder's width (K = 4096) and a narrow one: gemv for one row (16-byte loads of
     * F16/BF16/F32 rows, one 34- or 18-byte block per lane for Q8_0/Q4_0), cuBLAS for more rows (quantized blocks
     * widened to F16 first, exactly). Quantized weights are the same blocks in both engines, so one row differs only
     * in summation order.
     */
    @ParameterizedTest
    @EnumSource(value = DType.class, names = {"F32", "F16", "BF16", "Q8_0", "Q4_0"})
    void gemvReadsEveryWeightTypeAtModelWidths(DType weightType) {
        for (int k : new int[] {4096, 320}) {
            for (int m : new int[] {1, 3, 37}) {
                Tensor x = host(DType.F32, m, k);
                Tensor w = weights(weightType, 67, k);
                Tensor expected = arena.allocate(DType.F32, m, 67);
                REFERENCE.matmul(x, w, null, expected);
                Tensor y = cuda.allocate(arena, DType.F32, m, 67);
                cuda.matmul(device(x), w, null, y);
                double tolerance = m == 1 || weightType == DType.F32 ? TOLERANCE
                        : weightType == DType.BF16 ? 1e-2 : 2e-3;
                assertClose(expected, y, tolerance, "matmul " + weightType + " M=" + m + " K=" + k);
            }
        }
    }

    @Test
    void embedCopyAndElementwiseOperationsMatch() {
        Tensor table = host(DType.BF16, 50, 70);
        int[] ids = {3, 49, 0, 3};
        Tensor expected = arena.allocate(DType.F32, 4, 70);
        REFERENCE.embed(table, ids, expected);
        Tensor out = cuda.allocate(arena, DType.F32, 4, 70);
        cuda.embed(table, ids, out);
        assertClose(expected, out, 0, "embed");

        Tensor a = host(DType.F32, 3, 1000), b = host(DType.F32, 3, 1000);
        Tensor sum = arena.allocate(DType.F32, 3, 1000), scaled = arena.allocate(DType.F32, 3, 1000);
        REFERENCE.add(a, b, sum);
        REFERENCE.scale(a, -0.25f, scaled);
        Tensor deviceA = device(a), deviceB = device(b);
        cuda.add(deviceA, deviceB, deviceB);
        assertClose(sum, deviceB, 0, "add");
        cuda.scale(deviceA, -0.25f, deviceA);
        assertClose(scaled, deviceA, 0, "scale");

        Tensor gate = host(DType.F32, 2, 513), up = host(DType.F32, 2, 513);
        Tensor gated = arena.allocate(DType.F32, 2, 513);
        REFERENCE.siluGate(gate, up, gated);
        Tensor deviceGated = cuda.allocate(arena, DType.F32, 2, 513);
        cuda.siluGate(device(gate), device(up), deviceGated);
        assertClose(gated, deviceGated, TOLERANCE, "siluGate");
    }

    @ParameterizedTest
    @EnumSource(Activation.class)
    void activationsMatch(Activation f) {
        Tensor x = host(DType.F32, 5, 333);
        Tensor expected = arena.allocate(DType.F32, 5, 333);
        REFERENCE.activate(f, x, expected);
        Tensor out = device(x);
        cuda.activate(f, out, out);
        assertClose(expected, out, TOLERANCE, f.name());
    }

    @Test
    void normsAndSoftmaxMatch() {
        Tensor x = host(DType.F32, 6, 777), weight = host(DType.F32, 777), bias = host(DType.F32, 777);
        Tensor rms = arena.allocate(DType.F32, 6, 777), layer = arena.allocate(DType.F32, 6, 777);
        REFERENCE.rmsNorm(x, weight, 1e-6f, rms);
        REFERENCE.layerNorm(x, weight, bias, 1e-5f, layer);
        Tensor deviceX = device(x), out = cuda.allocate(arena, DType.F32, 6, 777);
        cuda.rmsNorm(deviceX, device(weight), 1e-6f, out);
        assertClose(rms, out, TOLERANCE, "rmsNorm");
        cuda.layerNorm(deviceX, device(weight), device(bias), 1e-5f, out);
        assertClose(layer, out, TOLERANCE, "layerNorm");
        REFERENCE.softmax(x, 0.1f);
        cuda.softmax(deviceX, 0.1f);
        assertClose(x, deviceX, TOLERANCE, "softmax");
    }

    @Test
    void ropeAndGroupedCausalAttentionMatch() {
        int heads = 4, kvHeads = 2, headDim = 64, tokens = 5, kvLength = 300;
        Tensor q = host(DType.F32, tokens, heads * headDim);
        int[] positions = {295, 296, 297, 298, 299};
        Tensor deviceQ = device(q);
        REFERENCE.rope(q, positions, headDim, 10000f);
        cuda.rope(deviceQ, positions, headDim, 10000f);
        assertClose(q, deviceQ, TOLERANCE, "rope");
        // Positions out of order are uploaded; consecutive ones above travel as the first alone.
        Tensor scattered = host(DType.F32, tokens, heads * headDim), deviceScattered = device(scattered);
        int[] shuffled = {7, 0, 300, 2, 2};
        REFERENCE.rope(scattered, shuffled, headDim, 10000f);
        cuda.rope(deviceScattered, shuffled, headDim, 10000f);
        assertClose(scattered, deviceScattered, TOLERANCE, "rope at scattered positions");

        Tensor k = host(DType.F32, 320, kvHeads * headDim), v = host(DType.F32, 320, kvHeads * headDim);
        Tensor deviceK = device(k), deviceV = device(v);
        for (boolean causal : new boolean[] {true, false}) {
            Tensor expected = arena.allocate(DType.F32, tokens, heads * headDim);
            REFERENCE.attention(q, k, v, kvLength, heads, kvHeads, causal, 0.125f, expected);
            Tensor out = cuda.allocate(arena, DType.F32, tokens, heads * headDim);
            cuda.attention(deviceQ, deviceK, deviceV, kvLength, heads, kvHeads, causal, 0.125f, out);
            assertClose(expected, out, TOLERANCE, "attention causal=" + causal);
        }
    }

    /** Prefill-sized: 128 threads per (row, head); head size 64 splits them in two groups over the values, 128 not. */
    @ParameterizedTest
    @ValueSource(ints = {64, 128})
    void prefillAttentionMatchesAtTheModelsHeadSizes(int headDim) {
        int heads = 4, tokens = 300;
        Tensor q = host(DType.F32, tokens, heads * headDim);
        Tensor k = host(DType.F32, tokens, heads * headDim), v = host(DType.F32, tokens, heads * headDim);
        Tensor expected = arena.allocate(DType.F32, tokens, heads * headDim);
        REFERENCE.attention(q, k, v, tokens, heads, heads, true, 0.1f, expected);
        Tensor out = cuda.allocate(arena, DType.F32, tokens, heads * headDim);
        cuda.attention(device(q), device(k), device(v), tokens, heads, heads, true, 0.1f, out);
        assertClose(expected, out, TOLERANCE, "prefill attention, head size " + headDim);
    }

    @Test
    void decodeAttentionOverALongCacheMatches() {
        int heads = 32, headDim = 128, kvLength = 700;
        Tensor q = host(DType.F32, 1, heads * headDim);
        Tensor k = host(DType.F32, 800, heads * headDim), v = host(DType.F32, 800, heads * headDim);
        Tensor expected = arena.allocate(DType.F32, 1, heads * headDim);
        REFERENCE.attention(q, k, v, kvLength, heads, heads, true, 0.088f, expected);
        Tensor out = cuda.allocate(arena, DType.F32, 1, heads * headDim);
        cuda.attention(device(q), device(k), device(v), kvLength, heads, heads, true, 0.088f, out);
        assertClose(expected, out, TOLERANCE, "decode attention");
    }

    @Test
    void readSumAddsEveryValueAndTheCublasBaselineRuns() {
        Tensor x = host(DType.F32, 4096);
        Tensor partials = cuda.allocate(arena, DType.F32, 8);
        cuda.readSum(device(x), partials);
        float[] sums = new float[8];
        cuda.download(partials, sums);
        double want = 0, got = 0;
        for (long i = 0; i < x.size(); i++) {
            want += x.getFloat(i);
        }
        for (float sum : sums) {
            got += sum;
        }
        assertEquals(want, got, 1e-3, "read_sum over 4096 values");
        cuda.synchronize();
        new CudaBaselines(cuda).cublasGemm(arena, 64, 128, 256).run();
        cuda.synchronize();
    }

    @ParameterizedTest
    @EnumSource(PoolType.class)
    void poolingAndDepthwiseConvolutionMatch(PoolType type) {
        Tensor x = host(DType.F32, 6 * 7, 40); // a 6×7 grid: floor division drops the last column for kw = 2
        Tensor expected = arena.allocate(DType.F32, 3 * 3, 40), out = cuda.allocate(arena, DType.F32, 3 * 3, 40);
        REFERENCE.pool2d(type, x, 6, 7, 2, 2, expected);
        Tensor deviceX = device(x);
        cuda.pool2d(type, deviceX, 6, 7, 2, 2, out);
        assertClose(expected, out, TOLERANCE, "pool2d " + type);
        Tensor weight = host(DType.F32, 2, 2, 40);
        REFERENCE.depthwiseConv2d(x, 6, 7, weight, expected);
        cuda.depthwiseConv2d(deviceX, 6, 7, device(weight), out);
        assertClose(expected, out, TOLERANCE, "depthwiseConv2d");
    }

    @Test
    void patchEmbedReadsHostPixelsAndF16Weights() {
        Tensor pixels = host(DType.F32, 3, 28, 28), weight = host(DType.F16, 48, 3, 14, 14);
        Tensor bias = host(DType.F32, 48);
        Tensor expected = arena.allocate(DType.F32, 4, 48), out = cuda.allocate(arena, DType.F32, 4, 48);
        REFERENCE.patchEmbed(pixels, weight, bias, expected);
        cuda.patchEmbed(pixels, weight, device(bias), out);
        assertClose(expected, out, TOLERANCE, "patchEmbed");
    }

    @Test
    void deviceTensorsStayOffTheHostAndHostActivationsAreRefused() {
        Tensor t = cuda.allocate(arena, DType.F32, 4);
        assertThrows(IllegalStateException.class, () -> t.getFloat(0));
        assertThrows(IllegalArgumentException.class, () -> cuda.add(host(DType.F32, 4), t, t));
    }

    /** A host tensor of uniform values in [-1, 1). */
    private Tensor host(DType dtype, long... shape) {
        Tensor t = arena.allocate(dtype, shape);
        for (long i = 0; i < t.size(); i++) {
            t.setFloat(i, (float) (random.nextDouble() * 2 - 1));
        }
        return t;
    }

    /** Weights of {@code dtype}: uniform values, quantized by the GGML block quantizers for Q8_0/Q4_0. */
    private Tensor weights(DType dtype, long rows, long cols) {
        if (!dtype.isQuantized()) {
            return host(dtype, rows, cols);
        }
        Tensor quantized = arena.allocate(dtype, rows, cols);
        BlockQuantizer.quantize(host(DType.F32, rows, cols), quantized);
        return quantized;
    }

    private Tensor device(Tensor host) {
        Tensor d = cuda.allocate(arena, DType.F32, host.shape());
        cuda.copy(host, d);
        return d;
    }

    private static void assertClose(Tensor expected, Tensor actual, double tolerance, String what) {
        float[] want = expected.toFloatArray();
        float[] got = new float[want.length];
        cuda.download(actual, got);
        double scale = 0;
        for (float w : want) {
            scale = Math.max(scale, Math.abs(w));
        }
        for (int i = 0; i < want.length; i++) {
            assertEquals(want[i], got[i], tolerance * Math.max(scale, 1e-30), what + " at " + i);
        }
    }
}
