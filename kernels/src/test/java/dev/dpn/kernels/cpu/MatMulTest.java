package dev.dpn.kernels.cpu;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.dpn.kernels.reference.ScalarBackend;
import dev.dpn.tensors.BlockQuantizer;
import dev.dpn.tensors.DType;
import dev.dpn.tensors.Tensor;
import dev.dpn.tensors.TensorArena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.function.Supplier;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.EnumSource;
import org.junit.jupiter.params.provider.MethodSource;

class MatMulTest {
    private static final ScalarBackend REFERENCE = new ScalarBackend();
    private static CpuBackend oneThread;
    private static CpuBackend twoThreads;

    @BeforeAll
    static void startBackends() {
        oneThread = new CpuBackend(1);
        twoThreads = new CpuBackend(2);
    }

    @AfterAll
    static void stopBackends() {
        oneThread.close();
        twoThreads.close();
    }

    /** Shapes {M, N, K} around every threshold and tile edge of both paths, for every weight type. */
    static List<Arguments> cases() {
        int lanes = MatMulWeights.F.length();
        int gemvRows = MatMul.GEMV_MAX_ROWS;
        int[][] shapes = {
            {0, 5, 7},                                            // no rows
            {1, 1, 1}, {1, 3, 2 * lanes + 3}, {2, 17, 5 * lanes - 1}, // matrix-vector, vector tails
            {1, 37, 2 * lanes + 3},                               // one-row chunks of several rows, some repeated
            {gemvRows, 33, 4 * lanes + 1}, {gemvRows + 1, 33, 4 * lanes + 1}, // both sides of the threshold
            {3 * Gemm.MR + 1, Gemm.NC + Gemm.NR + 3, Gemm.KC + lanes + 3}, // row, strip, block, slice and vector tails
            {Gemm.MR + 1, 1, 1}, {25, 3, 7}, {9, Gemm.NR, 1},    // one column, fewer columns than a strip, K = 1
            {40, 2 * Gemm.NR - 1, 3 * lanes},                    // one column block: rows split across the team
        };
        // Quantized weights need K in whole blocks of 32; an odd block count leaves the dot products a block tail.
        int block = MatMulWeights.BLOCK;
        int[][] quantizedShapes = {
            {0, 5, block},
            {1, 1, block}, {1, 3, 3 * block}, {2, 17, 5 * block},
            {gemvRows, 33, 3 * block}, {gemvRows + 1, 33, 3 * block},
            {3 * Gemm.MR + 1, Gemm.NC + Gemm.NR + 3, Gemm.KC + block},
            {Gemm.MR + 1, 1, block}, {9, Gemm.NR, block}, {40, 2 * Gemm.NR - 1, 2 * block},
            {1, 5, 4096 + 3 * block},                            // past Gemv's K block, odd blocks on both sides
            {1, 37, 3 * block},                                  // odd row chunks: a row pairs with itself
            {1, 37, 2 * block}, {1, 5, 4096 + 4 * block},        // even blocks: Q4_0 takes them in pairs
        };
        List<Arguments> cases = new ArrayList<>();
        for (DType type : List.of(DType.F32, DType.F16, DType.BF16, DType.Q8_0, DType.Q4_0)) {
            for (int[] s : type.isQuantized() ? quantizedShapes : shapes) {
                cases.add(Arguments.of(type, s[0], s[1], s[2]));
            }
        }
        return cases;
    }

