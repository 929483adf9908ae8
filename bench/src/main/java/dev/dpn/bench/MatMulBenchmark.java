package dev.dpn.bench;

import dev.dpn.kernels.cpu.CpuBackend;
import dev.dpn.measure.RandomTensor;
import dev.dpn.tensors.DType;
import dev.dpn.tensors.Tensor;
import dev.dpn.tensors.TensorArena;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

/** Our matmul {@code y = x·wᵀ} (no bias) on the decoder's weight shapes. */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(value = 1, jvmArgsAppend = {"--add-modules", "jdk.incubator.vector", "--enable-native-access=ALL-UNNAMED"})
public class MatMulBenchmark {
    @Param({"1", "64", "640"})
    public int m;
    @Param({"4096x4096", "11008x4096", "4096x11008"})
    public String shape;
    @Param({"F32", "F16", "Q8_0", "Q4_0"})
    public DType dtype;
    @Param("2")
    public int threads;

    private TensorArena arena;
    private CpuBackend backend;
    private Tensor x;
    private Tensor w;
    private Tensor y;

    @Setup
    public void setUp() {
        Shape s = Shape.parse(shape);
        arena = new TensorArena();
        backend = new CpuBackend(threads);
        x = RandomTensor.allocate(arena, DType.F32, 1, m, s.k());
        w = RandomTensor.allocate(arena, dtype, 2, s.n(), s.k());
        y = arena.allocate(DType.F32, m, s.n());
    }

    @Benchmark
    public void matmul() {
        backend.matmul(x, w, null, y);
    }

    @TearDown
    public void tearDown() {
        backend.close();
        arena.close();
    }
}
