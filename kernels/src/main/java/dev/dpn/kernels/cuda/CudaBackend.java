package dev.dpn.kernels.cuda;

import dev.dpn.kernels.Activation;
import dev.dpn.kernels.Backend;
import dev.dpn.kernels.Contracts;
import dev.dpn.kernels.PoolType;
import dev.dpn.tensors.DType;
import dev.dpn.tensors.Tensor;
import dev.dpn.tensors.TensorArena;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.EnumMap;
import java.util.Map;

/**
 * The CUDA backend: activations and KV caches in device memory, weights uploaded once ({@link DeviceWeights}),
 * prefill matmuls by cuBLAS, everything else by the PTX kernels of {@code src/main/cuda/dpn_kernels.cu}, all queued
 * on one stream. The host waits in {@link #download} and {@link #synchronize}, and before device memory is freed
 * (a scratch buffer that grows, a closed arena).
 *
 * <p>Tensors from {@link #allocate} are {@link Tensor#onDevice device tensors}: host code cannot dereference them.
 * Host tensors are accepted where {@link Backend} says: weights (uploaded and cached on first use), the pixels of
 * {@link #patchEmbed} and the source of {@link #copy} (uploaded on every call).
 *
 * <p>Matmul: one row (a decode step) runs the {@code gemv} kernel on F32 activations; more rows run
 * {@code cublasGemmEx}, which takes one input type for both matrices, so F32 activations are rounded to the weights'
 * F16/BF16 first (as a half-precision torch model computes) and accumulate in F32. Q8_0/Q4_0 weights are widened to
 * F16 for it, one matrix at a time.
 */
public final class CudaBackend implements Backend {
    private static final int THREADS = 256;
    /** Threads per attention block in a prefill: one (query row, head) pair. */
    private static final int ATTENTION_THREADS = 128;
    private static final int DEFAULT_SHARED_BYTES = 48 * 1024;
    private static final int MAX_GRID = 65535;

    private final CudaDriver driver;
    private final int device;
    private final String deviceName;
    private final String label;
    private final MemorySegment context;
    private final MemorySegment stream;
    private final MemorySegment module;
    private final Map<Kernel, MemorySegment> functions = new EnumMap<>(Kernel.class);
    private final Cublas cublas;
    private final Arena host = Arena.ofShared();
    private final LaunchArgs args = new LaunchArgs(host);
    private final DeviceWeights weights;
    private final DeviceBuffer narrowed;
    private final DeviceBuffer dequantized;
    private final DeviceBuffer staged;
    private final DeviceBuffer indices;
    private MemorySegment hostStaging = MemorySegment.NULL;
    private int attentionSharedLimit = DEFAULT_SHARED_BYTES;
    private volatile boolean closed;
    /** The last thread this backend made its context current on. */
    private Thread boundThread;

    private CudaBackend(CudaDriver driver, int ordinal) {
        this.driver = driver;
        int count = driver.deviceCount();
        if (count == 0) {
            throw new CudaUnavailableException("no CUDA device");
        }
        if (ordinal < 0 || ordinal >= count) {
            throw new CudaUnavailableException("no CUDA device " + ordinal + " (" + count + " present)");
        }
        this.device = driver.device(ordinal);
        this.deviceName = "cuda:" + ordinal;
        int major = driver.deviceAttribute(device, CudaDriver.ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR);
        int minor = driver.deviceAttribute(device, CudaDriver.ATTRIBUTE_COMPUTE_CAPABILITY_MINOR);
        int driverVersion = driver.driverVersion();
        this.label = driver.deviceName(device) + " (compute " + major + "." + minor + ", driver for CUDA "
                + driverVersion / 1000 + "." + driverVersion % 1000 / 10 + ")";
        if (major < 8) {
            throw new CudaUnavailableException("the CUDA device " + label + " is too old: dpn's kernels need compute "
                    + "capability 8.0 or newer");
        }
        this.context = driver.retainPrimaryContext(device);
        try {
            driver.setCurrent(context);
            boundThread = Thread.currentThread();
            this.stream = driver.streamCreate();
            this.module = driver.moduleLoadData(ptx(major >= 9 ? "sm_90" : "sm_80"));
            for (Kernel kernel : Kernel.values()) {
                functions.put(kernel, driver.moduleGetFunction(module, kernel.entry()));
            }
            this.cublas = Cublas.open(stream);
        } catch (RuntimeException e) {
            // Releasing the last reference destroys the context with its stream and module.
            driver.releasePrimaryContext(device);
            throw e;
        }
        this.weights = new DeviceWeights(driver);
        this.narrowed = new DeviceBuffer(driver, stream);
        this.dequantized = new DeviceBuffer(driver, stream);
        this.staged = new DeviceBuffer(driver, stream);
        this.indices = new DeviceBuffer(driver, stream);
    }