    @ParameterizedTest(name = "{0} M={1} N={2} K={3}")
    @MethodSource("cases")
    void matchesTheScalarReference(DType type, int m, int n, int k) {
        try (var arena = new TensorArena()) {
            var random = new SplittableRandom(31L * m + 17L * n + k);
            Tensor x = fill(arena.allocate(DType.F32, m, k), random);
            // Weights come from mapped files at any byte offset: cover every misalignment of a 4-byte float.
            Tensor w = weights(arena, type, n, k, (m + n + k) % 4, random);
            Tensor bias = (m + n) % 2 == 0 ? fill(arena.allocate(DType.F32, n), random) : null;
            Tensor expected = arena.allocate(DType.F32, m, n);
            Tensor actual = arena.allocate(DType.F32, m, n);
            Tensor actualTwoThreads = arena.allocate(DType.F32, m, n);

            REFERENCE.matmul(x, w, bias, expected);
            oneThread.matmul(x, w, bias, actual);
            twoThreads.matmul(x, w, bias, actualTwoThreads);

            // Each output is summed in the same order whichever thread computes it.
            assertArrayEquals(actual.toFloatArray(), actualTwoThreads.toFloatArray(), "1 vs 2 threads");
            for (int i = 0; i < m; i++) {
                for (int j = 0; j < n; j++) {
                    double magnitude = bias == null ? 0 : Math.abs(bias.getFloat(j));
                    for (int p = 0; p < k; p++) {
                        magnitude += Math.abs((double) x.getFloat((long) i * k + p)
                                * type.getFloat(w.data(), (long) j * k + p));
                    }
                    // Any float32 summation order of K products and the bias errs by at most (K + 1)·u·Σ|terms|
                    // (u = 2^-24, FMA products exact); the reference's rounding to float adds u·|y| ≤ u·Σ|terms|.
                    double tolerance = (k + 2) * 0x1p-24 * magnitude + xQuantizationError(type, m, x, w, i, j, k);
                    long at = (long) i * n + j;
                    assertEquals(expected.getFloat(at), actual.getFloat(at), tolerance, "y[" + i + "," + j + "]");
                }
            }
        }
    }

    /**
     * One-row quantized products round x per block of 32 to {@link Gemv.BlockQuantizedX#LEVELS} levels with a scale
     * kept as F16: each x value moves by at most half a step, (block's max |x|) / (2·LEVELS), plus the scale's
     * relative rounding 2^-11 of the block's max, and each product by that times |w|.
     */
    private static double xQuantizationError(DType type, int m, Tensor x, Tensor w, int i, int j, int k) {
        if (!type.isQuantized() || m != 1) {
            return 0;
        }
        double error = 0;
        for (int b = 0; b + MatMulWeights.BLOCK <= k; b += MatMulWeights.BLOCK) {
            double max = 0;
            for (int p = b; p < b + MatMulWeights.BLOCK; p++) {
                max = Math.max(max, Math.abs(x.getFloat((long) i * k + p)));
            }
            for (int p = b; p < b + MatMulWeights.BLOCK; p++) {
                error += Math.abs(type.getFloat(w.data(), (long) j * k + p)) * max
                        * (0.5 / Gemv.BlockQuantizedX.LEVELS + 0x1p-11);
            }
        }
        return error;
    }

    @ParameterizedTest
    @EnumSource(names = {"F16", "BF16"})
    void decodesEvery16BitPatternLikeDType(DType type) {
        try (var arena = new TensorArena()) {
            int count = 1 << 16;
            MemorySegment bits = arena.arena().allocate(2L * count + 1).asSlice(1);
            for (int i = 0; i < count; i++) {
                bits.set(DType.SHORT, 2L * i, (short) i);
            }
            float[] decoded = new float[count];
            MatMulWeights.decode(type, bits, 0, decoded, count);
            for (int i = 0; i < count; i++) {
                int pattern = i;
                float expected = type.getFloat(bits, i);
                Supplier<String> what = () -> String.format("%s bits 0x%04x", type, pattern);
                if (Float.isNaN(expected)) {
                    // Hardware conversion may quiet a signalling NaN; any NaN poisons the dot product alike.
                    assertTrue(Float.isNaN(decoded[i]), what);
                } else {
                    assertEquals(Float.floatToRawIntBits(expected), Float.floatToRawIntBits(decoded[i]), what);
                }
            }
        }
    }

