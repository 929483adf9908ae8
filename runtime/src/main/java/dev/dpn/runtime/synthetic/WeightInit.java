package dev.dpn.runtime.synthetic;

/**
 * How a random tensor's elements are drawn: uniformly from {@code [mean − halfWidth, mean + halfWidth)}; a
 * constant when the half-width is 0. Uniform rather than normal because it costs one hash per element, and only
 * the scale matters for keeping activations in range.
 */
record WeightInit(float mean, float halfWidth) {

    WeightInit {
        if (!(halfWidth >= 0)) {
            throw new IllegalArgumentException("half-width must be non-negative, got " + halfWidth);
        }
    }

    static WeightInit constant(float value) {
        return new WeightInit(value, 0f);
    }

    /** Zero mean and standard deviation {@code std}: a uniform law on ±a has std a/√3. */
    static WeightInit withStd(double std) {
        return new WeightInit(0f, (float) (std * Math.sqrt(3)));
    }

    double std() {
        return halfWidth / Math.sqrt(3);
    }
}
