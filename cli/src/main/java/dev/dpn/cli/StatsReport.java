package dev.dpn.cli;

import dev.dpn.loader.config.LlavaConfig;
import dev.dpn.runtime.RequestStats;
import dev.dpn.runtime.model.PoolingDecision;
import java.io.PrintWriter;
import java.util.Locale;

/** The {@code --stats} block printed after an answer. */
final class StatsReport {
    private StatsReport() {
    }

    static void print(RequestStats s, LlavaConfig config, PrintWriter out) {
        out.println();
        out.println("-- stats");
        for (PoolingDecision d : s.routing()) {
            String choice = d.kernel() == null ? "no expert" : "expert " + d.expert() + " (" + d.kernel() + ")";
            out.printf(Locale.ROOT, "DPE layer %-3d %-20s p %-28s %s -> %s%s%n", d.layer(), choice,
                    probabilities(d.probabilities()), d.gridIn(), d.gridOut(),
                    d.pooled() ? "" : "  skipped: " + d.skipReason());
        }
        for (RequestStats.Stage stage : s.stages()) {
            out.printf(Locale.ROOT, "layers %2d-%-2d  %5d tokens, %4d visual (grid %s)%n", stage.firstLayer(),
                    stage.lastLayer(), stage.sequenceTokens(), stage.grid().tokens(), stage.grid());
        }
        out.printf(Locale.ROOT, "LLM prefill   %s with pooling, %s without: %.1f%% saved%n",
                flops(s.llmPrefillFlops()), flops(s.llmPrefillFlopsUnpooled()), 100 * s.flopsSaving());
        out.printf(Locale.ROOT, "vision        %s (tower and projector), %.0f ms image decoding, %.0f ms vision%n",
                flops(s.visionFlops()), s.imageNanos() / 1e6, s.visionNanos() / 1e6);
        out.printf(Locale.ROOT, "TTFT          %.0f ms (prefill %.0f ms, %.1f tokens/s through the LLM)%n",
                s.ttftNanos() / 1e6, s.prefillNanos() / 1e6, s.prefillTokensPerSecond());
        out.printf(Locale.ROOT, "decode        %d tokens, %.1f tokens/s%n", s.generatedTokens(),
                s.decodeTokensPerSecond());
    }

    static String probabilities(float[] p) {
        if (p.length == 0) {
            return "-";
        }
        StringBuilder b = new StringBuilder("[");
        for (int i = 0; i < p.length; i++) {
            b.append(i == 0 ? "" : " ").append(String.format(Locale.ROOT, "%.3f", p[i]));
        }
        return b.append(']').toString();
    }

    static String flops(double flops) {
        String[] units = {"", "K", "M", "G", "T", "P"};
        int unit = 0;
        while (flops >= 1000 && unit < units.length - 1) {
            flops /= 1000;
            unit++;
        }
        return String.format(Locale.ROOT, "%.2f %sFLOP", flops, units[unit]);
    }
}
