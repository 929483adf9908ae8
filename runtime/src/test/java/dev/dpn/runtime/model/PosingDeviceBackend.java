package dev.dpn.runtime.model;

import dev.dpn.kernels.Activation;
import dev.dpn.kernels.Backend;
import dev.dpn.kernels.Contracts;
import dev.dpn.kernels.PoolType;
import dev.dpn.kernels.cpu.CpuBackend;
import dev.dpn.tensors.DType;
import dev.dpn.tensors.Tensor;
import dev.dpn.tensors.TensorArena;
import java.lang.foreign.MemorySegment;

/**
 * The CPU backend with its activations posing as device memory: tensors from {@link #allocate} refuse host access as
 * a GPU's do, and each operation unwraps them for the CPU kernels. Model code that reads or writes an activation on
 * the host, rather than through the backend, fails here as it would on a GPU, on machines without one. Each
 * operation first checks its arguments as the CUDA backend does ({@link Contracts} on device tensors).
 */
final class PosingDeviceBackend implements Backend {
    static final String DEVICE = "posing-device";
    private final CpuBackend cpu;

    PosingDeviceBackend(CpuBackend cpu) {
        this.cpu = cpu;
    }

    @Override
    public String name() {
        return DEVICE;
    }

    @Override
    public Tensor allocate(TensorArena arena, DType dtype, long... shape) {
        Tensor host = cpu.allocate(arena, dtype, shape);
        return Tensor.onDevice(new Tensor.DeviceMemory(DEVICE, host.data().address()), dtype, shape);
    }

    /** The host tensor behind a posing one; host tensors (weights, pixels) pass as they are. */
    private static Tensor host(Tensor t) {
        if (t == null || t.isHost()) {
            return t;
        }
        return Tensor.of(MemorySegment.ofAddress(t.deviceMemory().address()).reinterpret(t.byteSize()), t.dtype(),
                t.shape());
    }

    @Override
    public DType kvCacheType() {
        return cpu.kvCacheType();
    }

    @Override
    public void download(Tensor src, float[] dst) {
        Contracts.download(src, dst);
        cpu.download(host(src), dst);
    }

    @Override
    public void matmul(Tensor x, Tensor w, Tensor bias, Tensor y) {
        Contracts.matmul(x, w, bias, y);
        cpu.matmul(host(x), host(w), host(bias), host(y));
    }

    @Override
    public void embed(Tensor table, int[] ids, Tensor out) {
        Contracts.embed(table, ids, out);
        cpu.embed(host(table), ids, host(out));
    }

    @Override
    public void copy(Tensor src, Tensor out) {
        Contracts.copy(src, out);
        cpu.copy(host(src), host(out));
    }

    @Override
    public void rmsNorm(Tensor x, Tensor weight, float eps, Tensor out) {
        Contracts.rowNorm("rmsNorm", x, weight, null, out);
        cpu.rmsNorm(host(x), host(weight), eps, host(out));
    }

    @Override
    public void layerNorm(Tensor x, Tensor weight, Tensor bias, float eps, Tensor out) {
        Contracts.rowNorm("layerNorm", x, weight, bias, out);
        cpu.layerNorm(host(x), host(weight), host(bias), eps, host(out));
    }

    @Override
    public void softmax(Tensor x, float scale) {
        Contracts.elementwise("softmax", x, null, x);
        cpu.softmax(host(x), scale);
    }

    @Override
    public void activate(Activation f, Tensor x, Tensor out) {
        Contracts.elementwise("activate", x, null, out);
        cpu.activate(f, host(x), host(out));
    }

    @Override
    public void siluGate(Tensor gate, Tensor up, Tensor out) {
        Contracts.elementwise("siluGate", gate, up, out);
        cpu.siluGate(host(gate), host(up), host(out));
    }

    @Override
    public void add(Tensor a, Tensor b, Tensor out) {
        Contracts.elementwise("add", a, b, out);
        cpu.add(host(a), host(b), host(out));
    }

    @Override
    public void scale(Tensor x, float s, Tensor out) {
        Contracts.elementwise("scale", x, null, out);
        cpu.scale(host(x), s, host(out));
    }

    @Override
    public void rope(Tensor x, int[] positions, int headDim, float theta) {
        Contracts.rope(x, positions, headDim);
        cpu.rope(host(x), positions, headDim, theta);
    }

    @Override
    public void attention(Tensor q, Tensor k, Tensor v, int kvLength, int heads, int kvHeads, boolean causal,
            float scale, Tensor out) {
        Contracts.attention(q, k, v, kvLength, heads, kvHeads, out);
        cpu.attention(host(q), host(k), host(v), kvLength, heads, kvHeads, causal, scale, host(out));
    }

    @Override
    public void pool2d(PoolType type, Tensor x, int h, int w, int kh, int kw, Tensor out) {
        Contracts.pool2d(x, h, w, kh, kw, out);
        cpu.pool2d(type, host(x), h, w, kh, kw, host(out));
    }

    @Override
    public void depthwiseConv2d(Tensor x, int h, int w, Tensor weight, Tensor out) {
        Contracts.depthwiseConv2d(x, h, w, weight, out);
        cpu.depthwiseConv2d(host(x), h, w, host(weight), host(out));
    }

    @Override
    public void patchEmbed(Tensor pixels, Tensor weight, Tensor bias, Tensor out) {
        Contracts.patchEmbed(pixels, weight, bias, out);
        cpu.patchEmbed(host(pixels), host(weight), host(bias), host(out));
    }

    @Override
    public void close() {
        cpu.close();
    }
}
