package dev.dpn.runtime.model;

import dev.dpn.loader.config.PoolingConfig;
import java.util.Optional;
import java.util.OptionalInt;

/**
 * How one request runs.
 *
 * @param pooling       the pooling to run instead of the config's (the CLI's {@code --pooling}); empty: the config's
 * @param routerTokenId the tokenizer's id of {@code <ROUTER>}, which adaptive routers with use_special_token read
 * @param maxNewTokens  how many tokens decoding may append: the KV caches are sized for it
 * @param randomSeed    seeds random pooling
 */
public record SessionOptions(Optional<PoolingConfig> pooling, OptionalInt routerTokenId, int maxNewTokens,
        long randomSeed) {

    public SessionOptions {
        if (maxNewTokens < 0) {
            throw new IllegalArgumentException("maxNewTokens must not be negative, got " + maxNewTokens);
        }
    }

    /** The config's pooling, no router token, room for 256 new tokens, seed 0. */
    public static SessionOptions defaults() {
        return new SessionOptions(Optional.empty(), OptionalInt.empty(), 256, 0);
    }

    public SessionOptions withPooling(PoolingConfig newPooling) {
        return new SessionOptions(Optional.of(newPooling), routerTokenId, maxNewTokens, randomSeed);
    }

    public SessionOptions withRouterTokenId(int id) {
        return new SessionOptions(pooling, OptionalInt.of(id), maxNewTokens, randomSeed);
    }

    public SessionOptions withMaxNewTokens(int count) {
        return new SessionOptions(pooling, routerTokenId, count, randomSeed);
    }

    public SessionOptions withRandomSeed(long seed) {
        return new SessionOptions(pooling, routerTokenId, maxNewTokens, seed);
    }
}
