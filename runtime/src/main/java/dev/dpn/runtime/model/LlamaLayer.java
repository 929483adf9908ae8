package dev.dpn.runtime.model;

import dev.dpn.kernels.Backend;
import dev.dpn.loader.config.TextConfig;
import dev.dpn.tensors.DType;
import dev.dpn.tensors.Tensor;
import dev.dpn.tensors.TensorArena;

/**
 * One pre-norm Llama decoder layer: {@code x += o(attention(rope(q), rope(k), v))} over the layer's own KV cache
 * with a causal mask, then the SwiGLU MLP {@code x += down(silu(gate(h)) · up(h))}, each branch reading an RMSNorm
 * of x.
 */
record LlamaLayer(RmsNorm inputNorm, Linear q, Linear k, Linear v, Linear o, RmsNorm postAttentionNorm,
        Linear gate, Linear up, Linear down, int heads, int kvHeads, int headDim, float ropeTheta) {

    /**
     * A request's activations for up to {@code capacity} tokens, shared by every layer; a decode step uses the
     * first row.
     */
    record Buffers(Tensor normed, Tensor q, Tensor k, Tensor v, Tensor attended, Tensor projected, Tensor gate,
                   Tensor up) {
        static Buffers allocate(Backend backend, TensorArena arena, TextConfig c, int capacity) {
            int d = c.hiddenSize(), m = c.intermediateSize();
            return new Buffers(backend.allocate(arena, DType.F32, capacity, d),
                    backend.allocate(arena, DType.F32, capacity, d),
                    backend.allocate(arena, DType.F32, capacity, c.kvDim()),
                    backend.allocate(arena, DType.F32, capacity, c.kvDim()),
                    backend.allocate(arena, DType.F32, capacity, d),
                    backend.allocate(arena, DType.F32, capacity, d),
                    backend.allocate(arena, DType.F32, capacity, m),
                    backend.allocate(arena, DType.F32, capacity, m));
        }
    }

    static LlamaLayer load(CheckpointWeights weights, String prefix, TextConfig c) {
        int d = c.hiddenSize(), m = c.intermediateSize(), kv = c.kvDim();
        return new LlamaLayer(
                RmsNorm.load(weights, prefix + ".input_layernorm", d, c.rmsNormEps()),
                Linear.load(weights, prefix + ".self_attn.q_proj", d, d, false),
                Linear.load(weights, prefix + ".self_attn.k_proj", d, kv, false),
                Linear.load(weights, prefix + ".self_attn.v_proj", d, kv, false),
                Linear.load(weights, prefix + ".self_attn.o_proj", d, d, false),
                RmsNorm.load(weights, prefix + ".post_attention_layernorm", d, c.rmsNormEps()),
                Linear.load(weights, prefix + ".mlp.gate_proj", d, m, false),
                Linear.load(weights, prefix + ".mlp.up_proj", d, m, false),
                Linear.load(weights, prefix + ".mlp.down_proj", m, d, false),
                c.numAttentionHeads(),
                c.numKeyValueHeads(),
                c.headDim(),
                (float) c.ropeTheta());
    }

    /**
     * Runs the layer on x [T, D] in place, appending the T tokens to {@code cache}.
     *
     * @param positions the RoPE position of each row of x: its index in this layer's sequence
     */
    void forward(Backend backend, Tensor x, int[] positions, KvCache cache, Buffers buffers) {
        int tokens = Math.toIntExact(x.rowCount());
        Tensor normed = buffers.normed().rows(0, tokens);
        Tensor queries = buffers.q().rows(0, tokens);
        Tensor keys = buffers.k().rows(0, tokens);
        Tensor values = buffers.v().rows(0, tokens);
        Tensor attended = buffers.attended().rows(0, tokens);
        Tensor projected = buffers.projected().rows(0, tokens);

        inputNorm.apply(backend, x, normed);
        q.apply(backend, normed, queries);
        k.apply(backend, normed, keys);
        v.apply(backend, normed, values);
        backend.rope(queries, positions, headDim, ropeTheta);
        backend.rope(keys, positions, headDim, ropeTheta);
        cache.append(backend, keys, values);
        backend.attention(queries, cache.keys(), cache.values(), cache.length(), heads, kvHeads, true,
                (float) (1 / Math.sqrt(headDim)), attended);
        o.apply(backend, attended, projected);
        backend.add(x, projected, x);

        Tensor gated = buffers.gate().rows(0, tokens);
        Tensor upped = buffers.up().rows(0, tokens);
        postAttentionNorm.apply(backend, x, normed);
        gate.apply(backend, normed, gated);
        up.apply(backend, normed, upped);
        backend.siluGate(gated, upped, gated);
        down.apply(backend, gated, projected);
        backend.add(x, projected, x);
    }
}
