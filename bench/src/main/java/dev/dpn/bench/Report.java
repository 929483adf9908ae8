package dev.dpn.bench;

import dev.dpn.measure.Rate;
import dev.dpn.measure.ReportFile;
import dev.dpn.tensors.DType;
import java.nio.file.Path;
import java.util.List;

/** The results of one {@link KernelBench} run, written as JSON so that runs can be compared over time. */
record Report(String date, int threads, boolean quick, String jvm, String vectorSpecies, String openBlas,
              String baseline, Rate readBandwidthGBps, String ourCheck, List<Row> rows) {

    /**
     * Our matmul at one M, weight shape and weight type, next to OpenBLAS on the same x and shape. At M = 1
     * (a matrix-vector product) also the weight bytes read per second, to set against the read bandwidth.
     *
     * @param oursError what our matmul threw instead of running, or null
     */
    record Row(int m, int n, int k, DType weights, Rate oursGflops, String oursError, Rate openBlasGflops,
               Rate oursWeightGBps) {
        static final String HEADER = String.format("%5s %6s %6s %-4s %8s %-17s %8s %-17s %9s %8s %10s",
                "M", "N", "K", "w", "ours", "GFLOPS [min–max]", "OpenBLAS", "GFLOPS [min–max]", "ours/BLAS",
                "w GB/s", "/bandwidth");

        /** The row as a line under {@link #HEADER}; {@code bandwidth} is the measured read bandwidth, GB/s. */
        String tableLine(double bandwidth) {
            String line = String.format("%5d %6d %6d %-4s ", m, n, k, weights);
            if (oursError != null) {
                return (line + String.format("%-26s %s", "error (see below)", rate(openBlasGflops))).stripTrailing();
            }
            line += rate(oursGflops) + " " + rate(openBlasGflops)
                    + String.format(" %9.2f", oursGflops.median() / openBlasGflops.median());
            if (oursWeightGBps != null) {
                line += String.format(" %8.1f %10.2f", oursWeightGBps.median(), oursWeightGBps.median() / bandwidth);
            }
            return line;
        }

        private static String rate(Rate r) {
            return String.format("%8.1f %-17s", r.median(), String.format("[%.1f–%.1f]", r.min(), r.max()));
        }
    }

    void write(Path file) {
        ReportFile.write(this, file);
    }
}