    /** The first CUDA device; see {@link #open(int)}. */
    public static CudaBackend open() {
        return open(0);
    }

    /**
     * A backend on CUDA device {@code ordinal}.
     *
     * @throws CudaUnavailableException without a driver, a device, a recent enough GPU or cuBLAS
     * @throws CudaException            if the driver fails otherwise
     */
    public static CudaBackend open(int ordinal) {
        return new CudaBackend(CudaDriver.load(), ordinal);
    }

    /** The GPU's name, compute capability and the CUDA version its driver supports. */
    public String deviceLabel() {
        return label;
    }

    /** The cuBLAS library in use, as found. */
    public String cublasLibrary() {
        return cublas.library();
    }

    @Override
    public String name() {
        return "cuda";
    }

    @Override
    public Tensor allocate(TensorArena arena, DType dtype, long... shape) {
        long bytes = dtype.byteSize(Tensor.elementCount(shape));
        enter();
        long address = driver.memAlloc(Math.max(bytes, 1));
        driver.zeroAsync(address, Math.max(bytes, 1), stream);
        // The arena frees the device memory when it closes, like its host allocations.
        MemorySegment.NULL.reinterpret(arena.arena(), ignored -> free(address));
        return Tensor.onDevice(new Tensor.DeviceMemory(deviceName, address), dtype, shape);
    }

    /**
     * Makes the context current on the calling thread, once per thread change: the driver and cuBLAS act on the
     * thread's current context, and a backend may be called from one thread at a time but not always the same one.
     */
    private void enter() {
        Thread thread = Thread.currentThread();
        if (thread != boundThread) {
            driver.setCurrent(context);
            boundThread = thread;
        }
    }

    private void free(long address) {
        if (!closed) {
            driver.setCurrent(context);
            boundThread = Thread.currentThread();
            driver.streamSynchronize(stream);
            driver.memFree(address);
        }
    }

    @Override
    public void download(Tensor src, float[] dst) {
        Contracts.download(src, dst);
        enter();
        if (src.isHost()) {
            Backend.super.download(src, dst);
            return;
        }
        long bytes = src.byteSize();
        MemorySegment staging = hostStaging(bytes);
        driver.copyDeviceToHostAsync(staging, src.deviceMemory().address(), bytes, stream);
        driver.streamSynchronize(stream);
        MemorySegment.copy(staging, DType.FLOAT, 0, dst, 0, Math.toIntExact(src.size()));
    }

    @Override
    public void synchronize() {
        enter();
        driver.streamSynchronize(stream);
    }

    @Override
    public void matmul(Tensor x, Tensor w, Tensor bias, Tensor y) {
        int[] mnk = Contracts.matmul(x, w, bias, y);
        enter();
        int m = mnk[0], n = mnk[1], k = mnk[2];
        long weight = weights.address(w);
        long out = device(y, "matmul y");
        long biasAddress = bias == null ? 0 : device(bias, "matmul bias");
        if (m == 1) {
            int warps = THREADS / 32;
            args.clear().pointer(device(x, "matmul x")).pointer(weight).i32(dtypeCode(w.dtype())).pointer(biasAddress)
                    .pointer(out).i32(m).i32(n).i32(k);
            launch(Kernel.GEMV, (n + warps - 1) / warps, m, THREADS, 0);
            return;
        }
        long input = device(x, "matmul x");
        // The type both GEMM inputs are given in: the weights', F16 for quantized ones.
        DType gemmType = w.dtype().isQuantized() ? DType.F16 : w.dtype();
        if (w.dtype().isQuantized()) {
            // As llama.cpp does for batches: widen the blocks to F16 once per product and let cuBLAS multiply.
            long wide = dequantized.reserve(2L * n * k);
            long blocks = (long) n * k / 32;
            args.clear().pointer(weight).i32(dtypeCode(w.dtype())).pointer(wide).i64(blocks);
            launchElementwise(Kernel.DEQUANTIZE_F16, blocks * 8);
            weight = wide;
        }
        if (gemmType != DType.F32) {
            long narrow = narrowed.reserve(2L * m * k);
            narrow(input, narrow, gemmType, (long) m * k);
            input = narrow;
        }
        int type = switch (gemmType) {
            case F32 -> Cublas.CUDA_R_32F;
            case BF16 -> Cublas.CUDA_R_16BF;
            default -> Cublas.CUDA_R_16F;
        };
        cublas.gemm(m, n, k, weight, type, input, type, out);
        if (bias != null) {
            args.clear().pointer(out).pointer(biasAddress).i32(n).i64((long) m * n);
            launchElementwise(Kernel.ADD_BIAS, (long) m * n);
        }
    }

