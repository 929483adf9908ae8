package dev.dpn.runtime.eval;

import org.apache.commons.math3.stat.interval.ConfidenceInterval;
import org.apache.commons.math3.stat.interval.IntervalUtils;

/** Correct answers out of all: an accuracy with its confidence interval. */
public final class Tally {
    private int correct;
    private int total;

    void add(boolean isCorrect) {
        total++;
        if (isCorrect) {
            correct++;
        }
    }

    void addAll(Tally other) {
        correct += other.correct;
        total += other.total;
    }

    public int correct() {
        return correct;
    }

    public int total() {
        return total;
    }

    public double accuracy() {
        return total == 0 ? 0 : correct / (double) total;
    }

    /** The Wilson score interval at 95%: sound near 0 and 1, where the normal approximation is not. */
    public ConfidenceInterval interval95() {
        return IntervalUtils.getWilsonScoreInterval(total, correct, 0.95);
    }
}
