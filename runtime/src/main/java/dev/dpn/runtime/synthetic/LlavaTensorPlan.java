package dev.dpn.runtime.synthetic;

import dev.dpn.loader.TensorInfo;
import dev.dpn.loader.config.DpeLayer;
import dev.dpn.loader.config.Kernel;
import dev.dpn.loader.config.LlavaConfig;
import dev.dpn.loader.config.PoolingConfig;
import dev.dpn.loader.config.TextConfig;
import dev.dpn.loader.config.VisionConfig;
import dev.dpn.tensors.DType;
import java.util.ArrayList;
import java.util.List;

/**
 * The tensors of a llava-hf (transformers 4.x) checkpoint for a config, DPN routers included, in the state-dict
 * order of transformers' LlavaForConditionalGeneration: vision tower, projector, language model; within a module
 * its parts in declaration order, weight before bias; a layer's router after the layer's own weights.
 *
 * <p>Each tensor comes with a scale that keeps the activations of an untrained model finite and informative
 * through every layer (pre-norm residual networks, so each branch reads a unit-RMS input):
 * <ul>
 * <li>projections: std 1/√fan_in, so that each output has about the RMS of its input;
 * <li>the projections that end a residual branch (attention output, second MLP matrix): a further 1/√(2·layers),
 *     so that the 2·layers branches together add about one unit of variance to the residual stream, whatever the
 *     depth (GPT-2's scaled initialisation);
 * <li>norms: weight 1, bias 0; other biases small;
 * <li>routers: predictor logits with a spread of twice the router temperature, so that the expert probabilities
 *     are far from uniform and which expert wins depends on the input.
 * </ul>
 */
final class LlavaTensorPlan {
    /** Token, position and class embeddings: transformers' initializer_range. */
    private static final double EMBEDDING_STD = 0.02;
    /** Small next to the unit-scale activations they shift, but not zero, so that a dropped bias shows. */
    private static final double BIAS_STD = 0.02;
    /** Routers divide their logits by 10 before the softmax: a spread of 20 gives probabilities like 0.8/0.15/0.05. */
    private static final double ROUTER_LOGIT_STD = 20;
    /** The RMS of GELU(z) for z ~ N(0, 1): what the router's predictor reads after LayerNorm → Linear → GELU. */
    private static final double GELU_RMS = 0.652;

    private static final WeightInit ONE = WeightInit.constant(1f);
    private static final WeightInit ZERO = WeightInit.constant(0f);

    private final DType dtype;
    private final List<PlannedTensor> tensors = new ArrayList<>();

    private LlavaTensorPlan(DType dtype) {
        this.dtype = dtype;
    }

    static List<PlannedTensor> of(LlavaConfig config, DType dtype) {
        LlavaTensorPlan plan = new LlavaTensorPlan(dtype);
        plan.visionTower(config.visionConfig());
        plan.projector(config.visionConfig().hiddenSize(), config.textConfig().hiddenSize());
        plan.languageModel(config);
        return List.copyOf(plan.tensors);
    }

    /** All of CLIP, post_layernorm and the layers after the one LLaVA reads included, as llava-hf ships them. */
    private void visionTower(VisionConfig c) {
        String prefix = "vision_tower.vision_model.";
        int d = c.hiddenSize(), channels = c.numChannels(), patch = c.patchSize();
        add(prefix + "embeddings.class_embedding", WeightInit.withStd(EMBEDDING_STD), d);
        // Normalised pixels have about unit variance, so a patch's projection does too.
        add(prefix + "embeddings.patch_embedding.weight", WeightInit.withStd(1 / Math.sqrt(channels * patch * patch)),
                d, channels, patch, patch);
        add(prefix + "embeddings.position_embedding.weight", WeightInit.withStd(EMBEDDING_STD), c.patchCount() + 1, d);
        layerNorm(prefix + "pre_layrnorm", d);
        double residual = residualScale(c.numHiddenLayers());
        for (int i = 0; i < c.numHiddenLayers(); i++) {
            String layer = prefix + "encoder.layers." + i + ".";
            linear(layer + "self_attn.k_proj", d, d, true, 1);
            linear(layer + "self_attn.v_proj", d, d, true, 1);
            linear(layer + "self_attn.q_proj", d, d, true, 1);
            linear(layer + "self_attn.out_proj", d, d, true, residual);
            layerNorm(layer + "layer_norm1", d);
            linear(layer + "mlp.fc1", d, c.intermediateSize(), true, 1);
            linear(layer + "mlp.fc2", c.intermediateSize(), d, true, residual);
            layerNorm(layer + "layer_norm2", d);
        }
        layerNorm(prefix + "post_layernorm", d);
    }