    @Override
    public void embed(Tensor table, int[] ids, Tensor out) {
        Contracts.embed(table, ids, out);
        enter();
        int d = table.intDim(1);
        args.clear().pointer(weights.address(table)).i32(dtypeCode(table.dtype())).pointer(upload(ids))
                .pointer(device(out, "embed out")).i32(d).i32(ids.length);
        launchElementwise(Kernel.EMBED, (long) ids.length * d);
    }

    @Override
    public void copy(Tensor src, Tensor out) {
        Contracts.copy(src, out);
        if (out.dtype() != DType.F32) {
            throw new IllegalArgumentException("copy: this backend copies into F32 only, got " + out);
        }
        enter();
        long dst = device(out, "copy out");
        if (src.size() == 0) {
            return; // an empty span (the image at the end of the prompt): nothing to copy, no zero-size call
        }
        if (src.dtype() == DType.F32) {
            if (src.isHost()) {
                driver.copyHostToDeviceAsync(dst, src.data(), src.byteSize(), stream);
            } else if (src.deviceMemory().address() != dst) {
                driver.copyDeviceToDeviceAsync(dst, src.deviceMemory().address(), src.byteSize(), stream);
            }
            return;
        }
        long from = src.isHost() ? upload(src) : src.deviceMemory().address();
        args.clear().pointer(from).i32(dtypeCode(src.dtype())).pointer(dst).i64(src.size());
        launchElementwise(Kernel.CONVERT_TO_F32, src.size());
    }

    @Override
    public void rmsNorm(Tensor x, Tensor weight, float eps, Tensor out) {
        Contracts.rowNorm("rmsNorm", x, weight, null, out);
        enter();
        args.clear().pointer(device(x, "rmsNorm x")).pointer(device(weight, "rmsNorm weight")).f32(eps)
                .pointer(device(out, "rmsNorm out")).i32(x.intDim(-1));
        launchRows(Kernel.RMS_NORM, x.rowCount());
    }

    @Override
    public void layerNorm(Tensor x, Tensor weight, Tensor bias, float eps, Tensor out) {
        Contracts.rowNorm("layerNorm", x, weight, bias, out);
        enter();
        args.clear().pointer(device(x, "layerNorm x")).pointer(device(weight, "layerNorm weight"))
                .pointer(device(bias, "layerNorm bias")).f32(eps).pointer(device(out, "layerNorm out"))
                .i32(x.intDim(-1));
        launchRows(Kernel.LAYER_NORM, x.rowCount());
    }

    @Override
    public void softmax(Tensor x, float scale) {
        Contracts.elementwise("softmax", x, null, x);
        enter();
        args.clear().pointer(device(x, "softmax x")).f32(scale).i32(x.intDim(-1));
        launchRows(Kernel.SOFTMAX_ROWS, x.rowCount());
    }

    @Override
    public void activate(Activation f, Tensor x, Tensor out) {
        Contracts.elementwise("activate", x, null, out);
        enter();
        args.clear().i32(f.ordinal()).pointer(device(x, "activate x")).pointer(device(out, "activate out"))
                .i64(x.size());
        launchElementwise(Kernel.ACTIVATE, x.size());
    }

    @Override
    public void siluGate(Tensor gate, Tensor up, Tensor out) {
        Contracts.elementwise("siluGate", gate, up, out);
        enter();
        args.clear().pointer(device(gate, "siluGate gate")).pointer(device(up, "siluGate up"))
                .pointer(device(out, "siluGate out")).i64(gate.size());
        launchElementwise(Kernel.SILU_GATE, gate.size());
    }

    @Override
    public void add(Tensor a, Tensor b, Tensor out) {
        Contracts.elementwise("add", a, b, out);
        enter();
        args.clear().pointer(device(a, "add a")).pointer(device(b, "add b")).pointer(device(out, "add out"))
                .i64(a.size());
        launchElementwise(Kernel.ADD, a.size());
    }

    @Override
    public void scale(Tensor x, float s, Tensor out) {
        Contracts.elementwise("scale", x, null, out);
        enter();
        args.clear().pointer(device(x, "scale x")).f32(s).pointer(device(out, "scale out")).i64(x.size());
        launchElementwise(Kernel.SCALE, x.size());
    }

