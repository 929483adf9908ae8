package dev.dpn.runtime.quantize;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.dpn.loader.SafetensorsCheckpoint;
import dev.dpn.runtime.DpnModel;
import dev.dpn.runtime.GenerateOptions;
import dev.dpn.runtime.synthetic.ModelShape;
import dev.dpn.runtime.synthetic.RandomCheckpoint;
import dev.dpn.tensors.BlockQuantizer;
import dev.dpn.tensors.DType;
import dev.dpn.tensors.Tensor;
import dev.dpn.tensors.TensorArena;
import java.io.IOException;
import java.lang.foreign.ValueLayout;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

class CheckpointQuantizerTest {
    private static final Path MODELS = Path.of("..", "models");

    @TempDir
    Path dir;

    @Test
    void quantizesTheLinearLayersShardByShardAndKeepsTheRest() throws IOException {
        Path source = dir.resolve("f16");
        RandomCheckpoint random = RandomCheckpoint.of(ModelShape.TINY.config(), DType.F16);
        random.writeConfig(source);
        random.writeWeights(source, 5, 3_000_000, done -> { });
        Path out = dir.resolve("q4");

        CheckpointQuantizer.Summary summary = CheckpointQuantizer.quantize(source, out, DType.Q4_0, done -> { });

        List<String> quantized = new ArrayList<>();
        try (SafetensorsCheckpoint before = SafetensorsCheckpoint.open(source);
             SafetensorsCheckpoint after = SafetensorsCheckpoint.open(out);
             TensorArena arena = new TensorArena()) {
            assertEquals(List.copyOf(before.names()), List.copyOf(after.names()));
            long total = 0;
            for (String name : before.names()) {
                Tensor original = before.tensor(name);
                Tensor copy = after.tensor(name);
                assertArrayEquals(original.shape(), copy.shape(), name);
                total += copy.byteSize();
                Tensor expected = original;
                if (copy.dtype() == DType.Q4_0) {
                    quantized.add(name);
                    expected = arena.allocate(DType.Q4_0, original.shape());
                    BlockQuantizer.quantize(original, expected);
                } else {
                    assertEquals(DType.F16, copy.dtype(), name);
                }
                assertArrayEquals(expected.data().toArray(ValueLayout.JAVA_BYTE),
                        copy.data().toArray(ValueLayout.JAVA_BYTE), name);
            }
            JsonNode index = new ObjectMapper().readTree(out.resolve("model.safetensors.index.json").toFile());
            assertEquals(total, index.at("/metadata/total_size").asLong());
        }
        // The tiny shape's MLP is 176 wide: down_proj's rows are 5.5 blocks, so it stays F16 in all 4 layers.
        assertTrue(summary.notWholeBlocks().stream().allMatch(n -> n.endsWith("mlp.down_proj.weight")),
                summary.notWholeBlocks().toString());
        assertEquals(4, summary.notWholeBlocks().size());
        assertEquals(summary.quantized(), quantized.size());
        assertTrue(quantized.contains("language_model.lm_head.weight"), quantized.toString());
        assertTrue(quantized.contains("multi_modal_projector.linear_1.weight"), quantized.toString());
        assertTrue(quantized.contains("vision_tower.vision_model.encoder.layers.0.self_attn.out_proj.weight"),
                quantized.toString());
        assertTrue(quantized.stream().noneMatch(n -> n.contains("embed") || n.contains("router")
                || n.contains("norm")), quantized.toString());
        assertTrue(Files.exists(out.resolve("config.json")));
        // 3 CLIP layers × 6 linears, 4 decoder layers × 6 (all but down_proj), the projector's 2, lm_head.
        assertEquals(3 * 6 + 4 * 6 + 2 + 1, quantized.size(), quantized.toString());
    }

    /** The README's question, asked of the embedded DPN model quantized both ways: the answer survives. */
    @ParameterizedTest
    @EnumSource(names = {"Q8_0", "Q4_0"})
    void theQuantizedTinyModelStillAnswers(DType type) throws IOException {
        Path out = dir.resolve(type.name());
        CheckpointQuantizer.quantize(MODELS.resolve("tiny-dpn-llava"), out, type, done -> { });
        try (DpnModel model = DpnModel.load(out, 2)) {
            GenerateOptions options = GenerateOptions.defaults().withTemplate(model.defaultTemplate());
            assertEquals("green", model.generate(Path.of("..", "world", "eval", "0009.png"),
                    "What color is the background?", options).text());
        }
    }

    @Test
    void refusesAQuantizedSource() throws IOException {
        Path q8 = dir.resolve("q8");
        CheckpointQuantizer.quantize(MODELS.resolve("tiny-llava"), q8, DType.Q8_0, done -> { });
        var error = assertThrows(IllegalArgumentException.class,
                () -> CheckpointQuantizer.quantize(q8, dir.resolve("again"), DType.Q4_0, done -> { }));
        assertTrue(error.getMessage().endsWith("is already Q8_0; quantize an F32, F16 or BF16 checkpoint"),
                error.getMessage());
        assertTrue(Files.notExists(dir.resolve("again")), "nothing written");
    }
}
