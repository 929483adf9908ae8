package dev.dpn.cli;

import dev.dpn.cli.BenchReport.Gemm;
import dev.dpn.cli.BenchReport.Ttft;
import dev.dpn.kernels.cpu.CpuBackend;
import dev.dpn.kernels.cuda.CudaBackend;
import dev.dpn.kernels.cuda.CudaBaselines;
import dev.dpn.loader.SafetensorsCheckpoint;
import dev.dpn.loader.config.LlavaConfig;
import dev.dpn.loader.config.TextConfig;
import dev.dpn.measure.OpenBlas;
import dev.dpn.measure.RandomTensor;
import dev.dpn.measure.Rate;
import dev.dpn.measure.ReadBandwidth;
import dev.dpn.measure.Timing;
import dev.dpn.runtime.Device;
import dev.dpn.runtime.DpnModel;
import dev.dpn.runtime.GenerateOptions;
import dev.dpn.runtime.PoolingSpec;
import dev.dpn.runtime.RequestStats;
import dev.dpn.runtime.model.WeightLoading;
import dev.dpn.tensors.DType;
import dev.dpn.tensors.Tensor;
import dev.dpn.tensors.TensorArena;
import java.awt.Color;
import java.awt.Graphics2D;
import java.awt.image.BufferedImage;
import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.lang.management.MemoryType;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.LocalDateTime;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.function.Consumer;
import java.util.function.ToDoubleFunction;
import javax.imageio.ImageIO;
import jdk.incubator.vector.FloatVector;
import org.apache.commons.math3.stat.descriptive.DescriptiveStatistics;

/**
 * The measurements behind {@code dpn bench}, in the order that keeps them apart: the model's requests first, then,
 * with the model closed, the baselines — OpenBLAS sgemm at the prefill's GEMM shapes next to our matmul; on a GPU,
 * cuBLAS alone and a read of device memory.
 *
 * <p>On the CPU the memory read loop runs right after each decode run instead, over the very weights the decode
 * step reads (mapped again from the checkpoint: the same files, page-cache pages and kind of mapping; with
 * {@code --no-mmap}, a 1 GiB buffer of its own), and each run's decode is compared with its own loop. On this VM a
 * 1 GiB buffer read 40 GB/s one hour and 80 the next, and a loop over the same weights 42 or 72 GB/s minutes apart:
 * a loop timed once, after all the runs, said more about that than about the decode. The loop's mapping or buffer
 * is released after each timing and the peak RSS reset to the model's (/proc/self/clear_refs), so that the peak RSS
 * reported is the model's own.
 */
final class ModelBenchmark {
    /** About 40 tokens, as a user's question about a picture. */
    static final String QUESTION = "Look closely at the picture. What is the large shape in the middle, what colour "
            + "is it, how many small dots are scattered around it, and is there a symbol in the upper left corner?";
    /** Baseline GEMMs run long enough to time but briefly: a 620-row product of 11008×4096 is ~56 GFLOP. */
    private static final Timing BASELINE_TIMING = new Timing(0.3, 3, 1.0, 20);
    /**
     * Decode steps of the warm-up request: decoding runs kernels of its own (one-row products, attention split by
     * cache position), still slow in the first timed steps after a single warm-up step. 7B Q8_0, 2 threads: 8 timed
     * steps then read 4.39 tokens/s, 32 steps 5.40.
     */
    private static final int WARM_UP_DECODE_STEPS = 8;
    /** GPU operations per timed run: long enough that one synchronisation's ~10 µs is noise. */
    private static final int GPU_BATCH = 20;

    /** One pooling setup: how the table names it and what dpn runs. */
    private record Setup(String label, PoolingSpec spec) {
    }

    private final Path folder;
    private final Device device;
    private final boolean weightsInMemory;
    private final int threads;
    private final int runs;
    private final int decodeTokens;
    private final Path image;
    private final Consumer<String> progress;

    ModelBenchmark(Path folder, Device device, boolean weightsInMemory, int threads, int runs, int decodeTokens,
                   Path image, Consumer<String> progress) {
        this.folder = folder;
        this.device = device;
        this.weightsInMemory = weightsInMemory;
        this.threads = threads;
        this.runs = runs;
        this.decodeTokens = decodeTokens;
        this.image = image;
        this.progress = progress;
    }