    /** Every byte of a Q8_0 block and every nibble pair of a Q4_0 block, under a scale that is not a power of 2. */
    @ParameterizedTest
    @EnumSource(names = {"Q8_0", "Q4_0"})
    void decodesEveryQuantizedValueLikeDType(DType type) {
        try (var arena = new TensorArena()) {
            int blocks = 256 / (type == DType.Q8_0 ? 32 : 16);
            MemorySegment bytes = arena.arena().allocate(blocks * type.blockBytes() + 1L).asSlice(1);
            int value = 0;
            for (int b = 0; b < blocks; b++) {
                long block = (long) b * type.blockBytes();
                bytes.set(DType.SHORT, block, Float.floatToFloat16(-0.37f * (b + 1)));
                for (long at = block + 2; at < block + type.blockBytes(); at++) {
                    bytes.set(java.lang.foreign.ValueLayout.JAVA_BYTE, at, (byte) value++);
                }
            }
            int count = blocks * MatMulWeights.BLOCK;
            float[] decoded = new float[count];
            MatMulWeights.decode(type, bytes, 0, decoded, count);
            for (int i = 0; i < count; i++) {
                assertEquals(type.getFloat(bytes, i), decoded[i], type + " element " + i);
            }
        }
    }

    @Test
    void quantizedWeightsNeedWholeBlocksAlongK() {
        try (var arena = new TensorArena()) {
            Tensor w = arena.allocate(DType.Q8_0, 32, 1);
            Tensor x = arena.allocate(DType.F32, 1, 1);
            Tensor y = arena.allocate(DType.F32, 1, 32);
            var error = org.junit.jupiter.api.Assertions.assertThrows(IllegalArgumentException.class,
                    () -> twoThreads.matmul(x, w, null, y));
            assertEquals("matmul: Q8_0 weights come in blocks of 32 along K, but w Tensor[Q8_0 [32, 1]] has K = 1",
                    error.getMessage());
        }
    }

    @Test
    void infiniteF16WeightsGiveInfiniteOutputs() {
        try (var arena = new TensorArena()) {
            int k = 3 * MatMulWeights.F.length();
            for (int m : new int[] {1, MatMul.GEMV_MAX_ROWS + 1}) {
                Tensor x = arena.allocate(DType.F32, m, k).copyFrom(filled(m * k, 1f));
                Tensor w = arena.allocate(DType.F16, 2, k).copyFrom(filled(2 * k, 1f));
                w.setFloat(1, Float.POSITIVE_INFINITY);
                w.setFloat(k + 2, Float.NaN);
                Tensor y = arena.allocate(DType.F32, m, 2);
                twoThreads.matmul(x, w, null, y);
                for (int i = 0; i < m; i++) {
                    assertEquals(Float.POSITIVE_INFINITY, y.getFloat(2L * i), "M=" + m);
                    assertTrue(Float.isNaN(y.getFloat(2L * i + 1)), "M=" + m);
                }
            }
        }
    }

    /**
     * The one-row quantized products against the integer sums they stand for, given x as {@link Gemv.BlockQuantizedX}
     * rounds it: y[j] = Σ_b d_w·d_x·Σ q·v in double. Only float rounding separates the two, (K + 2)·u·Σ|terms|,
     * so a nibble, value or scale taken from the wrong block fails here (the tolerance of
     * {@link #matchesTheScalarReference} also covers rounding x, which hides errors of that size at large K).
     * Block counts even and odd, rows in chunks that pair a row with itself.
     */
    @ParameterizedTest(name = "{0} N={1} K={2}")
    @MethodSource("oneRowShapes")
    void oneRowQuantizedProductsAreTheIntegerSums(DType type, int n, int k) {
        try (var arena = new TensorArena()) {
            var random = new SplittableRandom(13L * n + k);
            Tensor x = fill(arena.allocate(DType.F32, 1, k), random);
            Tensor w = weights(arena, type, n, k, k % 3, random);
            Tensor y = arena.allocate(DType.F32, 1, n);
            twoThreads.matmul(x, w, null, y);

            Gemv.BlockQuantizedX xq = new Gemv.BlockQuantizedX().quantize(x.data(), k);
            int block = MatMulWeights.BLOCK;
            for (int j = 0; j < n; j++) {
                double expected = 0;
                double magnitude = 0;
                for (int b = 0; b < k / block; b++) {
                    double scale = blockScale(type, w, j, k, b);
                    for (int p = b * block; p < (b + 1) * block; p++) {
                        double term = scale * xq.scales[b] * quantized(type, w, j, k, p) * xq.values[p];
                        expected += term;
                        magnitude += Math.abs(term);
                    }
                }
                assertEquals(expected, y.getFloat(j), (k + 2) * 0x1p-24 * magnitude, "y[" + j + "]");
            }
        }
    }

