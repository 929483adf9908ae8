package dev.dpn.runtime.synthetic;

import com.fasterxml.jackson.core.util.DefaultPrettyPrinter;
import com.fasterxml.jackson.core.util.Separators;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.ObjectWriter;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.dpn.loader.config.DpeLayer;
import dev.dpn.loader.config.Kernel;
import dev.dpn.loader.config.LlavaConfig;
import dev.dpn.loader.config.PoolingConfig;
import dev.dpn.loader.config.TextConfig;
import dev.dpn.loader.config.VisionConfig;
import dev.dpn.tensors.DType;
import java.io.IOException;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * The JSON files of a llava-hf model folder as transformers 4.x writes them: {@code config.json}, every shape
 * spelled out and the DPN {@code pooling} section added; {@code generation_config.json}; and for a sharded
 * checkpoint, {@code model.safetensors.index.json}.
 */
final class ModelFolderJson {
    static final String CONFIG_FILE = "config.json";
    static final String GENERATION_CONFIG_FILE = "generation_config.json";
    static final String INDEX_FILE = "model.safetensors.index.json";
    /** Llama's {@code <s>} and {@code </s>}, and llava-hf's {@code <pad>}. */
    private static final int BOS = 1, EOS = 2, PAD = 32001;

    private static final ObjectMapper MAPPER = new ObjectMapper();
    /** Two-space indents and {@code "key": value}, as Python's json.dump(indent=2) writes them. */
    private static final ObjectWriter WRITER = MAPPER.writer(new DefaultPrettyPrinter().withSeparators(
            Separators.createDefaultInstance().withObjectFieldValueSpacing(Separators.Spacing.AFTER)));

    private ModelFolderJson() {
    }

    static void writeConfigs(LlavaConfig config, DType dtype, Path folder) throws IOException {
        WRITER.writeValue(folder.resolve(CONFIG_FILE).toFile(), config(config, dtype));
        WRITER.writeValue(folder.resolve(GENERATION_CONFIG_FILE).toFile(), generationConfig());
    }

    /** transformers' index: the total byte size, and each tensor's shard, by tensor name in sorted order. */
    static Path writeIndex(List<Shards.Shard> shards, Path folder) throws IOException {
        ObjectNode index = MAPPER.createObjectNode();
        index.putObject("metadata").put("total_size", shards.stream().mapToLong(Shards.Shard::byteSize).sum());
        ObjectNode weightMap = index.putObject("weight_map");
        shards.stream()
                .flatMap(shard -> shard.tensors().stream().map(t -> Map.entry(t.name(), shard.fileName())))
                .sorted(Map.Entry.comparingByKey())
                .forEach(e -> weightMap.put(e.getKey(), e.getValue()));
        Path file = folder.resolve(INDEX_FILE);
        WRITER.writeValue(file.toFile(), index);
        return file;
    }

    static ObjectNode config(LlavaConfig c, DType dtype) {
        ObjectNode json = MAPPER.createObjectNode();
        json.putArray("architectures").add("LlavaForConditionalGeneration");
        json.put("model_type", "llava");
        json.put("torch_dtype", torchName(dtype));
        json.put("image_token_index", c.imageTokenIndex());
        json.put("pad_token_id", PAD);
        json.put("projector_hidden_act", c.projectorHiddenAct());
        json.put("vision_feature_layer", c.visionFeatureLayer());
        json.put("vision_feature_select_strategy", lower(c.visionFeatureSelectStrategy()));
        json.put("tie_word_embeddings", c.tieWordEmbeddings());
        json.put("vocab_size", c.textConfig().vocabSize());
        json.set("text_config", text(c.textConfig(), dtype));
        json.set("vision_config", vision(c.visionConfig()));
        if (c.pooling().type() != PoolingConfig.Type.NONE) {
            json.set("pooling", pooling(c.pooling()));
        }
        return json;
    }

    private static ObjectNode text(TextConfig t, DType dtype) {
        ObjectNode json = MAPPER.createObjectNode();
        json.putArray("architectures").add("LlamaForCausalLM");
        json.put("model_type", "llama");
        json.put("torch_dtype", torchName(dtype));
        json.put("vocab_size", t.vocabSize());
        json.put("hidden_size", t.hiddenSize());
        json.put("intermediate_size", t.intermediateSize());
        json.put("num_hidden_layers", t.numHiddenLayers());
        json.put("num_attention_heads", t.numAttentionHeads());
        json.put("num_key_value_heads", t.numKeyValueHeads());
        json.put("hidden_act", t.hiddenAct());
        json.put("rms_norm_eps", t.rmsNormEps());
        json.put("rope_theta", t.ropeTheta());
        json.put("max_position_embeddings", t.maxPositionEmbeddings());
        return json;
    }

    private static ObjectNode vision(VisionConfig v) {
        ObjectNode json = MAPPER.createObjectNode();
        json.put("model_type", "clip_vision_model");
        json.put("hidden_size", v.hiddenSize());
        json.put("intermediate_size", v.intermediateSize());
        json.put("num_hidden_layers", v.numHiddenLayers());
        json.put("num_attention_heads", v.numAttentionHeads());
        json.put("num_channels", v.numChannels());
        json.put("image_size", v.imageSize());
        json.put("patch_size", v.patchSize());
        json.put("hidden_act", v.hiddenAct());
        json.put("layer_norm_eps", v.layerNormEps());
        return json;
    }

    /** DPN.md §3's schema; a static layer's kernel is one pair, the other types list one pair per expert. */
    private static ObjectNode pooling(PoolingConfig p) {
        ObjectNode json = MAPPER.createObjectNode();
        json.put("pooling_type", lower(p.type()));
        ArrayNode layers = json.putArray("pooling_layers");
        for (DpeLayer layer : p.layers()) {
            ObjectNode entry = layers.addObject();
            entry.put("index", layer.index());
            entry.set("kernel_size", kernels(layer, p.type()));
            entry.set("stride", kernels(layer, p.type()));
        }
        json.put("pooling_function", lower(p.function()));
        json.put("pooling_location", lower(p.location()));
        json.put("router_version", lower(p.routerVersion()));
        json.put("use_special_token", p.useSpecialToken());
        json.put("prepooling", p.prepooling());
        json.put("detach_cls_token_to_predict", p.detachClsTokenToPredict());
        return json;
    }

    private static ArrayNode kernels(DpeLayer layer, PoolingConfig.Type type) {
        if (type == PoolingConfig.Type.STATIC) {
            return pair(layer.experts().getFirst());
        }
        ArrayNode pairs = MAPPER.createArrayNode();
        layer.experts().forEach(k -> pairs.add(pair(k)));
        return pairs;
    }

    private static ArrayNode pair(Kernel k) {
        return MAPPER.createArrayNode().add(k.height()).add(k.width());
    }

    private static ObjectNode generationConfig() {
        ObjectNode json = MAPPER.createObjectNode();
        json.put("bos_token_id", BOS);
        json.put("eos_token_id", EOS);
        json.put("pad_token_id", PAD);
        return json;
    }

    private static String torchName(DType dtype) {
        return switch (dtype) {
            case F16 -> "float16";
            case BF16 -> "bfloat16";
            case F32 -> "float32";
            default -> throw new IllegalArgumentException("no random checkpoint in " + dtype);
        };
    }

    private static String lower(Enum<?> value) {
        return value.name().toLowerCase(Locale.ROOT);
    }
}
