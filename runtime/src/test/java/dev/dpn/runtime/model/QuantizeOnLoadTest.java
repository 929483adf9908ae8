package dev.dpn.runtime.model;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.dpn.kernels.cpu.CpuBackend;
import dev.dpn.loader.config.PoolingConfig;
import dev.dpn.runtime.quantize.CheckpointQuantizer;
import dev.dpn.tensors.DType;
import java.io.IOException;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/** Quantizing on load gives the numbers of the checkpoint {@code dpn quantize} writes. */
class QuantizeOnLoadTest {
    private static final Path TINY = Path.of("..", "models", "tiny-dpn-llava");
    private static final int[] PROMPT = {1, 450, 4996, 17354, 310, 278, 1967, 338};

    @TempDir
    Path dir;

    @ParameterizedTest
    @EnumSource(names = {"Q8_0", "Q4_0"})
    void matchesTheQuantizedCheckpoint(DType type) throws IOException {
        Path copy = dir.resolve(type.name());
        CheckpointQuantizer.quantize(TINY, copy, type, done -> { });

        float[] stored = logits(copy, null);
        float[] onLoad = logits(TINY, type);
        float[] unquantized = logits(TINY, null);

        // The same weights, bit for bit (CheckpointQuantizerTest); the logits may still differ in their last bits,
        // since a vector sum reduces in another order before the JIT has compiled it than after.
        assertTrue(maxDifference(stored, onLoad) < 1e-5, () -> "differ by " + maxDifference(stored, onLoad));
        assertTrue(maxDifference(unquantized, onLoad) > 1e-3, "quantizing changes the logits");
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
    private static float[] logits(Path folder, DType quantizeTo) throws IOException {
        try (CpuBackend backend = new CpuBackend(2);
             LlavaModel model = LlavaModel.load(folder, backend, quantizeTo);
             LlavaSession session = model.newSession(
                     SessionOptions.defaults().withPooling(PoolingConfig.NONE).withMaxNewTokens(1))) {
            return session.prefill(PROMPT, null).toFloatArray();
        }
    }
}
