package dev.dpn.runtime.model;

import dev.dpn.kernels.Activation;
import dev.dpn.kernels.Backend;
import dev.dpn.loader.config.VisionConfig;
import dev.dpn.tensors.DType;
import dev.dpn.tensors.Tensor;
import dev.dpn.tensors.TensorArena;

/**
 * One pre-norm CLIP encoder layer: {@code x += out_proj(attention(layer_norm1(x)))}, then
 * {@code x += fc2(act(fc1(layer_norm2(x))))}; every projection has a bias, attention sees all tokens.
 */
record ClipLayer(LayerNorm layerNorm1, Linear q, Linear k, Linear v, Linear out, LayerNorm layerNorm2, Linear fc1,
        Linear fc2, Activation activation, int heads) {

    /** The activations of one image, allocated once per request and reused by every layer. */
    record Buffers(Tensor normed, Tensor q, Tensor k, Tensor v, Tensor attended, Tensor projected, Tensor mlp) {
        static Buffers allocate(Backend backend, TensorArena arena, VisionConfig c, int tokens) {
            int d = c.hiddenSize();
            return new Buffers(backend.allocate(arena, DType.F32, tokens, d),
                    backend.allocate(arena, DType.F32, tokens, d),
                    backend.allocate(arena, DType.F32, tokens, d),
                    backend.allocate(arena, DType.F32, tokens, d),
                    backend.allocate(arena, DType.F32, tokens, d),
                    backend.allocate(arena, DType.F32, tokens, d),
                    backend.allocate(arena, DType.F32, tokens, c.intermediateSize()));
        }
    }

    static ClipLayer load(CheckpointWeights weights, String prefix, VisionConfig c, Activation activation) {
        int d = c.hiddenSize(), m = c.intermediateSize();
        return new ClipLayer(
                LayerNorm.load(weights, prefix + ".layer_norm1", d, c.layerNormEps()),
                Linear.load(weights, prefix + ".self_attn.q_proj", d, d, true),
                Linear.load(weights, prefix + ".self_attn.k_proj", d, d, true),
                Linear.load(weights, prefix + ".self_attn.v_proj", d, d, true),
                Linear.load(weights, prefix + ".self_attn.out_proj", d, d, true),
                LayerNorm.load(weights, prefix + ".layer_norm2", d, c.layerNormEps()),
                Linear.load(weights, prefix + ".mlp.fc1", d, m, true),
                Linear.load(weights, prefix + ".mlp.fc2", m, d, true),
                activation,
                c.numAttentionHeads());
    }

    /** Runs the layer on x [T, D] in place. */
    void forward(Backend backend, Tensor x, Buffers b) {
        int tokens = Math.toIntExact(x.rowCount());
        float scale = (float) (1 / Math.sqrt(x.dim(-1) / heads));
        layerNorm1.apply(backend, x, b.normed());
        q.apply(backend, b.normed(), b.q());
        k.apply(backend, b.normed(), b.k());
        v.apply(backend, b.normed(), b.v());
        backend.attention(b.q(), b.k(), b.v(), tokens, heads, heads, false, scale, b.attended());
        out.apply(backend, b.attended(), b.projected());
        backend.add(x, b.projected(), x);

        layerNorm2.apply(backend, x, b.normed());
        fc1.apply(backend, b.normed(), b.mlp());
        backend.activate(activation, b.mlp(), b.mlp());
        fc2.apply(backend, b.mlp(), b.projected());
        backend.add(x, b.projected(), x);
    }
}