    @Override
    public void rope(Tensor x, int[] positions, int headDim, float theta) {
        Contracts.rope(x, positions, headDim);
        enter();
        int width = x.intDim(-1);
        boolean consecutive = true;
        for (int t = 1; t < positions.length && consecutive; t++) {
            consecutive = positions[t] == positions[0] + t;
        }
        // Consecutive positions (every prefill and decode step) travel as the first one alone: no upload.
        long uploaded = consecutive ? 0 : upload(positions);
        args.clear().pointer(device(x, "rope x")).pointer(uploaded).i32(positions.length == 0 ? 0 : positions[0])
                .i32(positions.length).i32(width).i32(headDim).f32(theta);
        launchElementwise(Kernel.ROPE, (long) positions.length * (width / 2));
    }

    @Override
    public void attention(Tensor q, Tensor k, Tensor v, int kvLength, int heads, int kvHeads, boolean causal,
            float scale, Tensor out) {
        Contracts.attention(q, k, v, kvLength, heads, kvHeads, out);
        if (k.dtype() != DType.F32) {
            throw new IllegalArgumentException("attention: this backend reads F32 caches (its kvCacheType), got " + k);
        }
        enter();
        int tokens = Math.toIntExact(q.rowCount());
        int headDim = q.intDim(-1) / heads;
        // Few (row, head) pairs, as in decode, get 1024 threads each so that the GPU fills; a prefill has thousands.
        int threads = (long) tokens * heads < 1024 ? 1024 : ATTENTION_THREADS;
        int shared = Math.multiplyExact(kvLength + Math.max(1, threads / headDim) * headDim, Float.BYTES);
        if (shared > attentionSharedLimit) {
            // Past 48 KiB a kernel must opt in to more shared memory; the driver refuses what the GPU lacks.
            driver.funcSetAttribute(functions.get(Kernel.ATTENTION),
                    CudaDriver.FUNC_ATTRIBUTE_MAX_DYNAMIC_SHARED_SIZE_BYTES, shared);
            attentionSharedLimit = shared;
        }
        args.clear().pointer(device(q, "attention q")).pointer(device(k, "attention k"))
                .pointer(device(v, "attention v")).i32(kvLength).i32(tokens).i32(heads).i32(kvHeads)
                .i32(headDim).i32(causal ? 1 : 0).f32(scale).pointer(device(out, "attention out"));
        launch(Kernel.ATTENTION, tokens, heads, threads, shared);
    }

    @Override
    public void pool2d(PoolType type, Tensor x, int h, int w, int kh, int kw, Tensor out) {
        Contracts.pool2d(x, h, w, kh, kw, out);
        enter();
        args.clear().i32(type == PoolType.MAX ? 1 : 0).pointer(device(x, "pool2d x")).i32(h).i32(w).i32(kh).i32(kw)
                .i32(x.intDim(-1)).pointer(device(out, "pool2d out"));
        launchElementwise(Kernel.POOL2D, out.size());
    }

    @Override
    public void depthwiseConv2d(Tensor x, int h, int w, Tensor weight, Tensor out) {
        Contracts.depthwiseConv2d(x, h, w, weight, out);
        enter();
        args.clear().pointer(device(x, "depthwiseConv2d x")).i32(h).i32(w).pointer(weights.address(weight))
                .i32(weight.intDim(0)).i32(weight.intDim(1)).i32(x.intDim(-1))
                .pointer(device(out, "depthwiseConv2d out"));
        launchElementwise(Kernel.DEPTHWISE_CONV2D, out.size());
    }

    @Override
    public void patchEmbed(Tensor pixels, Tensor weight, Tensor bias, Tensor out) {
        Contracts.patchEmbed(pixels, weight, bias, out);
        enter();
        long image = pixels.isHost() ? upload(pixels) : pixels.deviceMemory().address();
        args.clear().pointer(image).pointer(weights.address(weight)).i32(dtypeCode(weight.dtype()))
                .pointer(bias == null ? 0 : device(bias, "patchEmbed bias")).i32(pixels.intDim(0))
                .i32(pixels.intDim(1)).i32(pixels.intDim(2)).i32(weight.intDim(0)).i32(weight.intDim(2))
                .pointer(device(out, "patchEmbed out"));
        launchElementwise(Kernel.PATCH_EMBED, out.size());
    }

    @Override
    public void close() {
        if (closed) {
            return;
        }
        enter();
        driver.streamSynchronize(stream);
        closed = true;
        cublas.close();
        weights.release();
        narrowed.release();
        dequantized.release();
        staged.release();
        indices.release();
        driver.moduleUnload(module);
        driver.streamDestroy(stream);
        driver.releasePrimaryContext(device);
        host.close();
    }

