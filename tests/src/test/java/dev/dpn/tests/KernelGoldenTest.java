package dev.dpn.tests;

import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.dpn.kernels.Activation;
import dev.dpn.kernels.Backend;
import dev.dpn.kernels.PoolType;
import dev.dpn.kernels.cpu.CpuBackend;
import dev.dpn.kernels.reference.ScalarBackend;
import dev.dpn.loader.SafetensorsCheckpoint;
import dev.dpn.tensors.DType;
import dev.dpn.tensors.Tensor;
import dev.dpn.tensors.TensorArena;
import java.nio.file.Path;
import java.util.List;
import java.util.function.Supplier;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Every backend against torch: {@code make_kernel_goldens.py} computed each case in float64 as HF transformers does
 * and stored inputs and outputs as F32. Our kernels compute in float32, so each comparison allows
 * {@code |got − want| ≤ atol + rtol·|want|} with bounds set per operation from float32 rounding (stated at each).
 */
class KernelGoldenTest {
    private static SafetensorsCheckpoint goldens;
    private static JsonNode params;
    private static TensorArena arena;

    @BeforeAll
    static void open() throws Exception {
        goldens = SafetensorsCheckpoint.open(Path.of("src/test/resources/goldens/kernels.safetensors"));
        params = new ObjectMapper().readTree(goldens.metadata().get("params"));
        arena = new TensorArena();
    }

    @AfterAll
    static void close() {
        arena.close();
        goldens.close();
    }

