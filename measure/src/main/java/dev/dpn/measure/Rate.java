package dev.dpn.measure;

import org.apache.commons.math3.stat.descriptive.DescriptiveStatistics;

/** A throughput (GFLOPS, GB/s) over repeated runs: the median run's and the slowest and fastest runs'. */
public record Rate(double median, double min, double max) {

    /** The rate of doing {@code work} (GFLOP, GB) once per run, given each run's seconds. */
    public static Rate of(double work, DescriptiveStatistics seconds) {
        return new Rate(work / seconds.getPercentile(50), work / seconds.getMax(), work / seconds.getMin());
    }
}
