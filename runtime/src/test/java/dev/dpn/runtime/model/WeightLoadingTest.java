package dev.dpn.runtime.model;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.dpn.kernels.cpu.CpuBackend;
import dev.dpn.loader.config.PoolingConfig;
import dev.dpn.runtime.quantize.CheckpointQuantizer;
import dev.dpn.tensors.DType;
import dev.dpn.tensors.Tensor;
import java.io.IOException;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * Loading options: quantizing on load gives the numbers of the checkpoint {@code dpn quantize} writes; linear layers
 * copied into memory give the numbers of the mapped ones.
 */
class WeightLoadingTest {
    private static final Path TINY = Path.of("..", "models", "tiny-dpn-llava");
    private static final int[] PROMPT = {1, 450, 4996, 17354, 310, 278, 1967, 338};

    @TempDir
    Path dir;

    @ParameterizedTest
    @EnumSource(names = {"Q8_0", "Q4_0"})
    void matchesTheQuantizedCheckpoint(DType type) throws IOException {
        Path copy = dir.resolve(type.name());
        CheckpointQuantizer.quantize(TINY, copy, type, done -> { });

        float[] stored = logits(copy, WeightLoading.MAPPED);
        float[] onLoad = logits(TINY, new WeightLoading(type, false));
        float[] unquantized = logits(TINY, WeightLoading.MAPPED);

        // The same weights, bit for bit (CheckpointQuantizerTest); the logits may still differ in their last bits,
        // since a vector sum reduces in another order before the JIT has compiled it than after.
        assertTrue(maxDifference(stored, onLoad) < 1e-5, () -> "differ by " + maxDifference(stored, onLoad));
        assertTrue(maxDifference(unquantized, onLoad) > 1e-3, "quantizing changes the logits");
    }

    /** The stored F16 model and a Q4_0 copy, each mapped and copied into memory. */
    @ParameterizedTest
    @EnumSource(names = {"F16", "Q4_0"})
    void weightsInMemoryGiveTheMappedNumbers(DType type) throws IOException {
        Path folder = TINY;
        if (type == DType.Q4_0) {
            folder = dir.resolve(type.name());
            CheckpointQuantizer.quantize(TINY, folder, type, done -> { });
        }
        float[] mapped = logits(folder, WeightLoading.MAPPED);
        float[] inMemory = logits(folder, new WeightLoading(null, true));
        assertTrue(maxDifference(mapped, inMemory) < 1e-5, () -> "differ by " + maxDifference(mapped, inMemory));
        try (CpuBackend backend = new CpuBackend(1);
             LlavaModel model = LlavaModel.load(folder, backend, new WeightLoading(null, true));
             LlavaModel inPlace = LlavaModel.load(folder, backend, WeightLoading.MAPPED)) {
            Tensor q = model.decoder().layers().getFirst().q().weight();
            assertEquals(type, q.dtype());
            // The embedding table is read in place either way; the matrices live in its mapping only when mapped.
            assertEquals(inPlace.decoder().embedTokens().data().scope(),
                    inPlace.decoder().layers().getFirst().q().weight().data().scope());
            assertNotEquals(model.decoder().embedTokens().data().scope(), q.data().scope(),
                    "the weights were copied out of the mapping");
        }
    }

    @Test
    void refusesTypesOtherThanQ8AndQ4() {
        try (CpuBackend backend = new CpuBackend(1)) {
            IllegalArgumentException error = assertThrows(IllegalArgumentException.class,
                    () -> LlavaModel.load(TINY, backend, DType.F16));
            assertEquals("cannot quantize to F16; Q8_0 or Q4_0", error.getMessage());
        }
    }

    private static double maxDifference(float[] a, float[] b) {
        assertEquals(a.length, b.length);
        double max = 0;
        for (int i = 0; i < a.length; i++) {
            max = Math.max(max, Math.abs((double) a[i] - b[i]));
        }
        return max;
    }

    /** The last prompt token's logits, the prompt run without an image. */
    private static float[] logits(Path folder, WeightLoading loading) throws IOException {
        try (CpuBackend backend = new CpuBackend(2);
             LlavaModel model = LlavaModel.load(folder, backend, loading);
             LlavaSession session = model.newSession(
                     SessionOptions.defaults().withPooling(PoolingConfig.NONE).withMaxNewTokens(1))) {
            return session.prefill(PROMPT, null).toFloatArray();
        }
    }
}
