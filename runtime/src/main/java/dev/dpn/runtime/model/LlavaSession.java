package dev.dpn.runtime.model;

import dev.dpn.kernels.Backend;
import dev.dpn.kernels.PoolType;
import dev.dpn.loader.config.LlavaConfig;
import dev.dpn.loader.config.PoolingConfig;
import dev.dpn.loader.config.TextConfig;
import dev.dpn.tensors.DType;
import dev.dpn.tensors.Tensor;
import dev.dpn.tensors.TensorArena;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.stream.IntStream;

/**
 * One request: a prefill of the prompt (and image), then decode steps of one token each. Its activations, KV
 * caches and logits live in its own arena, allocated once at prefill and released on {@link #close()}.
 *
 * <p>The logits returned by {@link #prefill} and {@link #decode} are a view of one buffer that the next step
 * overwrites. Not thread-safe.
 */
public final class LlavaSession implements AutoCloseable {
    private final LlavaModel model;
    private final Backend backend;
    private final LlavaConfig config;
    private final PoolingConfig pooling;
    private final SessionOptions options;
    private final TensorArena arena = new TensorArena();
    private final KvCache[] caches;
    private final int[] decodeToken = new int[1];
    private final int[] decodePosition = new int[1];
    private boolean prefillStarted;
    private LlamaLayer.Buffers buffers;
    /** The hidden state [1, D] of the token a decode step appends. */
    private Tensor decodeHidden;
    private Tensor normed;
    private Tensor logits;
    private PrefillTrace trace;
    private long projectorNanos;

    LlavaSession(LlavaModel model, PoolingConfig pooling, SessionOptions options) {
        this.model = model;
        this.backend = model.backend();
        this.config = model.config();
        this.pooling = pooling;
        this.options = options;
        this.caches = new KvCache[config.textConfig().numHiddenLayers()];
    }

    /**
     * Runs the prompt through the model and returns the next-token logits [V].
     *
     * @param ids    prompt token ids; at most one is the image placeholder ({@code image_token_index}), where the
     *               image's visual tokens go
     * @param pixels the preprocessed image [C, S, S] F32, or null for a text-only prompt
     * @throws IllegalArgumentException if the prompt and image do not fit together or the model
     * @throws IllegalStateException    if this session has run (or failed) a prefill already
     */
    public Tensor prefill(int[] ids, Tensor pixels) {
        return prefill(ids, pixels, PrefillObserver.NONE);
    }

    /** What the prefill did: pooling decisions, tokens and grid per layer. */
    public PrefillTrace trace() {
        if (trace == null) {
            throw new IllegalStateException("no prefill yet");
        }
        return trace;
    }

    /**
     * Appends {@code token} and returns the logits [V] after it. Each layer places the token at its own KV length.
     *
     * @throws IllegalStateException if there was no prefill, or the KV caches are full (see maxNewTokens)
     */
    public Tensor decode(int token) {
        if (trace == null) {
            throw new IllegalStateException("decode needs a prefill first");
        }
        TextConfig text = config.textConfig();
        if (token < 0 || token >= text.vocabSize()) {
            throw new IllegalArgumentException("token id " + token + " outside the vocabulary of " + text.vocabSize());
        }
        decodeToken[0] = token;
        model.decoder().embed(backend, decodeToken, decodeHidden);
        List<LlamaLayer> layers = model.decoder().layers();
        for (int i = 0; i < layers.size(); i++) {
            decodePosition[0] = caches[i].length();
            layers.get(i).forward(backend, decodeHidden, decodePosition, caches[i], buffers);
        }
        model.decoder().logits(backend, decodeHidden, normed, logits);
        return logits.reshape(text.vocabSize());
    }

    /**
     * The bytes all layers' KV caches hold now: what the next decode step's attention reads besides the weights
     * (layers after a pooling layer hold fewer tokens).
     */
    public long cacheBytes() {
        long bytes = 0;
        for (KvCache cache : caches) {
            bytes += cache == null ? 0 : cache.bytes();
        }
        return bytes;
    }

    @Override
    public void close() {
        arena.close();
    }

    Tensor prefill(int[] ids, Tensor pixels, PrefillObserver observer) {
        if (prefillStarted) {
            throw new IllegalStateException("a session runs one prefill; start a new session for a new prompt");
        }
        prefillStarted = true;
        int imageAt = imagePlaceholder(ids, pixels != null);
        int[] routerTokens = routerTokens(ids, imageAt);
        long start = System.nanoTime();
        ImageFeatures image = pixels == null ? ImageFeatures.NONE : encode(pixels, observer);
        backend.synchronize();
        long visionTowerNanos = pixels == null ? 0 : System.nanoTime() - start;
        Sequence sequence = embed(ids, imageAt, image, observer);
        long embedNanos = System.nanoTime() - start;
        DynamicPooling dynamicPooling = new DynamicPooling(backend, arena, pooling, model.dpeWeights(), routerTokens,
                options.randomSeed(), config.textConfig().hiddenSize(), image.grid().tokens());

        List<Integer> layerTokens = new ArrayList<>();
        List<Grid> layerGrids = new ArrayList<>();
        int[] positions = {};
        List<LlamaLayer> layers = model.decoder().layers();
        for (int i = 0; i < layers.size(); i++) {
            dynamicPooling.beforeLayer(i, sequence);
            layerTokens.add(sequence.length());
            layerGrids.add(sequence.grid());
            if (positions.length != sequence.length()) {
                // After pooling, the shorter sequence is numbered afresh: positions 0..length-1.
                positions = IntStream.range(0, sequence.length()).toArray();
            }
            caches[i] = new KvCache(backend, arena, i, sequence.length() + options.maxNewTokens(),
                    config.textConfig().kvDim(), options.kvCacheType().orElse(backend.kvCacheType()));
            layers.get(i).forward(backend, sequence.hidden(), positions, caches[i], buffers);
            dynamicPooling.afterLayer(i, sequence);
            observer.afterLayer(i, sequence.hidden());
        }
        int last = sequence.length() - 1;
        model.decoder().logits(backend, sequence.hidden().rows(last, last + 1), normed, logits);
        trace = new PrefillTrace(ids.length, image.grid(), layerTokens, layerGrids, dynamicPooling.decisions(),
                embedNanos, visionTowerNanos, projectorNanos);
        return logits.reshape(config.textConfig().vocabSize());
    }