    BenchReport run() throws IOException {
        Path picture = image != null ? image : testPicture();
        try {
            return run(picture);
        } finally {
            if (image == null) {
                Files.deleteIfExists(picture);
            }
        }
    }

    private BenchReport run(Path picture) throws IOException {
        progress.accept("opening " + folder);
        long openStart = System.nanoTime();
        DpnModel model = DpnModel.load(folder, device, threads, new WeightLoading(null, weightsInMemory));
        double openSeconds = (System.nanoTime() - openStart) / 1e9;
        Device runsOn = model.device();
        String backend = runsOn.name().toLowerCase(Locale.ROOT);
        LlavaConfig config = model.config();
        DType weights = matrixType();
        long bytesPerToken = decoderBytesPerToken(config.tieWordEmbeddings());

        List<RequestStats> all = new ArrayList<>();
        List<Ttft> ttfts = new ArrayList<>();
        DescriptiveStatistics prefillTokensPerSecond = new DescriptiveStatistics();
        DescriptiveStatistics prefillGflops = new DescriptiveStatistics();
        DescriptiveStatistics decodeTokensPerSecond = new DescriptiveStatistics();
        DescriptiveStatistics decodeCacheBytesPerToken = new DescriptiveStatistics();
        DescriptiveStatistics decodeToReadLoop = new DescriptiveStatistics();
        DescriptiveStatistics readLoopGBps = new DescriptiveStatistics();
        boolean readLoopBeside = runsOn == Device.CPU;
        long peakRss = 0;
        int promptTokens = 0, sequenceTokens = 0;
        try (model) {
            List<Setup> setups = setups(config);
            // The cheapest full request compiles the kernels; static ×4 when the model can pool.
            Setup warmUp = setups.size() > 2 ? setups.get(2) : setups.getFirst();
            progress.accept("warm-up request (" + warmUp.label() + ")");
            model.generate(picture, QUESTION, options(model, warmUp.spec(), 1 + WARM_UP_DECODE_STEPS));
            double unpooledSeconds = 0;
            for (Setup setup : setups) {
                boolean unpooled = setup.spec().equals(PoolingSpec.parse("none"));
                DescriptiveStatistics seconds = new DescriptiveStatistics();
                RequestStats last = null;
                try {
                    for (int run = 1; run <= runs; run++) {
                        progress.accept("TTFT " + setup.label() + ", run " + run + " of " + runs
                                + (unpooled ? ", then " + decodeTokens + " decode steps" : ""));
                        RequestStats s = model.generate(picture, QUESTION,
                                options(model, setup.spec(), unpooled ? 1 + decodeTokens : 1)).stats();
                        all.add(s);
                        seconds.addValue(s.ttftNanos() / 1e9);
                        last = s;
                        if (unpooled) {
                            double llmSeconds = (s.prefillNanos() - s.visionNanos()) / 1e9;
                            prefillTokensPerSecond.addValue(s.prefillTokensPerSecond());
                            prefillGflops.addValue(s.llmPrefillFlops() / 1e9 / llmSeconds);
                            if (s.decodeSteps() > 0) {
                                decodeTokensPerSecond.addValue(s.decodeTokensPerSecond());
                                decodeCacheBytesPerToken.addValue(s.decodeCacheBytesPerStep());
                            }
                            promptTokens = s.promptTokens();
                            sequenceTokens = s.stages().getFirst().sequenceTokens();
                            if (readLoopBeside) {
                                peakRss = Math.max(peakRss, peakRssBytes());
                                Rate loop = readLoop(config.tieWordEmbeddings(), readLoopGBps);
                                resetPeakRss();
                                if (s.decodeSteps() > 0) {
                                    double gigabytes = BenchReport.decodeGigabytes(bytesPerToken,
                                            s.decodeCacheBytesPerStep());
                                    decodeToReadLoop.addValue(s.decodeTokensPerSecond() * gigabytes / loop.median());
                                }
                            }
                        }
                    }
                } catch (IllegalArgumentException e) {
                    ttfts.add(new Ttft(setup.label(), null, 0, 0, e.getMessage()));
                    continue;
                }
                Figure ttft = Figure.of(seconds);
                if (unpooled) {
                    unpooledSeconds = ttft.median();
                }
                ttfts.add(new Ttft(setup.label(), ttft, last.llmPrefillFlops() / 1e9,
                        unpooledSeconds == 0 ? 0 : ttft.median() / unpooledSeconds, null));
            }
        }
        peakRss = Math.max(peakRss, peakRssBytes());
        long peakHeap = peakHeapBytes();

        BenchReport.Baselines baselines = runsOn == Device.CUDA
                ? gpuBaselines(config.textConfig(), sequenceTokens, weights)
                : baselines(config.textConfig(), sequenceTokens, weights, readLoopGBps.getN() == 0 ? null
                        : new Rate(readLoopGBps.getPercentile(50), readLoopGBps.getMin(), readLoopGBps.getMax()));
        return new BenchReport(LocalDateTime.now().toString(), folder.toString(), config.textConfig().numHiddenLayers(),
                config.textConfig().hiddenSize(), weights, weightsInMemory, backend, threads, Runtime.version().toString(),
                FloatVector.SPECIES_PREFERRED.toString(), Runtime.getRuntime().maxMemory(), openSeconds, promptTokens,
                sequenceTokens, figure(all, s -> s.visionTowerNanos() / 1e6), figure(all, s -> s.projectorNanos() / 1e6),
                orNull(prefillTokensPerSecond), orNull(prefillGflops), ttfts, decodeTokens,
                orNull(decodeTokensPerSecond), bytesPerToken,
                decodeCacheBytesPerToken.getN() == 0 ? 0 : decodeCacheBytesPerToken.getPercentile(50),
                orNull(decodeToReadLoop), peakRss, peakHeap, baselines);
    }

