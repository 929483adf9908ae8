package dev.dpn.runtime.synthetic;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.dpn.loader.TensorInfo;
import dev.dpn.loader.config.DpeLayer;
import dev.dpn.loader.config.LlavaConfig;
import dev.dpn.tensors.DType;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.function.Function;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The full-size shapes, checked against DPN.md §2 and §4 without writing a weight. */
class ModelShapeTest {
    /** CLIP ViT-L/14-336: embeddings, pre_layrnorm, 24 layers of 16 tensors, post_layernorm. */
    private static final int CLIP_TENSORS = 3 + 2 + 24 * 16 + 2;
    private static final long CLIP_PARAMETERS = 1024 + 1024 * 3 * 14 * 14 + 577 * 1024 + 2 * 1024
            + 24L * (4 * (1024 * 1024 + 1024) + 4 * 1024 + (4096 * 1024 + 4096) + (1024 * 4096 + 1024))
            + 2 * 1024;

    @TempDir
    Path dir;

    @Test
    void the7bCheckpointHasLlavaHfShapesPlusThreeRouters() {
        RandomCheckpoint llava = RandomCheckpoint.of(ModelShape.LLAVA_7B.config(), DType.F16);
        Map<String, TensorInfo> tensors = byName(llava);
        // llava-hf/llava-1.5-7b-hf's 686 tensors (CLIP, projector, embeddings, 32 × 9, norm, LM head), 4 per router.
        assertEquals(CLIP_TENSORS + 4 + (1 + 32 * 9 + 2) + 3 * 4, tensors.size());
        long projector = 1024 * 4096 + 4096 + 4096 * 4096 + 4096;
        long decoder = 2L * 32064 * 4096 + 32L * (4 * 4096 * 4096 + 3 * 4096 * 11008 + 2 * 4096) + 4096;
        long routers = 3L * (2 * 4096 + 4096 * 1024 + 1024 * 3);
        assertEquals(CLIP_PARAMETERS + projector + decoder + routers, llava.parameterCount());
        assertEquals(2 * llava.parameterCount(), llava.byteSize());

        assertShape(tensors, "vision_tower.vision_model.embeddings.patch_embedding.weight", 1024, 3, 14, 14);
        assertShape(tensors, "vision_tower.vision_model.embeddings.position_embedding.weight", 577, 1024);
        assertShape(tensors, "vision_tower.vision_model.encoder.layers.23.mlp.fc1.weight", 4096, 1024);
        assertShape(tensors, "multi_modal_projector.linear_1.weight", 4096, 1024);
        assertShape(tensors, "multi_modal_projector.linear_2.bias", 4096);
        assertShape(tensors, "language_model.model.embed_tokens.weight", 32064, 4096);
        assertShape(tensors, "language_model.model.layers.31.mlp.down_proj.weight", 4096, 11008);
        assertShape(tensors, "language_model.model.layers.0.self_attn.k_proj.weight", 4096, 4096);
        assertShape(tensors, "language_model.lm_head.weight", 32064, 4096);
        for (int layer : List.of(7, 15, 23)) {
            String router = "language_model.model.layers." + layer + ".pooling_router.";
            assertShape(tensors, router + "mlp1.0.weight", 4096);
            assertShape(tensors, router + "mlp1.1.weight", 1024, 4096);
            assertShape(tensors, router + "predictor.weight", 3, 1024);
        }
        assertFalse(tensors.keySet().stream().anyMatch(name -> name.contains("layers.8.pooling_router")));
        // 14.2 GB in shards of at most 5 GB, as transformers saves it.
        assertEquals(3, Shards.split(LlavaTensorPlan.of(llava.config(), DType.F16), 5_000_000_000L).size());
    }

    @Test
    void the13bCheckpointScalesTheDecoderAndItsDpeLayers() {
        RandomCheckpoint llava = RandomCheckpoint.of(ModelShape.LLAVA_13B.config(), DType.BF16);
        Map<String, TensorInfo> tensors = byName(llava);
        assertEquals(CLIP_TENSORS + 4 + (1 + 40 * 9 + 2) + 3 * 4, tensors.size());
        assertShape(tensors, "multi_modal_projector.linear_1.weight", 5120, 1024);
        assertShape(tensors, "language_model.model.layers.39.mlp.gate_proj.weight", 13824, 5120);
        assertShape(tensors, "language_model.model.layers.29.pooling_router.mlp1.1.weight", 1280, 5120);
        assertEquals(List.of(9, 19, 29), llava.config().pooling().layers().stream().map(DpeLayer::index).toList());
        assertEquals(DType.BF16, tensors.get("language_model.lm_head.weight").dtype());
    }

    @Test
    void theConfigAloneReadsBackAsTheShapeInLlavaHfForm() throws IOException {
        RandomCheckpoint llava = RandomCheckpoint.of(ModelShape.LLAVA_7B.config(), DType.F16);
        llava.writeConfig(dir);
        try (var files = Files.list(dir)) {
            assertEquals(List.of("config.json", "generation_config.json"),
                    files.map(f -> f.getFileName().toString()).sorted().toList());
        }
        assertEquals(ModelShape.LLAVA_7B.config(), LlavaConfig.read(dir.resolve("config.json")));

        JsonNode json = new ObjectMapper().readTree(dir.resolve("config.json").toFile());
        assertEquals(32000, json.get("image_token_index").asInt());
        assertEquals("float16", json.get("torch_dtype").asText());
        assertEquals(32064, json.get("text_config").get("vocab_size").asInt());
        assertEquals("[[1,1],[1,2],[2,2]]", json.get("pooling").get("pooling_layers").get(0).get("kernel_size")
                .toString());
        assertEquals(2, new ObjectMapper().readTree(dir.resolve("generation_config.json").toFile())
                .get("eos_token_id").asInt());
    }

    private static Map<String, TensorInfo> byName(RandomCheckpoint checkpoint) {
        return checkpoint.tensors().stream().collect(Collectors.toMap(TensorInfo::name, Function.identity()));
    }

    private static void assertShape(Map<String, TensorInfo> tensors, String name, long... shape) {
        assertArrayEquals(shape, tensors.get(name).shape(), name);
    }
}