    /** What the projector receives for one image: vision features laid out on a grid. */
    private record ImageFeatures(Tensor features, Grid grid) {
        static final ImageFeatures NONE = new ImageFeatures(null, Grid.NONE);
    }

    private ImageFeatures encode(Tensor pixels, PrefillObserver observer) {
        Tensor features = model.visionTower().forward(backend, arena, pixels);
        observer.visionFeatures(features);
        Grid grid = model.visualGrid(pooling);
        int side = config.visionConfig().gridSize();
        if (grid.tokens() == features.rowCount()) {
            return new ImageFeatures(features, grid);
        }
        // The authors' vision-side option: 2×2 average pooling of the patch grid before the projector.
        Tensor pooled = backend.allocate(arena, DType.F32, grid.tokens(), features.dim(-1));
        backend.pool2d(PoolType.AVG, features, side, side, 2, 2, pooled);
        return new ImageFeatures(pooled, grid);
    }

    /**
     * Allocates the request's activations and fills the sequence: the embedded text with the projected visual
     * tokens in place of the image placeholder.
     */
    private Sequence embed(int[] ids, int imageAt, ImageFeatures image, PrefillObserver observer) {
        TextConfig text = config.textConfig();
        int d = text.hiddenSize();
        int visual = image.grid().tokens();
        int length = (imageAt < 0 ? ids.length : ids.length - 1) + visual;
        Sequence sequence = new Sequence(backend.allocate(arena, DType.F32, length, d),
                backend.allocate(arena, DType.F32, length, d), length, Math.max(imageAt, 0), image.grid());
        buffers = LlamaLayer.Buffers.allocate(backend, arena, text, length);
        decodeHidden = backend.allocate(arena, DType.F32, 1, d);
        normed = backend.allocate(arena, DType.F32, 1, d);
        logits = backend.allocate(arena, DType.F32, 1, text.vocabSize());

        Tensor hidden = sequence.hidden();
        if (imageAt < 0) {
            model.decoder().embed(backend, ids, hidden);
            return sequence;
        }
        model.decoder().embed(backend, Arrays.copyOfRange(ids, 0, imageAt), hidden.rows(0, imageAt));
        // The decoder's scratch is free until the first layer: the projector's hidden layer borrows it.
        long projectorStart = System.nanoTime();
        model.projector().forward(backend, image.features(), buffers.q().rows(0, visual), sequence.span());
        backend.synchronize();
        projectorNanos = System.nanoTime() - projectorStart;
        observer.visualTokens(sequence.span());
        model.decoder().embed(backend, Arrays.copyOfRange(ids, imageAt + 1, ids.length),
                hidden.rows(imageAt + visual, length));
        return sequence;
    }

    /** The index of the image placeholder in {@code ids}, or −1 for a text-only prompt. */
    private int imagePlaceholder(int[] ids, boolean hasImage) {
        if (ids.length == 0) {
            throw new IllegalArgumentException("the prompt has no tokens");
        }
        int imageId = config.imageTokenIndex();
        int vocab = config.textConfig().vocabSize();
        int imageAt = -1;
        for (int i = 0; i < ids.length; i++) {
            if (ids[i] == imageId) {
                if (imageAt >= 0) {
                    throw new IllegalArgumentException("the prompt has image placeholders (id " + imageId + ") at "
                            + imageAt + " and " + i + "; one image per prompt");
                }
                imageAt = i;
            } else if (ids[i] < 0 || ids[i] >= vocab) {
                throw new IllegalArgumentException("prompt token " + i + " has id " + ids[i]
                        + ", outside the vocabulary of " + vocab);
            }
        }
        if (hasImage != imageAt >= 0) {
            throw new IllegalArgumentException(hasImage
                    ? "an image was given, but the prompt has no image placeholder (id " + imageId + ")"
                    : "the prompt has an image placeholder at " + imageAt + ", but no image was given");
        }
        return imageAt;
    }

    /** The prompt indices whose hidden states the adaptive routers read: the {@code <ROUTER>}s, or the last. */
    private int[] routerTokens(int[] ids, int imageAt) {
        if (pooling.type() != PoolingConfig.Type.ADAPTIVE) {
            return new int[0];
        }
        if (!pooling.useSpecialToken()) {
            if (imageAt == ids.length - 1) {
                throw new IllegalArgumentException("the routers read the last prompt token, which is the image "
                        + "placeholder; they need text");
            }
            return new int[] {ids.length - 1};
        }
        int routerId = options.routerTokenId().orElseThrow(() -> new IllegalArgumentException("the pooling config "
                + "sets use_special_token, but the session options give no router token id (<ROUTER>)"));
        return IntStream.range(0, ids.length).filter(i -> ids[i] == routerId).toArray();
    }
}
