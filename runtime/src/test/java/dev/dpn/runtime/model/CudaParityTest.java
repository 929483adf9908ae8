package dev.dpn.runtime.model;

import static dev.dpn.runtime.model.GoldenFacts.argmax;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.dpn.kernels.Backend;
import dev.dpn.kernels.cpu.CpuBackend;
import dev.dpn.kernels.cuda.CudaBackend;
import dev.dpn.kernels.cuda.CudaUnavailableException;
import dev.dpn.loader.config.PoolingConfig;
import dev.dpn.runtime.image.ClipImageProcessor;
import dev.dpn.runtime.image.ResizeMode;
import dev.dpn.runtime.text.ChatTemplate;
import dev.dpn.runtime.text.Tokenizer;
import dev.dpn.loader.tokenizer.TokenizerFiles;
import dev.dpn.tensors.DType;
import dev.dpn.tensors.Tensor;
import dev.dpn.tensors.TensorArena;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * DPN-LLaVA on the GPU against the CPU backend: the vision features, visual tokens and hidden states after every
 * decoder layer, the same routing decisions, the same greedy tokens, logits within tolerance at the prefill and every
 * decode step. The embedded tiny model always; a 7B-shaped one (from {@code dpn random-model --shape 7b}) when the
 * system property {@value #LARGE_MODEL} names its folder. Skipped where there is no GPU, with the reason.
 *
 * <p>Tolerance: cuBLAS prefill matmuls round activations to F16 (2⁻¹¹ relative) before each of the ~40 matmuls
 * between the image and the logits (~230 at 7B), and F32 sums run in another order. Measured on an H200 (largest
 * difference over a stage's largest magnitude): at most 1.8e-4 on the tiny model, 7.8e-4 at 7B (the last layer; it
 * grows with depth); 5e-3 leaves six times that, while a wrong kernel moves values by O(1). Router probabilities:
 * 1e-3 absolute (measured: 3e-4 at 7B).
 */
class CudaParityTest {
    private static final Path MODEL = Path.of("../models/tiny-dpn-llava");
    /** The system property naming a 7B-shaped model folder to compare as well. */
    static final String LARGE_MODEL = "dpn.cuda.parity.model";
    private static final double TOLERANCE = 5e-3;
    private static final int STEPS = 8;

    private static CpuBackend cpu;

    @BeforeAll
    static void open() {
        try (CudaBackend cuda = CudaBackend.open()) {
            System.out.println("CUDA parity on " + cuda.deviceLabel() + ", cuBLAS " + cuda.cublasLibrary());
        } catch (CudaUnavailableException e) {
            assumeTrue(false, e.getMessage());
        }
        cpu = new CpuBackend(Runtime.getRuntime().availableProcessors());
    }

    @AfterAll
    static void close() {
        if (cpu != null) {
            cpu.close();
        }
    }

    @ParameterizedTest(name = "{0}: {1}, pooling {2}")
    @CsvSource({
            "world/examples/count_small.png, How many dots are there?, adaptive",
            "world/eval/0009.png, What color is the background?, adaptive",
            "world/eval/0009.png, What color is the background?, none"})
    void stagesRoutingAndGreedyTokensMatchTheCpu(String image, String question, String pooling) throws IOException {
        compare(MODEL, Path.of("..").resolve(image), question, pooling.equals("none"));
    }

    @ParameterizedTest(name = "7B-shaped, pooling {0}")
    @CsvSource({"adaptive", "none"})
    void aSevenBillionShapedModelMatchesTheCpu(String pooling) throws IOException {
        String folder = System.getProperty(LARGE_MODEL);
        assumeTrue(folder != null, "no 7B-shaped model named by -D" + LARGE_MODEL);
        compare(Path.of(folder), Path.of("../world/eval/0009.png"), "What color is the background?",
                pooling.equals("none"));
    }

    private static void compare(Path folder, Path image, String question, boolean unpooled) throws IOException {
        Tokenizer tokenizer = Tokenizer.of(TokenizerFiles.read(folder));
        // A backend per model: it keeps the weights it uploaded, by host address, for as long as it lives.
        try (CudaBackend cuda = CudaBackend.open(); LlavaModel onGpu = LlavaModel.load(folder, cuda);
                LlavaModel onCpu = LlavaModel.load(folder, cpu); TensorArena arena = new TensorArena()) {
            int[] ids = tokenizer.encode(ChatTemplate.SHORT.prompt(question, true), true);
            // Both on F32 caches: the comparison is of the kernels, not of the CPU's F16 cache rounding.
            SessionOptions options = SessionOptions.defaults().withMaxNewTokens(STEPS)
                    .withRouterTokenId(tokenizer.specialIds().router().orElse(-1)).withKvCacheType(DType.F32);
            if (unpooled) {
                options = options.withPooling(PoolingConfig.NONE);
            }
            try (LlavaSession gpuSession = onGpu.newSession(options);
                    LlavaSession cpuSession = onCpu.newSession(options)) {
                Tensor pixels = new ClipImageProcessor(onCpu.config().visionConfig().imageSize(), ResizeMode.PAD)
                        .preprocess(image, arena);
                PrefillRecorder gpuStages = new PrefillRecorder(cuda), cpuStages = new PrefillRecorder(cpu);
                Tensor gpuLogits = gpuSession.prefill(ids, pixels, gpuStages);
                Tensor cpuLogits = cpuSession.prefill(ids, pixels, cpuStages);
                report(folder, cpuStages, gpuStages, cpuSession.trace().decisions(), gpuSession.trace().decisions());
                assertClose(cpuStages.visionFeatures, gpuStages.visionFeatures, "vision features");
                assertClose(cpuStages.visualTokens, gpuStages.visualTokens, "visual tokens");
                assertEquals(cpuStages.hiddenAfter.keySet(), gpuStages.hiddenAfter.keySet(), "layers observed");
                cpuStages.hiddenAfter.forEach((layer, want) ->
                        assertClose(want, gpuStages.hiddenAfter.get(layer), "hidden after layer " + layer));
                List<PoolingDecision> gpuDecisions = gpuSession.trace().decisions();
                List<PoolingDecision> cpuDecisions = cpuSession.trace().decisions();
                assertEquals(cpuDecisions.size(), gpuDecisions.size(), "DPE layers");
                for (int i = 0; i < cpuDecisions.size(); i++) {
                    assertEquals(cpuDecisions.get(i).expert(), gpuDecisions.get(i).expert(), "expert at DPE " + i);
                    float[] want = cpuDecisions.get(i).probabilities(), got = gpuDecisions.get(i).probabilities();
                    for (int e = 0; e < want.length; e++) {
                        assertEquals(want[e], got[e], 1e-3, "router probability " + e + " at DPE " + i);
                    }
                }
                List<Integer> gpuTokens = new ArrayList<>(), cpuTokens = new ArrayList<>();
                for (int step = 0; step < STEPS; step++) {
                    float[] gpu = read(cuda, gpuLogits), want = read(cpu, cpuLogits);
                    System.out.printf(Locale.ROOT, "%s: logits at step %d differ by %.2e of their largest%n",
                            folder.getFileName(), step, deviation(want, gpu));
                    assertClose(want, gpu, "logits at step " + step);
                    gpuTokens.add(argmax(gpu));
                    cpuTokens.add(argmax(want));
                    assertEquals(cpuTokens, gpuTokens, "greedy tokens");
                    if (step + 1 < STEPS) {
                        gpuLogits = gpuSession.decode(gpuTokens.getLast());
                        cpuLogits = cpuSession.decode(cpuTokens.getLast());
                    }
                }
            }
        }
    }

    /** Prints each stage's largest difference and the routing, so a failure shows where the two part. */
    private static void report(Path folder, PrefillRecorder cpuStages, PrefillRecorder gpuStages,
            List<PoolingDecision> cpuDecisions, List<PoolingDecision> gpuDecisions) {
        StringBuilder line = new StringBuilder(folder.getFileName() + ": largest difference / largest magnitude: ");
        line.append(String.format(Locale.ROOT, "vision %.2e, visual tokens %.2e", deviation(cpuStages.visionFeatures,
                gpuStages.visionFeatures), deviation(cpuStages.visualTokens, gpuStages.visualTokens)));
        cpuStages.hiddenAfter.keySet().stream().sorted().forEach(layer -> line.append(String.format(Locale.ROOT,
                ", layer %d %.2e", layer, deviation(cpuStages.hiddenAfter.get(layer),
                        gpuStages.hiddenAfter.get(layer)))));
        System.out.println(line);
        for (int i = 0; i < Math.min(cpuDecisions.size(), gpuDecisions.size()); i++) {
            System.out.printf(Locale.ROOT, "  DPE %d: cpu expert %d %s, gpu expert %d %s%n", i,
                    cpuDecisions.get(i).expert(), Arrays.toString(cpuDecisions.get(i).probabilities()),
                    gpuDecisions.get(i).expert(), Arrays.toString(gpuDecisions.get(i).probabilities()));
        }
    }

    private static double deviation(float[] want, float[] got) {
        if (want == null || got == null || want.length != got.length) {
            return Double.NaN;
        }
        double scale = 0, diff = 0;
        for (int i = 0; i < want.length; i++) {
            scale = Math.max(scale, Math.abs(want[i]));
            diff = Math.max(diff, Math.abs(want[i] - got[i]));
        }
        return diff / scale;
    }

    private static float[] read(Backend backend, Tensor logits) {
        float[] out = new float[Math.toIntExact(logits.size())];
        backend.download(logits, out);
        return out;
    }

    private static void assertClose(float[] want, float[] got, String what) {
        double scale = 0;
        for (float w : want) {
            scale = Math.max(scale, Math.abs(w));
        }
        assertEquals(want.length, got.length, what + ": length");
        for (int i = 0; i < want.length; i++) {
            assertEquals(want[i], got[i], TOLERANCE * scale, what + " [" + i + "]");
        }
    }
}