    static List<Arguments> oneRowShapes() {
        int block = MatMulWeights.BLOCK;
        List<Arguments> shapes = new ArrayList<>();
        for (DType type : List.of(DType.Q8_0, DType.Q4_0)) {
            for (int[] s : new int[][] {{37, 2 * block}, {5, 4096 + 4 * block}, {5, 4096 + 3 * block}, {3, block}}) {
                shapes.add(Arguments.of(type, s[0], s[1]));
            }
        }
        return shapes;
    }

    /** Block b's F16 scale d of row j, as stored. */
    private static double blockScale(DType type, Tensor w, int j, int k, int b) {
        long block = ((long) j * k / MatMulWeights.BLOCK + b) * type.blockBytes();
        return Float.float16ToFloat(w.data().get(DType.SHORT, block));
    }

    /** Weight p of row j as its integer: the Q8_0 byte, or the Q4_0 nibble minus 8. */
    private static int quantized(DType type, Tensor w, int j, int k, int p) {
        int block = MatMulWeights.BLOCK;
        long start = ((long) j * k / block + p / block) * type.blockBytes() + 2;
        int i = p % block;
        if (type == DType.Q8_0) {
            return w.data().get(ValueLayout.JAVA_BYTE, start + i);
        }
        int packed = w.data().get(ValueLayout.JAVA_BYTE, start + i % (block / 2)) & 0xFF;
        return (i < block / 2 ? packed & 0x0F : packed >> 4) - 8;
    }

    /** A block scale of Inf or NaN (a corrupt file) reaches y as a non-finite value, not as a large finite one. */
    @ParameterizedTest
    @EnumSource(names = {"Q8_0", "Q4_0"})
    void nonFiniteBlockScalesGiveNonFiniteOutputs(DType type) {
        try (var arena = new TensorArena()) {
            var random = new SplittableRandom(5);
            int block = MatMulWeights.BLOCK;
            for (int k : new int[] {4 * block, 5 * block}) {
                for (int m : new int[] {1, MatMul.GEMV_MAX_ROWS + 1}) {
                    Tensor x = fill(arena.allocate(DType.F32, m, k), random);
                    Tensor w = weights(arena, type, 3, k, 0, random);
                    long rowBytes = type.byteSize(k);
                    w.data().set(DType.SHORT, 2 * type.blockBytes(), Float.floatToFloat16(Float.POSITIVE_INFINITY));
                    w.data().set(DType.SHORT, rowBytes + 3L * type.blockBytes(), Float.floatToFloat16(Float.NaN));
                    Tensor y = arena.allocate(DType.F32, m, 3);
                    twoThreads.matmul(x, w, null, y);
                    for (int i = 0; i < m; i++) {
                        String at = " (M=" + m + ", K=" + k + ")";
                        assertTrue(!Float.isFinite(y.getFloat(3L * i)), "Inf scale" + at);
                        assertTrue(Float.isNaN(y.getFloat(3L * i + 1)), "NaN scale" + at);
                        assertTrue(Float.isFinite(y.getFloat(3L * i + 2)), "finite scales" + at);
                    }
                }
            }
        }
    }

    /** Random weights at byte offset {@code offset}; quantized ones are rounded from F32 as a checkpoint's are. */
    private static Tensor weights(TensorArena arena, DType type, int rows, int cols, int offset,
                                  SplittableRandom random) {
        long bytes = type.byteSize((long) rows * cols);
        MemorySegment segment = arena.arena().allocate(bytes + offset, 64).asSlice(offset, bytes);
        Tensor w = Tensor.of(segment, type, rows, cols);
        if (!type.isQuantized()) {
            return fill(w, random);
        }
        BlockQuantizer.quantize(fill(arena.allocate(DType.F32, rows, cols), random), w);
        return w;
    }

    private static Tensor fill(Tensor t, SplittableRandom random) {
        for (long i = 0; i < t.size(); i++) {
            t.setFloat(i, (float) random.nextDouble(-1, 1));
        }
        return t;
    }

    private static float[] filled(int count, float value) {
        float[] values = new float[count];
        java.util.Arrays.fill(values, value);
        return values;
    }
}
