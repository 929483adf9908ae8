package dev.dpn.bench;

import dev.dpn.bench.Report.Row;
import dev.dpn.kernels.Backend;
import dev.dpn.kernels.cpu.CpuBackend;
import dev.dpn.measure.OpenBlas;
import dev.dpn.measure.ProductCheck;
import dev.dpn.measure.RandomTensor;
import dev.dpn.measure.Rate;
import dev.dpn.measure.ReadBandwidth;
import dev.dpn.measure.Timing;
import dev.dpn.tensors.DType;
import dev.dpn.tensors.Tensor;
import dev.dpn.tensors.TensorArena;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.time.LocalDateTime;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.Collections;
import java.util.EnumMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Consumer;
import java.util.stream.Collectors;
import jdk.incubator.vector.FloatVector;
import org.apache.commons.math3.stat.descriptive.DescriptiveStatistics;

/**
 * The kernel benchmark table: our matmul's GFLOPS next to OpenBLAS sgemm's on the Llama-7B decoder's weight
 * shapes, at M = 1 (decoding a token), 64 and 640 (prefilling a prompt with image tokens), with F32, F16, Q8_0
 * and Q4_0 weights; at M = 1 also the weight bytes read per second next to the measured memory read bandwidth, which
 * bounds a matrix-vector product. A kernel that throws becomes an error row; the run goes on.
 */
public final class KernelBench {
    private static final String USAGE = """
            usage: scripts/bench [--quick] [--threads N] [--out FILE]
              --quick      a smoke run: M = 1 and 64 on 4096x4096 only, fewer timed runs
              --threads N  threads for our backend, OpenBLAS and the bandwidth loop (default 2)
              --out FILE   the JSON report (default bench/results/kernels-<date-time>.json)
            """;
    private static final List<Integer> M_VALUES = List.of(1, 64, 640);
    private static final List<Integer> QUICK_M_VALUES = List.of(1, 64);
    /** Llama-7B: attention projections, MLP gate and up, MLP down. */
    private static final List<Shape> SHAPES =
            List.of(new Shape(4096, 4096), new Shape(11008, 4096), new Shape(4096, 11008));
    private static final List<DType> WEIGHT_TYPES = List.of(DType.F32, DType.F16, DType.Q8_0, DType.Q4_0);
    private static final String BASELINE = "OpenBLAS with F32 weights on every row, F16 and quantized rows included"
            + " (it has no such GEMM): cblas_sgemv at M = 1, cblas_sgemm otherwise";

    private KernelBench() {
    }

    record Options(int threads, boolean quick, Path out) {
        static Options parse(String[] args) {
            int threads = 2;
            boolean quick = false;
            Path out = null;
            for (int i = 0; i < args.length; i++) {
                switch (args[i]) {
                    case "--quick" -> quick = true;
                    case "--threads" -> threads = threadCount(valueOf(args, ++i));
                    case "--out" -> out = Path.of(valueOf(args, ++i));
                    default -> throw new IllegalArgumentException("unknown argument " + args[i]);
                }
            }
            if (out == null) {
                String now = LocalDateTime.now().format(DateTimeFormatter.ofPattern("yyyyMMdd-HHmmss"));
                out = Path.of("bench", "results", "kernels-" + now + ".json");
            }
            return new Options(threads, quick, out);
        }

        private static String valueOf(String[] args, int i) {
            if (i >= args.length) {
                throw new IllegalArgumentException(args[i - 1] + " needs a value");
            }
            return args[i];
        }

        private static int threadCount(String text) {
            try {
                int threads = Integer.parseInt(text);
                if (threads < 1) {
                    throw new NumberFormatException();
                }
                return threads;
            } catch (NumberFormatException e) {
                throw new IllegalArgumentException("--threads needs a positive integer, got \"" + text + "\"");
            }
        }
    }

    public static void main(String[] args) {
        if (List.of(args).contains("-h") || List.of(args).contains("--help")) {
            System.out.print(USAGE);
            return;
        }
        Options options;
        try {
            options = Options.parse(args);
        } catch (IllegalArgumentException e) {
            System.err.println("bench: " + e.getMessage());
            System.err.print(USAGE);
            System.exit(2);
            return;
        }
        try {
            run(options);
        } catch (IllegalStateException | UncheckedIOException e) {
            System.err.println("bench: " + e.getMessage() + (e.getCause() == null ? "" : " (" + e.getCause() + ")"));
            System.exit(1);
        }
    }

