package dev.dpn.runtime.model;

import dev.dpn.kernels.Backend;
import dev.dpn.loader.config.PoolingConfig;
import dev.dpn.tensors.DType;
import java.util.Optional;
import java.util.OptionalInt;

/**
 * How one request runs.
 *
 * @param pooling       the pooling to run instead of the config's (the CLI's {@code --pooling}); empty: the config's
 * @param routerTokenId the tokenizer's id of {@code <ROUTER>}, which adaptive routers with use_special_token read
 * @param maxNewTokens  how many tokens decoding may append: the KV caches are sized for it
 * @param randomSeed    seeds random pooling
 * @param kvCacheType   F32 or F16 key/value caches; empty: the backend's {@link Backend#kvCacheType} (F16 on the
 *                      CPU, as llama.cpp's default; F32 keeps the reference's arithmetic exactly)
 */
public record SessionOptions(Optional<PoolingConfig> pooling, OptionalInt routerTokenId, int maxNewTokens,
        long randomSeed, Optional<DType> kvCacheType) {

    public SessionOptions {
        if (maxNewTokens < 0) {
            throw new IllegalArgumentException("maxNewTokens must not be negative, got " + maxNewTokens);
        }
        kvCacheType.ifPresent(SessionOptions::requireKvCacheType);
    }

    /**
     * Refuses a key/value cache type other than F32 and F16, the types caches are kept in.
     *
     * @throws IllegalArgumentException naming the type
     */
    public static void requireKvCacheType(DType type) {
        if (type != DType.F32 && type != DType.F16) {
            throw new IllegalArgumentException("the KV cache type must be F32 or F16, got " + type);
        }
    }

    /** The config's pooling, no router token, room for 256 new tokens, seed 0, the backend's KV cache type. */
    public static SessionOptions defaults() {
        return new SessionOptions(Optional.empty(), OptionalInt.empty(), 256, 0, Optional.empty());
    }

    public SessionOptions withPooling(PoolingConfig newPooling) {
        return new SessionOptions(Optional.of(newPooling), routerTokenId, maxNewTokens, randomSeed, kvCacheType);
    }

    public SessionOptions withRouterTokenId(int id) {
        return new SessionOptions(pooling, OptionalInt.of(id), maxNewTokens, randomSeed, kvCacheType);
    }

    public SessionOptions withMaxNewTokens(int count) {
        return new SessionOptions(pooling, routerTokenId, count, randomSeed, kvCacheType);
    }

    public SessionOptions withRandomSeed(long seed) {
        return new SessionOptions(pooling, routerTokenId, maxNewTokens, seed, kvCacheType);
    }

    public SessionOptions withKvCacheType(DType type) {
        return new SessionOptions(pooling, routerTokenId, maxNewTokens, randomSeed, Optional.of(type));
    }
}
