package dev.dpn.bench;

import dev.dpn.measure.OpenBlas;
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

/** OpenBLAS with F32 weights (sgemv at M = 1, sgemm otherwise), on the shapes of {@link MatMulBenchmark}. */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(value = 1, jvmArgsAppend = {"--add-modules", "jdk.incubator.vector", "--enable-native-access=ALL-UNNAMED"})
public class OpenBlasBenchmark {
    @Param({"1", "64", "640"})
    public int m;
    @Param({"4096x4096", "11008x4096", "4096x11008"})
    public String shape;
    @Param("2")
    public int threads;

    private TensorArena arena;
    private OpenBlas blas;
    private Tensor x;
    private Tensor w;
    private Tensor y;

    @Setup
    public void setUp() {
        Shape s = Shape.parse(shape);
        arena = new TensorArena();
        blas = OpenBlas.load(threads);
        x = RandomTensor.allocate(arena, DType.F32, 1, m, s.k());
        w = RandomTensor.allocate(arena, DType.F32, 2, s.n(), s.k());
        y = arena.allocate(DType.F32, m, s.n());
    }

    @Benchmark
    public void matmul() {
        blas.matmul(x, w, y);
    }

    @TearDown
    public void tearDown() {
        arena.close();
    }
}
