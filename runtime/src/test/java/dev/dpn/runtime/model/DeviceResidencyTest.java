package dev.dpn.runtime.model;

import static dev.dpn.runtime.model.GoldenFacts.argmax;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;

import dev.dpn.kernels.Backend;
import dev.dpn.kernels.cpu.CpuBackend;
import dev.dpn.loader.config.PoolingConfig;
import dev.dpn.loader.tokenizer.TokenizerFiles;
import dev.dpn.runtime.image.ClipImageProcessor;
import dev.dpn.runtime.image.ResizeMode;
import dev.dpn.runtime.text.ChatTemplate;
import dev.dpn.runtime.text.Tokenizer;
import dev.dpn.tensors.DType;
import dev.dpn.tensors.Tensor;
import dev.dpn.tensors.TensorArena;
import java.io.IOException;
import java.nio.file.Path;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The whole request, vision tower to decode steps, on a backend whose activations refuse host access
 * ({@link PosingDeviceBackend}): the model code reaches activations only through the backend, as it must on a GPU,
 * and the logits are the CPU's. The same kernels run underneath, but not equally warm: the Vector API's sums
 * over lanes add in another order before the JIT compiles them, so logits agree to 1e-5 of the largest, not bit
 * for bit. F16 key/value caches round such differences up (a logit moved by 1e-4), so the test keeps F32 caches.
 */
class DeviceResidencyTest {
    private static final Path MODEL = Path.of("../models/tiny-dpn-llava");
    private static final int STEPS = 4;

    @ParameterizedTest
    @ValueSource(booleans = {true, false})
    void aRequestNeverReadsDeviceMemoryOnTheHost(boolean adaptive) throws IOException {
        Tokenizer tokenizer = Tokenizer.of(TokenizerFiles.read(MODEL));
        int[] ids = tokenizer.encode(ChatTemplate.SHORT.prompt("How many dots are there?", true), true);
        SessionOptions options = SessionOptions.defaults().withMaxNewTokens(STEPS)
                .withRouterTokenId(tokenizer.specialIds().router().orElse(-1)).withKvCacheType(DType.F32);
        if (!adaptive) {
            options = options.withPooling(PoolingConfig.NONE);
        }
        try (PosingDeviceBackend posing = new PosingDeviceBackend(new CpuBackend(1));
                CpuBackend cpu = new CpuBackend(1)) {
            float[][] want = run(cpu, ids, options), got = run(posing, ids, options);
            for (int step = 0; step < STEPS; step++) {
                assertArrayEquals(want[step], got[step], 1e-5f * Math.abs(want[step][argmax(want[step])]),
                        "logits at step " + step);
            }
        }
    }

    /** Logits of the prefill and the greedy decode steps after it. */
    private static float[][] run(Backend backend, int[] ids, SessionOptions options) throws IOException {
        float[][] logits = new float[STEPS][];
        try (LlavaModel model = LlavaModel.load(MODEL, backend); TensorArena arena = new TensorArena();
                LlavaSession session = model.newSession(options)) {
            Tensor pixels = new ClipImageProcessor(model.config().visionConfig().imageSize(), ResizeMode.PAD)
                    .preprocess(Path.of("../world/examples/count_small.png"), arena);
            Tensor out = session.prefill(ids, pixels, PrefillObserver.NONE);
            for (int step = 0; step < STEPS; step++) {
                logits[step] = new float[Math.toIntExact(out.size())];
                backend.download(out, logits[step]);
                if (step + 1 < STEPS) {
                    out = session.decode(argmax(logits[step]));
                }
            }
        }
        return logits;
    }
}