    /** Pooling none, static ×2 and ×4 at every DPE layer, the model's adaptive routing. */
    private static List<Setup> setups(LlavaConfig config) {
        List<Setup> setups = new ArrayList<>(List.of(new Setup("none", PoolingSpec.parse("none")),
                new Setup("static x2 (1x2)", PoolingSpec.parse("static:1x2")),
                new Setup("static x4 (2x2)", PoolingSpec.parse("static:2x2")),
                new Setup("adaptive", PoolingSpec.parse("adaptive"))));
        if (config.visionFeatureSelectStrategy() == LlavaConfig.FeatureSelect.FULL) {
            setups.removeIf(s -> !s.label().equals("none"));
        }
        return setups;
    }

    private static GenerateOptions options(DpnModel model, PoolingSpec pooling, int maxTokens) {
        return GenerateOptions.defaults().withTemplate(model.defaultTemplate()).withPooling(pooling)
                .withMaxTokens(maxTokens);
    }

    private static Figure figure(List<RequestStats> stats, ToDoubleFunction<RequestStats> value) {
        DescriptiveStatistics values = new DescriptiveStatistics();
        stats.forEach(s -> values.addValue(value.applyAsDouble(s)));
        return orNull(values);
    }

    private static Figure orNull(DescriptiveStatistics values) {
        return values.getN() == 0 ? null : Figure.of(values);
    }

    /** The stored type of the decoder's matrices (layer 0's q_proj). */
    private DType matrixType() throws IOException {
        try (SafetensorsCheckpoint checkpoint = SafetensorsCheckpoint.open(folder)) {
            return checkpoint.names().stream().filter(n -> n.endsWith("layers.0.self_attn.q_proj.weight")
                    && n.contains("language_model")).findFirst().map(n -> checkpoint.info(n).dtype()).orElseThrow(
                    () -> new IllegalArgumentException(folder + ": the checkpoint has no decoder layer 0 q_proj"));
        }
    }

    /** The weight bytes one decode step reads: those of {@link #decodeWeights}. */
    private long decoderBytesPerToken(boolean tied) throws IOException {
        try (SafetensorsCheckpoint checkpoint = SafetensorsCheckpoint.open(folder)) {
            return decodeWeights(checkpoint, tied).stream().mapToLong(n -> checkpoint.info(n).byteSize()).sum();
        }
    }

    /**
     * The tensors one decode step reads whole: every decoder layer's, the final norm and the LM head (the embedding
     * table when tied); of the embeddings themselves only one row, which is left out.
     */
    private static List<String> decodeWeights(SafetensorsCheckpoint checkpoint, boolean tied) {
        List<String> names = new ArrayList<>(checkpoint.names().stream().filter(n -> n.contains("lm_head")
                || n.contains("language_model") && !n.contains("embed_tokens")).toList());
        if (tied && names.stream().noneMatch(n -> n.contains("lm_head"))) {
            checkpoint.names().stream().filter(n -> n.contains("language_model") && n.contains("embed_tokens"))
                    .forEach(names::add);
        }
        return names;
    }

