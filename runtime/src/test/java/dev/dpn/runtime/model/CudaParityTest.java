package dev.dpn.runtime.model;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.dpn.kernels.Backend;
import dev.dpn.kernels.cpu.CpuBackend;
import dev.dpn.kernels.cuda.CudaBackend;
import dev.dpn.kernels.cuda.CudaUnavailableException;
import dev.dpn.loader.config.PoolingConfig;
import dev.dpn.runtime.DpnModel;
import dev.dpn.runtime.image.ClipImageProcessor;
import dev.dpn.runtime.image.ResizeMode;
import dev.dpn.runtime.text.ChatTemplate;
import dev.dpn.tensors.Tensor;
import dev.dpn.tensors.TensorArena;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * The embedded tiny DPN-LLaVA on the GPU against the CPU backend: the vision features, visual tokens and hidden
 * states after every decoder layer, the same routing decisions, the same greedy tokens, logits within tolerance at
 * the prefill and every decode step. Skipped where there is no GPU, with the reason.
 *
 * <p>Tolerance: cuBLAS prefill matmuls round activations to F16 (2⁻¹¹ relative) before each of the ~40 matmuls
 * between the image and the logits, and F32 sums run in another order; 2% of a stage's largest magnitude bounds
 * that, while a wrong kernel moves values by O(1) of it. Router probabilities: 1e-3 absolute.
 */
class CudaParityTest {
    private static final Path MODEL = Path.of("../models/tiny-dpn-llava");
    private static final double TOLERANCE = 0.02;
    private static final int STEPS = 8;

    private static CudaBackend cuda;
    private static CpuBackend cpu;
    private static LlavaModel onGpu;
    private static LlavaModel onCpu;
    private static DpnModel api;

    @BeforeAll
    static void load() throws IOException {
        try {
            cuda = CudaBackend.open();
        } catch (CudaUnavailableException e) {
            assumeTrue(false, e.getMessage());
        }
        System.out.println("CUDA parity on " + cuda.deviceLabel() + ", cuBLAS " + cuda.cublasLibrary());
        cpu = new CpuBackend(2);
        onGpu = LlavaModel.load(MODEL, cuda);
        onCpu = LlavaModel.load(MODEL, cpu);
        api = DpnModel.load(MODEL, 1);
    }

    @AfterAll
    static void close() {
        for (AutoCloseable resource : new AutoCloseable[] {api, onCpu, onGpu, cpu, cuda}) {
            try {
                if (resource != null) {
                    resource.close();
                }
            } catch (Exception e) {
                throw new IllegalStateException(e);
            }
        }
    }

    @ParameterizedTest(name = "{0}: {1}, pooling {2}")
    @CsvSource({
            "world/examples/count_small.png, How many dots are there?, adaptive",
            "world/eval/0009.png, What color is the background?, adaptive",
            "world/eval/0009.png, What color is the background?, none"})
    void stagesRoutingAndGreedyTokensMatchTheCpu(String image, String question, String pooling) {
        int[] ids = api.tokenizer().encode(ChatTemplate.SHORT.prompt(question, true), true);
        SessionOptions options = SessionOptions.defaults().withMaxNewTokens(STEPS)
                .withRouterTokenId(api.tokenizer().specialIds().router().orElse(-1));
        if (pooling.equals("none")) {
            options = options.withPooling(PoolingConfig.NONE);
        }
        try (TensorArena arena = new TensorArena();
                LlavaSession gpuSession = onGpu.newSession(options);
                LlavaSession cpuSession = onCpu.newSession(options)) {
            Tensor pixels = new ClipImageProcessor(onCpu.config().visionConfig().imageSize(), ResizeMode.PAD)
                    .preprocess(Path.of("..").resolve(image), arena);
            PrefillRecorder gpuStages = new PrefillRecorder(cuda), cpuStages = new PrefillRecorder(cpu);
            Tensor gpuLogits = gpuSession.prefill(ids, pixels, gpuStages);
            Tensor cpuLogits = cpuSession.prefill(ids, pixels, cpuStages);
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