    private void projector(int visionWidth, int textWidth) {
        linear("multi_modal_projector.linear_1", visionWidth, textWidth, true, 1);
        linear("multi_modal_projector.linear_2", textWidth, textWidth, true, 1);
    }

    private void languageModel(LlavaConfig config) {
        TextConfig c = config.textConfig();
        PoolingConfig pooling = config.pooling();
        String prefix = "language_model.model.";
        int d = c.hiddenSize(), m = c.intermediateSize(), kv = c.kvDim();
        add(prefix + "embed_tokens.weight", WeightInit.withStd(EMBEDDING_STD), c.vocabSize(), d);
        double residual = residualScale(c.numHiddenLayers());
        for (int i = 0; i < c.numHiddenLayers(); i++) {
            String layer = prefix + "layers." + i + ".";
            linear(layer + "self_attn.q_proj", d, d, false, 1);
            linear(layer + "self_attn.k_proj", d, kv, false, 1);
            linear(layer + "self_attn.v_proj", d, kv, false, 1);
            linear(layer + "self_attn.o_proj", d, d, false, residual);
            linear(layer + "mlp.gate_proj", d, m, false, 1);
            linear(layer + "mlp.up_proj", d, m, false, 1);
            linear(layer + "mlp.down_proj", m, d, false, residual);
            add(layer + "input_layernorm.weight", ONE, d);
            add(layer + "post_attention_layernorm.weight", ONE, d);
            if (pooling.type() != PoolingConfig.Type.NONE) {
                pooling.layerAt(i).ifPresent(dpe -> dpeWeights(layer, dpe, pooling, d));
            }
        }
        add(prefix + "norm.weight", ONE, d);
        if (!config.tieWordEmbeddings()) {
            // Unit-RMS final states give logits of about unit spread: a softmax neither flat nor one-hot.
            linear("language_model.lm_head", d, c.vocabSize(), false, 1);
        }
    }

    /** The router an adaptive layer needs, and conv experts where the pooling function is conv. */
    private void dpeWeights(String layer, DpeLayer dpe, PoolingConfig pooling, int d) {
        int experts = dpe.experts().size();
        if (pooling.type() == PoolingConfig.Type.ADAPTIVE) {
            String router = layer + "pooling_router.";
            int features = d;
            double featureRms = 1; // LayerNorm's output, or for v2 the raw hidden state, taken as unit-RMS
            if (pooling.routerVersion() == PoolingConfig.RouterVersion.V1) {
                layerNorm(router + "mlp1.0", d);
                features = d / 4;
                add(router + "mlp1.1.weight", WeightInit.withStd(1 / Math.sqrt(d)), features, d);
                featureRms = GELU_RMS;
            }
            add(router + "predictor.weight",
                    WeightInit.withStd(ROUTER_LOGIT_STD / (featureRms * Math.sqrt(features))), experts, features);
        }
        if (pooling.function() == PoolingConfig.Function.CONV) {
            for (int j = 0; j < experts; j++) {
                Kernel k = dpe.experts().get(j);
                // The authors' initialisation: a learnable average over the window.
                add(layer + "experts." + j + ".weight", WeightInit.constant(1f / k.area()), d, 1, k.height(),
                        k.width());
            }
        }
    }

    private void linear(String prefix, int in, int out, boolean bias, double scale) {
        add(prefix + ".weight", WeightInit.withStd(scale / Math.sqrt(in)), out, in);
        if (bias) {
            add(prefix + ".bias", WeightInit.withStd(BIAS_STD), out);
        }
    }

    private void layerNorm(String prefix, int size) {
        add(prefix + ".weight", ONE, size);
        add(prefix + ".bias", ZERO, size);
    }

    private static double residualScale(int layers) {
        return 1 / Math.sqrt(2.0 * layers);
    }

    private void add(String name, WeightInit init, long... shape) {
        tensors.add(new PlannedTensor(new TensorInfo(name, dtype, shape), init));
    }
}