    static Stream<Arguments> backends() {
        List<Supplier<Backend>> all = List.of(ScalarBackend::new, () -> new CpuBackend(1), () -> new CpuBackend(2));
        return all.stream().map(s -> {
            Backend b = s.get();
            String label = b instanceof CpuBackend c ? "cpu x" + c.threads() : b.name();
            return Arguments.of(label, s);
        });
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("backends")
    void matmul(String label, Supplier<Backend> backend) {
        try (Backend b = backend.get()) {
            for (String name : goldens.names()) {
                if (name.startsWith("matmul_") && name.endsWith(".y")) {
                    String c = name.substring(0, name.length() - 2);
                    Tensor want = in(c, "y");
                    Tensor y = out(want);
                    b.matmul(in(c, "x"), in(c, "w"), in(c, "bias"), y);
                    // K ≤ 70 products of O(1) values summed in float32: error ≲ K·2⁻²⁴·Σ|x·w| ≈ 1e-5 here.
                    assertClose(c, want, y, 2e-5f, 1e-5f);
                }
            }
        }
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("backends")
    void norms(String label, Supplier<Backend> backend) {
        try (Backend b = backend.get()) {
            Tensor y = out(in("rmsnorm", "out"));
            b.rmsNorm(in("rmsnorm", "x"), in("rmsnorm", "weight"), (float) params.at("/rmsnorm/eps").asDouble(), y);
            // A row of 67 squares summed in float32, then one rsqrt: a few ulp of each output.
            assertClose("rmsnorm", in("rmsnorm", "out"), y, 1e-5f, 1e-5f);
            b.layerNorm(in("layernorm", "x"), in("layernorm", "weight"), in("layernorm", "bias"),
                    (float) params.at("/layernorm/eps").asDouble(), y);
            assertClose("layernorm", in("layernorm", "out"), y, 1e-5f, 1e-5f);
        }
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("backends")
    void activationsAndSoftmax(String label, Supplier<Backend> backend) {
        try (Backend b = backend.get()) {
            Tensor x = in("act", "x");
            Tensor y = out(x);
            for (Activation f : Activation.values()) {
                String role = switch (f) {
                    case GELU -> "gelu";
                    case GELU_TANH -> "gelu_tanh";
                    case QUICK_GELU -> "quick_gelu";
                    case SILU -> "silu";
                };
                b.activate(f, x, y);
                // Vectorised exp/erf approximations are accurate to a few float32 ulp (≈1e-6 relative); inputs reach
                // ±30, where outputs are ~30, and near zero, where an absolute bound is the meaningful one.
                assertClose("act." + role, in("act", role), y, 2e-6f, 1e-5f);
            }
            b.siluGate(x, in("act", "up"), y);
            assertClose("act.silu_gate", in("act", "silu_gate"), y, 2e-6f, 1e-5f);

            Tensor s = copyOf(in("softmax", "x"));
            b.softmax(s, (float) params.at("/softmax/scale").asDouble());
            // Probabilities in [0, 1]: exp's float32 error on inputs up to ~|60| before max subtraction.
            assertClose("softmax", in("softmax", "out"), s, 1e-6f, 1e-5f);
        }
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("backends")
    void rope(String label, Supplier<Backend> backend) {
        try (Backend b = backend.get()) {
            JsonNode p = params.get("rope");
            int[] positions = new ObjectMapper().convertValue(p.get("positions"), int[].class);
            Tensor x = copyOf(in("rope", "x"));
            b.rope(x, positions, p.get("head_dim").asInt(), (float) p.get("theta").asDouble());
            // Positions reach 4095: a float32 angle there is off by up to 4095·2⁻²⁴ ≈ 2.4e-4 rad, which HF's own
            // float32 rotary embedding shares; torch here computed the exact angle in float64.
            assertClose("rope", in("rope", "out"), x, 1e-3f, 0);
        }
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("backends")
    void attention(String label, Supplier<Backend> backend) {
        try (Backend b = backend.get()) {
            for (String c : List.of("attention_causal", "attention_full")) {
                JsonNode p = params.get(c);
                Tensor want = in(c, "out");
                Tensor y = out(want);
                b.attention(in(c, "q"), in(c, "k"), in(c, "v"), p.get("kv_length").asInt(), p.get("heads").asInt(),
                        p.get("kv_heads").asInt(), p.get("causal").asBoolean(), (float) p.get("scale").asDouble(), y);
                // Eight-term dot products, a softmax and a weighted sum of O(1) values in float32.
                assertClose(c, want, y, 1e-5f, 1e-5f);
            }
        }
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("backends")
    void pooling(String label, Supplier<Backend> backend) {
        try (Backend b = backend.get()) {
            for (String name : goldens.names()) {
                if (name.startsWith("pool_") && name.endsWith(".out")) {
                    String c = name.substring(0, name.length() - 4);
                    JsonNode p = params.get(c);
                    Tensor want = in(c, "out");
                    Tensor y = out(want);
                    PoolType type = p.get("type").asText().equals("max") ? PoolType.MAX : PoolType.AVG;
                    b.pool2d(type, in(c, "x"), p.get("h").asInt(), p.get("w").asInt(), p.get("kh").asInt(),
                            p.get("kw").asInt(), y);
                    // Max is exact; an average of up to 6 float32 values rounds a few ulp.
                    assertClose(c, want, y, 1e-6f, 1e-6f);
                }
            }
        }
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("backends")
    void patchEmbedAndEmbed(String label, Supplier<Backend> backend) {
        try (Backend b = backend.get()) {
            Tensor want = in("patch_embed", "out");
            Tensor y = out(want);
            b.patchEmbed(in("patch_embed", "pixels"), in("patch_embed", "weight"), in("patch_embed", "bias"), y);
            // 588-term dot products (3·14·14) of O(1)·O(0.05) values in float32.
            assertClose("patch_embed", want, y, 2e-5f, 1e-5f);

            int[] ids = new ObjectMapper().convertValue(params.at("/embed/ids"), int[].class);
            Tensor e = out(in("embed", "out"));
            b.embed(in("embed", "table"), ids, e);
            assertClose("embed", in("embed", "out"), e, 0, 0); // BF16 → F32 is exact
        }
    }

    private static Tensor in(String testCase, String role) {
        return goldens.tensor(testCase + "." + role);
    }

    private static Tensor out(Tensor like) {
        return arena.allocate(DType.F32, like.shape());
    }

    private static Tensor copyOf(Tensor t) {
        return out(t).copyFrom(t.toFloatArray());
    }

    private static void assertClose(String what, Tensor want, Tensor got, float atol, float rtol) {
        float[] w = want.toFloatArray();
        float[] g = got.toFloatArray();
        double worst = 0;
        int worstAt = -1;
        for (int i = 0; i < w.length; i++) {
            double excess = Math.abs(g[i] - w[i]) - (atol + rtol * Math.abs(w[i]));
            if (!(excess <= worst)) {
                worst = Double.isNaN(excess) ? Double.POSITIVE_INFINITY : excess;
                worstAt = i;
            }
        }
        int at = worstAt;
        assertTrue(at < 0, () -> what + ": element " + at + " is " + g[at] + ", torch says " + w[at]
                + " (atol " + atol + ", rtol " + rtol + ")");
    }
}
