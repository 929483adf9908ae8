package dev.dpn.runtime.model;

import dev.dpn.kernels.Backend;
import dev.dpn.kernels.PoolType;
import dev.dpn.loader.config.DpeLayer;
import dev.dpn.loader.config.Kernel;
import dev.dpn.loader.config.PoolingConfig;
import dev.dpn.loader.config.PoolingConfig.Location;
import dev.dpn.tensors.DType;
import dev.dpn.tensors.Tensor;
import dev.dpn.tensors.TensorArena;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;

/**
 * The DPE layers of one prefill (DPN.md §3). At a DPE layer the visual span, an h×w grid, is pooled by one expert
 * (kernel = stride) and replaces itself in the sequence, scaled by the router's probability of that expert. The
 * expert is the router's argmax (adaptive), the layer's only one (static) or a seeded uniform draw (random).
 *
 * <p>A layer leaves the span alone when it has fewer than 16 tokens or fewer than the largest expert's window (no
 * expert chosen then), or when the chosen kernel does not fit the grid (chosen, but nothing pooled or scaled).
 */
final class DynamicPooling {
    /** The authors' lower bound: a span this short is not pooled. */
    static final int MIN_SPAN_TOKENS = 16;

    private final Backend backend;
    private final PoolingConfig pooling;
    private final DpeWeights weights;
    /** Prompt indices whose hidden states (averaged) the routers read. */
    private final int[] routerTokens;
    /** Random pooling draws {@code SplittableRandom(seed).nextLong()} mod E (unsigned), once per layer that chooses. */
    private final SplittableRandom random;
    private final Tensor routerInput;
    private final PoolingRouter.Buffers routerBuffers;
    private final Tensor pooled;
    private final List<PoolingDecision> decisions = new ArrayList<>();

    /**
     * @param maxSpan the longest visual span this prefill has: room for a pooled span
     */
    DynamicPooling(Backend backend, TensorArena arena, PoolingConfig pooling, DpeWeights weights, int[] routerTokens,
            long seed, int hiddenSize, int maxSpan) {
        this.backend = backend;
        this.pooling = pooling;
        this.weights = weights;
        this.routerTokens = routerTokens.clone();
        this.random = new SplittableRandom(seed);
        int maxExperts = pooling.layers().stream().mapToInt(layer -> layer.experts().size()).max().orElse(1);
        this.routerInput = backend.allocate(arena, DType.F32, 1, hiddenSize);
        this.routerBuffers = PoolingRouter.Buffers.allocate(backend, arena, hiddenSize, maxExperts);
        this.pooled = backend.allocate(arena, DType.F32, Math.max(1, maxSpan), hiddenSize);
    }

    /** Pools before decoder layer {@code layer} runs, if it is a DPE layer of location pre. */
    void beforeLayer(int layer, Sequence sequence) {
        if (pooling.location() == Location.PRE) {
            apply(layer, sequence);
        }
    }

    /** Pools after decoder layer {@code layer} ran, if it is a DPE layer of location post. */
    void afterLayer(int layer, Sequence sequence) {
        if (pooling.location() == Location.POST) {
            apply(layer, sequence);
        }
    }

    List<PoolingDecision> decisions() {
        return List.copyOf(decisions);
    }

    private void apply(int layer, Sequence sequence) {
        if (pooling.type() == PoolingConfig.Type.NONE) {
            return;
        }
        pooling.layerAt(layer).ifPresent(dpe -> decisions.add(pool(dpe, sequence)));
    }

    private PoolingDecision pool(DpeLayer dpe, Sequence sequence) {
        Grid grid = sequence.grid();
        int tokens = grid.tokens();
        if (grid == Grid.NONE) {
            return PoolingDecision.skipped(dpe.index(), grid, "no visual tokens");
        }
        if (tokens < MIN_SPAN_TOKENS) {
            return PoolingDecision.skipped(dpe.index(), grid, tokens + " visual tokens < " + MIN_SPAN_TOKENS);
        }
        if (tokens < dpe.largestKernelArea()) {
            return PoolingDecision.skipped(dpe.index(), grid, tokens + " visual tokens < largest kernel area "
                    + dpe.largestKernelArea());
        }
        float[] probabilities = pooling.type() == PoolingConfig.Type.ADAPTIVE ? route(dpe, sequence) : new float[0];
        int expert = switch (pooling.type()) {
            case ADAPTIVE -> argmax(probabilities);
            case RANDOM -> (int) Long.remainderUnsigned(random.nextLong(), dpe.experts().size());
            case STATIC, NONE -> 0;
        };
        Kernel kernel = dpe.experts().get(expert);
        if (!grid.fits(kernel)) {
            return new PoolingDecision(dpe.index(), grid, grid, expert, kernel, probabilities,
                    "kernel " + kernel + " does not fit grid " + grid);
        }
        Grid pooledGrid = grid.pooled(kernel);
        Tensor out = pooled.rows(0, pooledGrid.tokens());
        Tensor span = sequence.span();
        switch (pooling.function()) {
            case MAX -> backend.pool2d(PoolType.MAX, span, grid.height(), grid.width(), kernel.height(),
                    kernel.width(), out);
            case AVG -> backend.pool2d(PoolType.AVG, span, grid.height(), grid.width(), kernel.height(),
                    kernel.width(), out);
            case CONV -> backend.depthwiseConv2d(span, grid.height(), grid.width(),
                    weights.convExperts().get(dpe.index()).get(expert), out);
        }
        if (probabilities.length > 0) {
            // Scaling by the chosen expert's probability is what lets the language-model loss train the router.
            backend.scale(out, probabilities[expert], out);
        }
        sequence.replaceSpan(backend, out, pooledGrid);
        return new PoolingDecision(dpe.index(), grid, pooledGrid, expert, kernel, probabilities, null);
    }

    /** The router's probabilities for the mean hidden state of the router tokens. */
    private float[] route(DpeLayer dpe, Sequence sequence) {
        if (routerTokens.length == 0) {
            throw new IllegalArgumentException("DPE layer " + dpe.index() + " needs a router input, but the prompt "
                    + "has no <ROUTER> token (the pooling config sets use_special_token)");
        }
        Tensor hidden = sequence.hidden();
        int first = sequence.rowOf(routerTokens[0]);
        backend.copy(hidden.rows(first, first + 1), routerInput);
        for (int i = 1; i < routerTokens.length; i++) {
            int row = sequence.rowOf(routerTokens[i]);
            backend.add(routerInput, hidden.rows(row, row + 1), routerInput);
        }
        if (routerTokens.length > 1) {
            backend.scale(routerInput, 1f / routerTokens.length, routerInput);
        }
        return weights.routers().get(dpe.index()).probabilities(backend, routerInput, routerBuffers);
    }

    private static int argmax(float[] values) {
        int best = 0;
        for (int i = 1; i < values.length; i++) {
            if (values[i] > values[best]) {
                best = i;
            }
        }
        return best;
    }
}
