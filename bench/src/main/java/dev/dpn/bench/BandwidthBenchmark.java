package dev.dpn.bench;

import dev.dpn.measure.ReadBandwidth;
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

/** The memory read loop of {@link ReadBandwidth}: one op reads 1 GiB, so GB/s = 1.074 / (seconds per op). */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(value = 1, jvmArgsAppend = {"--add-modules", "jdk.incubator.vector", "--enable-native-access=ALL-UNNAMED"})
public class BandwidthBenchmark {
    @Param("2")
    public int threads;

    private ReadBandwidth loop;

    @Setup
    public void setUp() {
        loop = new ReadBandwidth(threads);
    }

    @Benchmark
    public float sum() {
        return loop.sum();
    }

    @TearDown
    public void tearDown() {
        loop.close();
    }
}
