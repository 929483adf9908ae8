package dev.dpn.kernels.cpu;

import dev.dpn.kernels.Activation;
import dev.dpn.kernels.Backend;
import dev.dpn.kernels.Contracts;
import dev.dpn.kernels.PoolType;
import dev.dpn.tensors.DType;
import dev.dpn.tensors.Tensor;
import dev.dpn.tensors.TensorArena;

/**
 * The CPU backend: Vector API kernels, each operation split across a fixed team of threads. Each operation lives
 * in its own class ({@link MatMul}, {@link Norms}, ...); this class checks arguments and dispatches.
 */
public final class CpuBackend implements Backend {
    private final Parallel parallel;

    /** A backend using every available processor. */
    public CpuBackend() {
        this(Runtime.getRuntime().availableProcessors());
    }

    public CpuBackend(int threads) {
        this.parallel = new Parallel(threads);
    }

    public int threads() {
        return parallel.threads();
    }

    /** The kernels' thread count: {@code --threads} bounds the loading's conversions too. */
    @Override
    public int hostThreads() {
        return threads();
    }

    @Override
    public String name() {
        return "cpu";
    }

    @Override
    public Tensor allocate(TensorArena arena, DType dtype, long... shape) {
        return arena.allocate(dtype, shape);
    }

    @Override
    public void matmul(Tensor x, Tensor w, Tensor bias, Tensor y) {
        int[] mnk = Contracts.matmul(x, w, bias, y);
        MatMul.matmul(parallel, x, w, bias, y, mnk[0], mnk[1], mnk[2]);
    }

    @Override
    public void embed(Tensor table, int[] ids, Tensor out) {
        Contracts.embed(table, ids, out);
        Conversions.embed(table, ids, out);
    }

    @Override
    public void copy(Tensor src, Tensor out) {
        Contracts.copy(src, out);
        Conversions.copy(src, out);
    }

    @Override
    public void rmsNorm(Tensor x, Tensor weight, float eps, Tensor out) {
        Contracts.rowNorm("rmsNorm", x, weight, null, out);
        Norms.rmsNorm(parallel, x, weight, eps, out);
    }

    @Override
    public void layerNorm(Tensor x, Tensor weight, Tensor bias, float eps, Tensor out) {
        Contracts.rowNorm("layerNorm", x, weight, bias, out);
        Norms.layerNorm(parallel, x, weight, bias, eps, out);
    }

    @Override
    public void softmax(Tensor x, float scale) {
        Contracts.elementwise("softmax", x, null, x);
        Softmax.softmax(parallel, x, scale);
    }

    @Override
    public void activate(Activation f, Tensor x, Tensor out) {
        Contracts.elementwise("activate", x, null, out);
        Activations.activate(parallel, f, x, out);
    }

    @Override
    public void siluGate(Tensor gate, Tensor up, Tensor out) {
        Contracts.elementwise("siluGate", gate, up, out);
        Activations.siluGate(parallel, gate, up, out);
    }

    @Override
    public void add(Tensor a, Tensor b, Tensor out) {
        Contracts.elementwise("add", a, b, out);
        Elementwise.add(parallel, a, b, out);
    }

    @Override
    public void scale(Tensor x, float s, Tensor out) {
        Contracts.elementwise("scale", x, null, out);
        Elementwise.scale(parallel, x, s, out);
    }

    @Override
    public void rope(Tensor x, int[] positions, int headDim, float theta) {
        Contracts.rope(x, positions, headDim);
        Rope.rope(parallel, x, positions, headDim, theta);
    }

    /**
     * F16, as llama.cpp's default cache: a decode step reads every layer's whole cache, and in F32 that was 22-29 ms
     * of a 7B token at 600 positions.
     */
    @Override
    public DType kvCacheType() {
        return DType.F16;
    }

    @Override
    public void attention(Tensor q, Tensor k, Tensor v, int kvLength, int heads, int kvHeads, boolean causal,
                          float scale, Tensor out) {
        Contracts.attention(q, k, v, kvLength, heads, kvHeads, out);
        Attention.attention(parallel, q, k, v, kvLength, heads, kvHeads, causal, scale, out);
    }

    @Override
    public void pool2d(PoolType type, Tensor x, int h, int w, int kh, int kw, Tensor out) {
        Contracts.pool2d(x, h, w, kh, kw, out);
        Pooling.pool2d(parallel, type, x, h, w, kh, kw, out);
    }

    @Override
    public void depthwiseConv2d(Tensor x, int h, int w, Tensor weight, Tensor out) {
        Contracts.depthwiseConv2d(x, h, w, weight, out);
        DepthwiseConv.depthwiseConv2d(parallel, x, h, w, weight, out);
    }

    @Override
    public void patchEmbed(Tensor pixels, Tensor weight, Tensor bias, Tensor out) {
        Contracts.patchEmbed(pixels, weight, bias, out);
        PatchEmbed.patchEmbed(parallel, this, pixels, weight, bias, out);
    }

    @Override
    public void close() {
        parallel.close();
    }
}
