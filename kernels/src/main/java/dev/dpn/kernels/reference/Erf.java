package dev.dpn.kernels.reference;

/** The error function in double precision (the JDK has none). */
final class Erf {
    private Erf() {
    }

    /**
     * The series {@code erf(x) = 2/√π · e^(−x²) · Σ 2ⁿ x^(2n+1) / (1·3·…·(2n+1))}: every term is positive, so it
     * sums without cancellation to double precision; beyond |x| = 6, erf is ±1 to within 1e-17.
     */
    static double erf(double x) {
        double ax = Math.abs(x);
        if (ax >= 6) {
            return Math.signum(x);
        }
        double term = ax;
        double sum = ax;
        for (int n = 1; term > sum * 1e-17; n++) {
            term *= 2 * ax * ax / (2 * n + 1);
            sum += term;
        }
        double r = 2 / Math.sqrt(Math.PI) * Math.exp(-ax * ax) * sum;
        return x < 0 ? -r : r;
    }
}
