package dev.dpn.loader.config;

import dev.dpn.loader.JsonConfig;

/**
 * The Llama decoder ({@code text_config}); absent keys take the defaults of transformers' LlamaConfig.
 *
 * @param numKeyValueHeads fewer than {@code numAttentionHeads} for grouped-query attention
 * @param hiddenAct        the SwiGLU gate's activation, by its transformers name
 */
public record TextConfig(int vocabSize, int hiddenSize, int intermediateSize, int numHiddenLayers,
        int numAttentionHeads, int numKeyValueHeads, double rmsNormEps, double ropeTheta, int maxPositionEmbeddings,
        String hiddenAct) {

    /** transformers' LlamaConfig defaults, which also stand in for an absent text_config. */
    public static final TextConfig LLAMA_DEFAULTS =
            new TextConfig(32000, 4096, 11008, 32, 32, 32, 1e-6, 10000.0, 2048, "silu");

    public int headDim() {
        return hiddenSize / numAttentionHeads;
    }

    /** Width of the key and value projections. */
    public int kvDim() {
        return numKeyValueHeads * headDim();
    }

    static TextConfig from(JsonConfig c) {
        TextConfig d = LLAMA_DEFAULTS;
        int heads = c.getPositiveInt("num_attention_heads", d.numAttentionHeads);
        TextConfig config = new TextConfig(
                c.getPositiveInt("vocab_size", d.vocabSize),
                c.getPositiveInt("hidden_size", d.hiddenSize),
                c.getPositiveInt("intermediate_size", d.intermediateSize),
                c.getPositiveInt("num_hidden_layers", d.numHiddenLayers),
                heads,
                c.getPositiveInt("num_key_value_heads", heads),
                c.getDouble("rms_norm_eps", d.rmsNormEps),
                c.getDouble("rope_theta", d.ropeTheta),
                c.getPositiveInt("max_position_embeddings", d.maxPositionEmbeddings),
                c.getString("hidden_act", d.hiddenAct));
        if (config.hiddenSize % heads != 0) {
            throw c.invalid("hidden_size", "divisible by num_attention_heads (" + heads + ")");
        }
        if (heads % config.numKeyValueHeads != 0) {
            throw c.invalid("num_key_value_heads", "a divisor of num_attention_heads (" + heads + ")");
        }
        if (config.headDim() % 2 != 0) {
            throw c.invalid("hidden_size", "num_attention_heads (" + heads + ") times an even head dimension (RoPE)");
        }
        if (c.has("head_dim") && c.getPositiveInt("head_dim") != config.headDim()) {
            throw c.invalid("head_dim", "hidden_size / num_attention_heads = " + config.headDim());
        }
        if (c.has("rope_scaling")) {
            throw c.invalid("rope_scaling", "null (RoPE scaling is not supported)");
        }
        if (!(config.rmsNormEps > 0)) {
            throw c.invalid("rms_norm_eps", "a positive number");
        }
        if (!(config.ropeTheta > 0)) {
            throw c.invalid("rope_theta", "a positive number");
        }
        return config;
    }
}