    /**
     * One timing of the memory read loop over the decode step's weights (with weights in memory, over a buffer of
     * its own), each pass's GB/s also added to {@code passesGBps}; its mapping or buffer is released on return.
     */
    private Rate readLoop(boolean tied, DescriptiveStatistics passesGBps) throws IOException {
        if (weightsInMemory) {
            progress.accept("memory read loop");
            try (ReadBandwidth loop = new ReadBandwidth(threads)) {
                return time(loop, passesGBps);
            }
        }
        progress.accept("memory read loop over the decode step's weights");
        try (SafetensorsCheckpoint checkpoint = SafetensorsCheckpoint.open(folder);
             ReadBandwidth loop = ReadBandwidth.over(decodeWeights(checkpoint, tied).stream()
                     .map(n -> checkpoint.tensor(n).data()).toList(), threads)) {
            return time(loop, passesGBps);
        }
    }

    private static Rate time(ReadBandwidth loop, DescriptiveStatistics passesGBps) {
        DescriptiveStatistics seconds = BASELINE_TIMING.measure(loop::sum);
        for (double pass : seconds.getValues()) {
            passesGBps.addValue(loop.bytes() / 1e9 / pass);
        }
        return Rate.of(loop.bytes() / 1e9, seconds);
    }

    /**
     * OpenBLAS sgemm and our matmul at the prefill's GEMM shapes, next to the read loop timed beside the decode
     * runs; what is missing is noted.
     */
    private BenchReport.Baselines baselines(TextConfig text, int m, DType weights, Rate readLoop) {
        List<Gemm> gemms = new ArrayList<>();
        String blasConfig;
        OpenBlas blas;
        try {
            blas = OpenBlas.load(threads);
            blasConfig = blas.config();
        } catch (IllegalStateException e) {
            blas = null;
            blasConfig = "OpenBLAS unavailable: " + e.getMessage();
        }
        int rows = Math.max(m, 1);
        try (CpuBackend ours = new CpuBackend(threads)) {
            for (int[] shape : List.of(new int[] {text.hiddenSize(), text.hiddenSize()},
                    new int[] {text.intermediateSize(), text.hiddenSize()})) {
                progress.accept("baseline GEMM " + rows + " x " + shape[0] + " x " + shape[1]);
                gemms.add(gemm(blas, ours, rows, shape[0], shape[1], weights));
            }
        }
        return new BenchReport.Baselines("OpenBLAS", blasConfig, gemms,
                weightsInMemory ? "memory read loop" : "memory read loop, mapped weights", readLoop);
    }

    private static Gemm gemm(OpenBlas blas, CpuBackend ours, int m, int n, int k, DType weights) {
        double gflop = 2.0 * m * n * k / 1e9;
        try (TensorArena arena = new TensorArena()) {
            Tensor x = RandomTensor.allocate(arena, DType.F32, 1, m, k);
            Tensor y = arena.allocate(DType.F32, m, n);
            Rate openBlas = null;
            if (blas != null) {
                Tensor w = RandomTensor.allocate(arena, DType.F32, 2, n, k);
                openBlas = Rate.of(gflop, BASELINE_TIMING.measure(() -> blas.matmul(x, w, y)));
            }
            Rate ourRate = null;
            String note = null;
            try {
                Tensor w = RandomTensor.allocate(arena, weights, 2, n, k);
                ourRate = Rate.of(gflop, BASELINE_TIMING.measure(() -> ours.matmul(x, w, null, y)));
            } catch (RuntimeException e) {
                note = "ours with " + weights + " weights: " + e.getMessage();
            }
            return new Gemm(m, n, k, weights, openBlas, ourRate, note);
        }
    }

