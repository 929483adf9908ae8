package dev.dpn.runtime.model;

import dev.dpn.kernels.Activation;
import dev.dpn.kernels.Backend;
import dev.dpn.loader.SafetensorsCheckpoint;
import dev.dpn.loader.config.LlavaConfig;
import dev.dpn.loader.config.PoolingConfig;
import dev.dpn.tensors.DType;
import dev.dpn.tensors.TensorArena;
import java.io.IOException;
import java.nio.file.Path;

/**
 * A DPN-LLaVA model loaded from a llava-hf folder: CLIP vision tower → projector → Llama decoder with Dynamic
 * Pooling Experts. The weights stay mapped from the checkpoint; requests run as {@link LlavaSession}s.
 *
 * <p>The model does not own the backend; closing the model unmaps the checkpoint and frees its converted
 * parameters, after which its sessions may no longer run.
 */
public final class LlavaModel implements AutoCloseable {
    private static final String CONFIG_FILE = "config.json";

    private final LlavaConfig config;
    private final Backend backend;
    private final SafetensorsCheckpoint checkpoint;
    private final TensorArena arena;
    private final ClipVisionTower visionTower;
    private final Projector projector;
    private final LlamaDecoder decoder;
    private final DpeWeights dpeWeights;

    private LlavaModel(Path folder, LlavaConfig config, Backend backend, SafetensorsCheckpoint checkpoint,
            TensorArena arena, WeightLoading loading) {
        this.config = config;
        this.backend = backend;
        this.checkpoint = checkpoint;
        this.arena = arena;
        Path configFile = folder.resolve(CONFIG_FILE);
        if (!config.textConfig().hiddenAct().equals("silu")) {
            throw new ModelLoadException(configFile + ": text_config.hidden_act must be silu (a SwiGLU MLP), got "
                    + config.textConfig().hiddenAct());
        }
        try (CheckpointWeights weights = new CheckpointWeights(folder, checkpoint, backend, arena, loading)) {
            this.visionTower = ClipVisionTower.load(weights, config,
                    activation(configFile, "vision_config.hidden_act", config.visionConfig().hiddenAct()));
            this.projector = Projector.load(weights, config,
                    activation(configFile, "projector_hidden_act", config.projectorHiddenAct()));
            this.decoder = LlamaDecoder.load(weights, config);
            this.dpeWeights = DpeWeights.load(weights, config, backend, arena);
            weights.requireAllUsed(name -> isUnread(name, config));
        }
    }

    /**
     * Tensors a valid checkpoint may hold that this model never reads: CLIP's parts after the selected layer,
     * routers and experts the config's pooling does not use, buffers older transformers saved, a tied LM head.
     */
    private static boolean isUnread(String name, LlavaConfig config) {
        return ClipVisionTower.isUnused(name, config) || DpeWeights.isDpeWeight(name)
                || name.endsWith(".position_ids") || name.endsWith(".rotary_emb.inv_freq")
                || config.tieWordEmbeddings() && name.equals("language_model.lm_head.weight");
    }

    /**
     * Loads {@code folder}: config.json and model.safetensors (or a sharded index).
     *
     * @throws dev.dpn.loader.ConfigException if config.json is invalid
     * @throws ModelLoadException if a tensor is missing, mis-shaped or not described by the config, or the config
     *                            asks for an activation or MLP the runtime lacks
     * @throws IOException if a file cannot be read
     */
    public static LlavaModel load(Path folder, Backend backend) throws IOException {
        return load(folder, backend, WeightLoading.MAPPED);
    }

    /**
     * Loads {@code folder} as {@link #load(Path, Backend)} does, quantizing its float linear layers to
     * {@code quantizeTo} (Q8_0 or Q4_0; null reads them as stored) the way {@code dpn quantize} writes them:
     * same tensors, same numbers. The quantized copies live in memory; the stored ones are read once.
     *
     * @throws IllegalArgumentException if {@code quantizeTo} is neither null, Q8_0 nor Q4_0
     */
    public static LlavaModel load(Path folder, Backend backend, DType quantizeTo) throws IOException {
        return load(folder, backend, new WeightLoading(quantizeTo, false));
    }

    /** Loads {@code folder} as {@link #load(Path, Backend)} does, its linear layers as {@code loading} says. */
    public static LlavaModel load(Path folder, Backend backend, WeightLoading loading) throws IOException {
        LlavaConfig config = LlavaConfig.read(folder.resolve(CONFIG_FILE));
        SafetensorsCheckpoint checkpoint = SafetensorsCheckpoint.open(folder);
        TensorArena arena = new TensorArena();
        try {
            return new LlavaModel(folder, config, backend, checkpoint, arena, loading);
        } catch (RuntimeException e) {
            arena.close();
            checkpoint.close();
            throw e;
        }
    }

    public LlavaConfig config() {
        return config;
    }

    /** Starts a request; close the session to free its activations and KV caches. */
    public LlavaSession newSession(SessionOptions options) {
        PoolingConfig pooling = options.pooling().orElse(config.pooling());
        options.kvCacheType().ifPresent(type -> {
            if (type != DType.F32 && type != backend.kvCacheType()) {
                throw new IllegalArgumentException("the " + backend.name() + " backend keeps " + backend.kvCacheType()
                        + " key/value caches, not " + type);
            }
        });
        for (var layer : pooling.layers()) {
            if (layer.index() >= config.textConfig().numHiddenLayers()) {
                throw new IllegalArgumentException("pooling at decoder layer " + layer.index()
                        + ", but the decoder has " + config.textConfig().numHiddenLayers() + " layers");
            }
        }
        if (pooling.type() != PoolingConfig.Type.NONE
                && config.visionFeatureSelectStrategy() == LlavaConfig.FeatureSelect.FULL) {
            throw new IllegalArgumentException("pooling needs a grid of patch tokens, but the model keeps the class "
                    + "token (vision_feature_select_strategy full)");
        }
        dpeWeights.requireFor(pooling);
        return new LlavaSession(this, pooling, options);
    }

    /**
     * The visual tokens one image adds to a prompt under {@code pooling}, as a grid: the patch grid; with the class
     * token kept, a single row (never pooled); with the authors' prepooling, the patch grid pooled 2×2.
     */
    public Grid visualGrid(PoolingConfig pooling) {
        int side = config.visionConfig().gridSize();
        if (config.visionFeatureSelectStrategy() == LlavaConfig.FeatureSelect.FULL) {
            return new Grid(1, side * side + 1);
        }
        if (pooling.type() != PoolingConfig.Type.NONE && pooling.prepooling()) {
            return new Grid(side / 2, side / 2);
        }
        return new Grid(side, side);
    }

    Backend backend() {
        return backend;
    }

    ClipVisionTower visionTower() {
        return visionTower;
    }

    Projector projector() {
        return projector;
    }

    LlamaDecoder decoder() {
        return decoder;
    }

    DpeWeights dpeWeights() {
        return dpeWeights;
    }

    @Override
    public void close() {
        arena.close();
        checkpoint.close();
    }

    private static Activation activation(Path configFile, String key, String name) {
        try {
            return Activation.fromConfigName(name);
        } catch (IllegalArgumentException e) {
            throw new ModelLoadException(configFile + ": " + key + ": " + e.getMessage());
        }
    }
}
