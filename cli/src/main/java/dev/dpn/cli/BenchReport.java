package dev.dpn.cli;

import com.fasterxml.jackson.annotation.JsonProperty;
import dev.dpn.measure.Rate;
import dev.dpn.measure.ReportFile;
import dev.dpn.tensors.DType;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;

/**
 * The results of one {@code dpn bench} run: printed as a table, written as JSON so that runs can be compared over
 * time. Times are medians over the runs with their extremes; a figure that could not be measured is null.
 *
 * @param promptTokens      the question's prompt ids, the image placeholder counted once
 * @param sequenceTokens    what the decoder's first layer sees: the prompt with the image's visual tokens
 * @param decodeBytesPerToken the weight bytes one decode step reads
 * @param decodeCacheBytesPerToken the key/value cache bytes one decode step reads, on average over the steps
 * @param decodeToReadLoop  each decode run's bytes per second over the read loop's timed right after it (CPU); null
 *                          where the read was timed once, after the model's runs (GPU)
 */
record BenchReport(String date, String model, int layers, int hiddenSize, DType weights, boolean weightsInMemory,
                   String backend, int threads, String jvm,
                   String vectorSpecies, long maxHeapBytes, double openSeconds, int promptTokens, int sequenceTokens,
                   Figure visionTowerMs, Figure projectorMs, Figure llmPrefillTokensPerSecond, Figure llmPrefillGflops,
                   List<Ttft> ttft, int decodeTokens, Figure decodeTokensPerSecond, long decodeBytesPerToken,
                   double decodeCacheBytesPerToken, Figure decodeToReadLoop, long peakRssBytes, long peakHeapBytes,
                   Baselines baselines) {

    /**
     * Time to first token under one pooling setup.
     *
     * @param llmPrefillGflop the decoder's prefill work under this pooling
     * @param toUnpooled      the median TTFT over the unpooled one's
     * @param error           why the setup could not run (adaptive pooling without routers), else null
     */
    record Ttft(String pooling, Figure seconds, double llmPrefillGflop, double toUnpooled, String error) {
    }

    /** Our matmul and the baseline's (OpenBLAS sgemm with F32 weights; cuBLAS alone) on one M × N × K product. */
    record Gemm(int m, int n, int k, DType weights, Rate baselineGflops, Rate oursGflops, String note) {
    }

    /**
     * @param gemm      the baseline GEMM's short name, "OpenBLAS" or "cuBLAS"
     * @param gemmSetup what it is and how it was set up
     * @param read      what read memory: the CPU's loop or the GPU's kernel
     */
    record Baselines(String gemm, String gemmSetup, List<Gemm> gemms, String read, Rate readBandwidthGBps) {
    }

    /** What decoding read per second: the weights and the key/value cache. */
    @JsonProperty
    Figure decodeGBps() {
        return decodeTokensPerSecond == null ? null
                : decodeTokensPerSecond.times(decodeGigabytes(decodeBytesPerToken, decodeCacheBytesPerToken));
    }

    /** The gigabytes one decode step reads: its weights and its key/value cache. */
    static double decodeGigabytes(long weightBytes, double cacheBytes) {
        return (weightBytes + cacheBytes) / 1e9;
    }

    void print(PrintWriter out) {
        out.printf(Locale.ROOT, "dpn bench: %s (%d layers, hidden %d, %s weights%s) on %s, %d threads, JVM %s, %s, "
                        + "max heap %s%n", model, layers, hiddenSize, weights, weightsInMemory ? " in memory" : "",
                backend, threads,
                jvm, vectorSpecies,
                InspectCommand.human(maxHeapBytes));
        out.printf(Locale.ROOT, "prompt: one image and a question of %d tokens, %d tokens in the decoder%n%n",
                promptTokens, sequenceTokens);
        out.printf(Locale.ROOT, "%-32s %12s  %-23s %s%n", "measure", "median", "[min–max] runs", "ratio");
        row(out, "model open", Figure.once(openSeconds), "s", "");
        row(out, "vision tower", visionTowerMs, "ms", "");
        row(out, "projector", projectorMs, "ms", "");
        Gemm square = baselines.gemms().isEmpty() ? null : baselines.gemms().getFirst();
        String prefillRatio = square == null || square.baselineGflops() == null || llmPrefillGflops == null ? ""
                : String.format(Locale.ROOT, "%.2f x %s %dx%dx%d", llmPrefillGflops.median()
                / square.baselineGflops().median(), baselines.gemm(), square.m(), square.n(), square.k());
        row(out, "LLM prefill", llmPrefillTokensPerSecond, "tok/s", "");
        row(out, "LLM prefill", llmPrefillGflops, "GFLOPS", prefillRatio);
        for (Ttft t : ttft) {
            if (t.error() != null) {
                out.printf(Locale.ROOT, "%-32s %s%n", "TTFT " + t.pooling(), "not run: " + t.error());
            } else {
                row(out, "TTFT " + t.pooling(), t.seconds(), "s", String.format(Locale.ROOT,
                        "%.2f x none, LLM prefill %s GFLOP", t.toUnpooled(), number(t.llmPrefillGflop())));
            }
        }
        row(out, "decode (" + decodeTokens + " tokens)", decodeTokensPerSecond, "tok/s", "");
        Figure gbps = decodeGBps();
        String bandwidthRatio = gbps == null ? "" : String.format(Locale.ROOT, "%.2f x %s, %s weights + %s KV "
                        + "cache/token", decodeToReadLoop != null ? decodeToReadLoop.median()
                        : gbps.median() / baselines.readBandwidthGBps().median(),
                decodeToReadLoop != null ? "read loop after it" : baselines.read(),
                InspectCommand.human(decodeBytesPerToken), InspectCommand.human((long) decodeCacheBytesPerToken));
        row(out, "decode bytes read", gbps, "GB/s", bandwidthRatio);
        out.printf(Locale.ROOT, "%-32s %12s%n", "peak RSS (VmHWM)", InspectCommand.human(peakRssBytes));
        out.printf(Locale.ROOT, "%-32s %12s%n", "peak heap", InspectCommand.human(peakHeapBytes));
        out.println();
        out.println("baselines, same run: " + baselines.gemmSetup());
        for (Gemm g : baselines.gemms()) {
            String label = String.format(Locale.ROOT, "GEMM %dx%dx%d", g.m(), g.n(), g.k());
            rate(out, label + " " + baselines.gemm(), g.baselineGflops(), "GFLOPS", "");
            rate(out, label + " ours " + g.weights(), g.oursGflops(), "GFLOPS", g.oursGflops() == null
                    || g.baselineGflops() == null ? (g.note() == null ? "" : g.note())
                    : String.format(Locale.ROOT, "%.2f x %s", g.oursGflops().median()
                    / g.baselineGflops().median(), baselines.gemm()));
        }
        rate(out, baselines.read(), baselines.readBandwidthGBps(), "GB/s", "");
    }

    private static void row(PrintWriter out, String label, Figure f, String unit, String ratio) {
        if (f == null) {
            out.printf(Locale.ROOT, "%-32s %12s%n", label, "n/a");
            return;
        }
        // Rates from the baselines' timing loop carry no run count (0).
        String spread = f.runs() == 1 ? "" : String.format(Locale.ROOT, "[%s–%s]", number(f.min()), number(f.max()))
                + (f.runs() > 1 ? " " + f.runs() : "");
        out.printf(Locale.ROOT, "%-32s %12s  %-23s %s%n", label, number(f.median()) + " " + unit, spread, ratio);
    }

    private static void rate(PrintWriter out, String label, Rate r, String unit, String ratio) {
        row(out, label, r == null ? null : new Figure(r.median(), r.min(), r.max(), 0), unit, ratio);
    }

    /** Three significant digits or whole numbers: 0.412, 41.2, 412, 4120. */
    private static String number(double value) {
        double magnitude = Math.abs(value);
        return String.format(Locale.ROOT, magnitude >= 100 ? "%.0f" : magnitude >= 10 ? "%.1f" : magnitude >= 1
                ? "%.2f" : "%.3f", value);
    }

    void write(Path file) {
        ReportFile.write(this, file);
    }
}