    /**
     * On the GPU: cuBLAS alone (F16 inputs, F32 accumulation) next to our matmul (F32 activations, the model's weight
     * type) at the prefill's GEMM shapes, and a read of 4 GiB of device memory. GPU work is queued, so each timed run
     * is a batch of launches ended by one synchronisation.
     */
    private BenchReport.Baselines gpuBaselines(TextConfig text, int m, DType weights) {
        int rows = Math.max(m, 1);
        List<Gemm> gemms = new ArrayList<>();
        try (CudaBackend gpu = CudaBackend.open(); TensorArena arena = new TensorArena()) {
            CudaBaselines alone = new CudaBaselines(gpu);
            for (int[] shape : List.of(new int[] {text.hiddenSize(), text.hiddenSize()},
                    new int[] {text.intermediateSize(), text.hiddenSize()})) {
                int n = shape[0], k = shape[1];
                progress.accept("baseline GEMM " + rows + " x " + n + " x " + k + " on the GPU");
                double gflop = 2.0 * rows * n * k / 1e9;
                Rate cublas = Rate.of(gflop * GPU_BATCH, BASELINE_TIMING.measure(
                        batch(gpu, alone.cublasGemm(arena, rows, n, k))));
                Tensor x = gpu.allocate(arena, DType.F32, rows, k);
                gpu.copy(RandomTensor.allocate(arena, DType.F32, 1, rows, k), x);
                Tensor w = RandomTensor.allocate(arena, weights, 2, n, k);
                Tensor y = gpu.allocate(arena, DType.F32, rows, n);
                Rate ours = Rate.of(gflop * GPU_BATCH, BASELINE_TIMING.measure(
                        batch(gpu, () -> gpu.matmul(x, w, null, y))));
                gemms.add(new Gemm(rows, n, k, weights, cublas, ours, null));
            }
            progress.accept("baseline device memory read");
            long bytes = 4L << 30;
            Rate read = Rate.of(bytes / 1e9 * GPU_BATCH, BASELINE_TIMING.measure(batch(gpu, alone.read(arena, bytes))));
            return new BenchReport.Baselines("cuBLAS", "cuBLAS GemmEx F16 (" + gpu.cublasLibrary() + ") on "
                    + gpu.deviceLabel(), gemms, "device memory read", read);
        }
    }

    /** {@link #GPU_BATCH} launches of {@code op}, then a wait for them. */
    private static Runnable batch(CudaBackend gpu, Runnable op) {
        return () -> {
            for (int i = 0; i < GPU_BATCH; i++) {
                op.run();
            }
            gpu.synchronize();
        };
    }

    /** VmHWM of /proc/self/status: the most memory this process has had resident, mapped weights included. */
    private static long peakRssBytes() {
        try {
            return Files.readAllLines(Path.of("/proc/self/status")).stream()
                    .filter(line -> line.startsWith("VmHWM:"))
                    .mapToLong(line -> Long.parseLong(line.replaceAll("[^0-9]", "")) * 1024)
                    .findFirst().orElse(-1);
        } catch (IOException | RuntimeException e) {
            return -1;
        }
    }

    /**
     * Sets VmHWM back to the current RSS (Linux's clear_refs 5), once the read loop's buffer is freed; where that
     * cannot be written the buffer counts in the peak.
     */
    private static void resetPeakRss() {
        try {
            Files.writeString(Path.of("/proc/self/clear_refs"), "5");
        } catch (IOException | RuntimeException e) {
            // Not Linux, or /proc not writable: nothing to reset.
        }
    }

    private static long peakHeapBytes() {
        return ManagementFactory.getMemoryPoolMXBeans().stream().filter(p -> p.getType() == MemoryType.HEAP)
                .mapToLong(p -> p.getPeakUsage().getUsed()).sum();
    }

    /** A 336×336 picture of a shape, dots and a symbol, like the questions the models are asked about. */
    private static Path testPicture() throws IOException {
        BufferedImage picture = new BufferedImage(336, 336, BufferedImage.TYPE_INT_RGB);
        Graphics2D g = picture.createGraphics();
        g.setColor(new Color(40, 90, 160));
        g.fillRect(0, 0, 336, 336);
        g.setColor(new Color(230, 180, 40));
        g.fillOval(88, 88, 160, 160);
        g.setColor(Color.WHITE);
        for (int i = 0; i < 5; i++) {
            g.fillOval(30 + 60 * i, 290 - 20 * (i % 2), 12, 12);
        }
        // The symbol drawn as two bars, not text: text needs fonts, which a bare server may lack.
        g.fillRect(14, 24, 16, 4);
        g.fillRect(20, 18, 4, 16);
        g.dispose();
        Path file = Files.createTempFile("dpn-bench", ".png");
        ImageIO.write(picture, "png", file.toFile());
        return file;
    }
}
