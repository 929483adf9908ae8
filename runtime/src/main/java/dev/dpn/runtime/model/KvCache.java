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

    /** Room for {@code capacity} tokens of {@code width} = kv heads · head dim, stored as {@code type}. */
    KvCache(Backend backend, TensorArena arena, int layer, int capacity, int width, DType type) {
        this.layer = layer;
        this.keys = backend.allocate(arena, type, capacity, width);
        this.values = backend.allocate(arena, type, capacity, width);
    }

    int length() {
        return length;
    }

    /** The bytes of keys and values held, which attention reads whole for each token it adds. */
    long bytes() {
        return 2 * keys.dtype().byteSize((long) length * keys.dim(1));
    }

    Tensor keys() {
        return keys;
    }

    Tensor values() {
        return values;
    }

    /**
     * Appends the keys and values (F32, [tokens, width]) of the next tokens, converted to the cache's type.
     */
    void append(Backend backend, Tensor newKeys, Tensor newValues) {
        int end = checkedEnd(Math.toIntExact(newKeys.rowCount()));
        backend.copy(newKeys, keys.rows(length, end));
        backend.copy(newValues, values.rows(length, end));
        length = end;
    }

    private int checkedEnd(int tokens) {
        if (length + tokens > keys.dim(0)) {
            throw new IllegalStateException("decoder layer " + layer + ": the KV cache holds " + keys.dim(0)
                    + " tokens, " + length + " used; the request's token budget (maxNewTokens) is spent");
        }
        return length + tokens;
    }
}