    /** cuBLAS alone: {@code y = x · wᵀ} with F16 x [m, k] and w [n, k], F32 y; see {@link CudaBaselines}. */
    void cublasGemmF16(int m, int n, int k, Tensor x, Tensor w, Tensor y) {
        enter();
        cublas.gemm(m, n, k, device(w, "gemm w"), Cublas.CUDA_R_16F, device(x, "gemm x"), Cublas.CUDA_R_16F,
                device(y, "gemm y"));
    }

    /** Rounds the F32 device tensor {@code x} to the F16 device tensor {@code out}. */
    void toF16(Tensor x, Tensor out) {
        enter();
        narrow(device(x, "toF16 x"), device(out, "toF16 out"), DType.F16, x.size());
    }

    /** Rounds {@code count} F32 values at {@code from} to F16 or BF16 at {@code to}. */
    private void narrow(long from, long to, DType type, long count) {
        args.clear().pointer(from).pointer(to).i32(dtypeCode(type)).i64(count);
        launchElementwise(Kernel.F32_TO_NARROW, count);
    }

    /** Reads all of the F32 device tensor {@code x} (size a multiple of 4) into one partial sum per block. */
    void readSum(Tensor x, Tensor partials) {
        enter();
        args.clear().pointer(device(x, "readSum x")).i64(x.size() / 4).pointer(device(partials, "readSum partials"));
        launch(Kernel.READ_SUM, Math.toIntExact(partials.size()), 1, THREADS, 0);
    }

    /** The code of {@code dtype} in {@code dpn_kernels.cu}. */
    static int dtypeCode(DType dtype) {
        return switch (dtype) {
            case F32 -> 0;
            case F16 -> 1;
            case BF16 -> 2;
            case F64 -> 3;
            case Q8_0 -> 4;
            case Q4_0 -> 5;
            default -> throw new IllegalArgumentException("cuda: no kernel reads " + dtype);
        };
    }

    /** The device address of an activation, which must be this backend's. */
    private long device(Tensor t, String what) {
        if (t.isHost()) {
            throw new IllegalArgumentException("cuda: " + what + " " + t + " is in host memory; allocate "
                    + "activations with this backend");
        }
        return t.deviceMemory().address();
    }

    /** Copies a host tensor's bytes to the staging buffer, for one operation to read. */
    private long upload(Tensor host) {
        long address = staged.reserve(host.byteSize());
        driver.copyHostToDeviceAsync(address, host.data(), host.byteSize(), stream);
        return address;
    }

    /** Copies {@code values} to the device index buffer; the driver stages pageable memory before returning. */
    private long upload(int[] values) {
        long bytes = (long) values.length * Integer.BYTES;
        MemorySegment staging = hostStaging(bytes);
        MemorySegment.copy(values, 0, staging, ValueLayout.JAVA_INT, 0, values.length);
        long address = indices.reserve(bytes);
        driver.copyHostToDeviceAsync(address, staging, bytes, stream);
        return address;
    }

    private MemorySegment hostStaging(long bytes) {
        if (hostStaging.byteSize() < bytes) {
            hostStaging = host.allocate(Math.max(bytes, 4096), 64);
        }
        return hostStaging;
    }

    private void launchRows(Kernel kernel, long rows) {
        if (rows == 0) {
            return; // a grid of zero blocks is an invalid launch
        }
        launch(kernel, Math.toIntExact(rows), 1, THREADS, 0);
    }

    /** A grid-stride kernel over {@code n} items. */
    private void launchElementwise(Kernel kernel, long n) {
        launch(kernel, (int) Math.max(1, Math.min((n + THREADS - 1) / THREADS, MAX_GRID)), 1, THREADS, 0);
    }

    private void launch(Kernel kernel, int gridX, int gridY, int block, int sharedBytes) {
        if (!args.matches(kernel.parameters())) {
            throw new IllegalStateException("kernel " + kernel.entry() + " takes (" + kernel.parameters() + "), "
                    + "launched with (" + args.kinds() + ")");
        }
        driver.launch(kernel.entry(), functions.get(kernel), gridX, gridY, 1, block, sharedBytes, stream,
                args.pointers());
    }

    private static MemorySegment ptx(String arch) {
        String resource = "dpn_kernels." + arch + ".ptx";
        try (InputStream in = CudaBackend.class.getResourceAsStream(resource)) {
            if (in == null) {
                throw new IllegalStateException("the jar lacks " + resource);
            }
            byte[] text = in.readAllBytes();
            MemorySegment image = Arena.global().allocate(text.length + 1L);
            MemorySegment.copy(text, 0, image, ValueLayout.JAVA_BYTE, 0, text.length);
            return image;
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read " + resource, e);
        }
    }
}
