package dev.dpn.runtime.model;

import dev.dpn.kernels.Backend;
import dev.dpn.tensors.DType;
import dev.dpn.tensors.Tensor;
import dev.dpn.tensors.TensorArena;

/**
 * The keys (after RoPE) and values of every token one decoder layer has seen. Layers after a DPE layer see fewer
 * tokens, so each layer's cache has its own length, which is also the position its next token takes.
 */
final class KvCache {
    private final int layer;
    private final Tensor keys;
    private final Tensor values;
    private int length;

    /** Room for {@code capacity} tokens of {@code width} = kv heads · head dim. */
    KvCache(Backend backend, TensorArena arena, int layer, int capacity, int width) {
        this.layer = layer;
        this.keys = backend.allocate(arena, DType.F32, capacity, width);
        this.values = backend.allocate(arena, DType.F32, capacity, width);
    }

    int length() {
        return length;
    }

    Tensor keys() {
        return keys;
    }

    Tensor values() {
        return values;
    }

    /** Where the keys of the next {@code tokens} tokens go. */
    Tensor nextKeys(int tokens) {
        return keys.rows(length, checkedEnd(tokens));
    }

    /** Where the values of the next {@code tokens} tokens go. */
    Tensor nextValues(int tokens) {
        return values.rows(length, checkedEnd(tokens));
    }

    /** Counts the tokens whose keys and values were just written. */
    void advance(int tokens) {
        length = checkedEnd(tokens);
    }

    private int checkedEnd(int tokens) {
        if (length + tokens > keys.dim(0)) {
            throw new IllegalStateException("decoder layer " + layer + ": the KV cache holds " + keys.dim(0)
                    + " tokens, " + length + " used; the request's token budget (maxNewTokens) is spent");
        }
        return length + tokens;
    }
}
