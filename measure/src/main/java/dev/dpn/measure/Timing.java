package dev.dpn.measure;

import org.apache.commons.math3.stat.descriptive.DescriptiveStatistics;

/**
 * How long to warm an operation up and how many timed runs to take: at least {@code minRuns}, more while
 * {@code measureSeconds} have not passed, never more than {@code maxRuns}.
 */
public record Timing(double warmupSeconds, int minRuns, double measureSeconds, int maxRuns) {
    /**
     * The warm-up also outlasts the spinning of the previous engine's idle threads (OpenBLAS's spin for a while
     * after each call), which would otherwise steal cores from the next engine on a small machine.
     */
    public static final Timing FULL = new Timing(0.5, 5, 1.5, 200);
    public static final Timing QUICK = new Timing(0.2, 3, 0.3, 50);

    /** Seconds per run of {@code op}, after the warm-up. */
    public DescriptiveStatistics measure(Runnable op) {
        long warmupEnd = System.nanoTime() + (long) (warmupSeconds * 1e9);
        do {
            op.run();
        } while (System.nanoTime() < warmupEnd);

        DescriptiveStatistics seconds = new DescriptiveStatistics();
        long measureEnd = System.nanoTime() + (long) (measureSeconds * 1e9);
        while (seconds.getN() < minRuns || (seconds.getN() < maxRuns && System.nanoTime() < measureEnd)) {
            long start = System.nanoTime();
            op.run();
            seconds.addValue((System.nanoTime() - start) / 1e9);
        }
        return seconds;
    }
}