    private static void run(Options options) {
        Timing timing = options.quick() ? Timing.QUICK : Timing.FULL;
        int threads = options.threads();
        System.out.printf("threads: %d, JVM %s, %s%n", threads, Runtime.version(), FloatVector.SPECIES_PREFERRED);

        OpenBlas blas = OpenBlas.load(threads);
        System.out.println("OpenBLAS: " + blas.config() + "; sgemm and sgemv agree with the scalar reference");

        Rate bandwidth;
        try (ReadBandwidth loop = new ReadBandwidth(threads)) {
            bandwidth = Rate.of(loop.bytes() / 1e9, timing.measure(loop::sum));
        }
        System.out.printf("read bandwidth: %.1f GB/s [%.1f–%.1f] (summing %d MiB)%n",
                bandwidth.median(), bandwidth.min(), bandwidth.max(), ReadBandwidth.BYTES >> 20);

        List<Row> rows = new ArrayList<>();
        String ourCheck;
        try (CpuBackend ours = new CpuBackend(threads)) {
            ourCheck = checkOurs(ours, blas);
            System.out.println("our matmul: " + ourCheck);
            System.out.println();
            System.out.println(Row.HEADER);
            Consumer<Row> sink = row -> {
                rows.add(row);
                System.out.println(row.tableLine(bandwidth.median()));
            };
            for (Shape shape : options.quick() ? SHAPES.subList(0, 1) : SHAPES) {
                measure(shape, options.quick() ? QUICK_M_VALUES : M_VALUES, ours, blas, timing, sink);
            }
        }
        System.out.println();
        System.out.println("baseline: " + BASELINE);
        Map<String, Long> errors = rows.stream().filter(r -> r.oursError() != null)
                .collect(Collectors.groupingBy(Row::oursError, LinkedHashMap::new, Collectors.counting()));
        errors.forEach((error, count) -> System.out.printf("error in %d rows: %s%n", count, error));

        String date = LocalDateTime.now().toString();
        new Report(date, threads, options.quick(), Runtime.version().toString(),
                FloatVector.SPECIES_PREFERRED.toString(), blas.config(), BASELINE, bandwidth, ourCheck, rows)
                .write(options.out());
        System.out.println("report: " + options.out());
    }

    /** Our matmul against OpenBLAS on small products; throws if it is wrong, reports if it does not run. */
    private static String checkOurs(Backend ours, OpenBlas blas) {
        try {
            for (int m : List.of(1, 5)) {
                try (ProductCheck check = new ProductCheck(m, blas::matmul)) {
                    // Quantized weights cannot hold the check's values exactly; MatMulTest checks those kernels
                    // against the scalar reference.
                    for (DType weights : List.of(DType.F32, DType.F16)) {
                        check.require("our matmul", (x, w, y) -> ours.matmul(x, w, null, y), weights);
                    }
                }
            }
            return "agrees with OpenBLAS on small products (M = 1 and 5; F32 and F16 weights)";
        } catch (ProductCheck.WrongResult e) {
            throw e;
        } catch (RuntimeException e) {
            return "fails on a small product: " + e;
        }
    }

    /** Times OpenBLAS and our matmul at every M for one weight shape; the operands live for this shape only. */
    private static void measure(Shape shape, List<Integer> mValues, Backend ours, OpenBlas blas, Timing timing,
                                Consumer<Row> sink) {
        int n = shape.n();
        int k = shape.k();
        int maxM = Collections.max(mValues);
        try (TensorArena arena = new TensorArena()) {
            Tensor x = RandomTensor.allocate(arena, DType.F32, 1, maxM, k);
            Tensor y = arena.allocate(DType.F32, maxM, n);
            Map<DType, Tensor> weights = new EnumMap<>(DType.class);
            for (DType dtype : WEIGHT_TYPES) {
                weights.put(dtype, RandomTensor.allocate(arena, dtype, 2, n, k));
            }
            for (int m : mValues) {
                Tensor xm = x.rows(0, m);
                Tensor ym = y.rows(0, m);
                double gflop = 2.0 * m * n * k / 1e9;
                Rate openBlas = Rate.of(gflop, timing.measure(() -> blas.matmul(xm, weights.get(DType.F32), ym)));
                for (DType dtype : WEIGHT_TYPES) {
                    Tensor w = weights.get(dtype);
                    DescriptiveStatistics seconds;
                    try {
                        seconds = timing.measure(() -> ours.matmul(xm, w, null, ym));
                    } catch (RuntimeException e) {
                        sink.accept(new Row(m, n, k, dtype, null, e.toString(), openBlas, null));
                        continue;
                    }
                    Rate weightGBps = m == 1 ? Rate.of(w.byteSize() / 1e9, seconds) : null;
                    sink.accept(new Row(m, n, k, dtype, Rate.of(gflop, seconds), null, openBlas, weightGBps));
                }
            }
        }
    }
}
