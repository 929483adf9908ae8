package dev.dpn.cli;

import org.apache.commons.math3.stat.descriptive.DescriptiveStatistics;

/** A measured quantity over repeated runs: the median run's value and the extremes. */
record Figure(double median, double min, double max, long runs) {

    static Figure of(DescriptiveStatistics values) {
        return new Figure(values.getPercentile(50), values.getMin(), values.getMax(), values.getN());
    }

    static Figure once(double value) {
        return new Figure(value, value, value, 1);
    }

    /** This figure times {@code factor}, for a change of unit. */
    Figure times(double factor) {
        return new Figure(median * factor, min * factor, max * factor, runs);
    }
}
