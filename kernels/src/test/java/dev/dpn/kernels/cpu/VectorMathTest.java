package dev.dpn.kernels.cpu;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.dpn.kernels.Activation;
import dev.dpn.kernels.reference.ScalarBackend;
import java.util.Arrays;
import java.util.function.DoubleUnaryOperator;
import java.util.function.UnaryOperator;
import jdk.incubator.vector.FloatVector;
import org.junit.jupiter.api.Test;

class VectorMathTest {
    private static final int SAMPLES = 1 << 18;

    @Test
    void expIsWithinOneUlpOverTheNormalRange() {
        WorstError error = sweep(VectorMath::exp, Math::exp, -87.3f, 88.3f);
        assertTrue(error.ulps <= 1, "exp: " + error);
    }

    @Test
    void expSaturatesToZeroAndInfinity() {
        float[] x = {Float.NEGATIVE_INFINITY, -1000f, -88f, 0f, 89f, 1000f, Float.POSITIVE_INFINITY, Float.NaN};
        float[] y = apply(VectorMath::exp, x);
        assertEquals(0f, y[0]);
        assertEquals(0f, y[1]);
        assertEquals(0f, y[2], 1e-38f);
        assertEquals(1f, y[3]);
        assertEquals(Float.POSITIVE_INFINITY, y[4]);
        assertEquals(Float.POSITIVE_INFINITY, y[5]);
        assertEquals(Float.POSITIVE_INFINITY, y[6]);
        assertTrue(Float.isNaN(y[7]));
    }

    @Test
    void sigmoidIsWithinThreeUlpAndExactAtTheEnds() {
        WorstError error = sweep(VectorMath::sigmoid, v -> 1 / (1 + Math.exp(-v)), -87f, 30f);
        assertTrue(error.ulps <= 3, "sigmoid: " + error);
        float[] y = apply(VectorMath::sigmoid, new float[] {Float.NEGATIVE_INFINITY, -200f, 200f,
                Float.POSITIVE_INFINITY});
        assertEquals(0f, y[0]);
        assertEquals(0f, y[1]);
        assertEquals(1f, y[2]);
        assertEquals(1f, y[3]);
    }

    /** Exact GELU needs erf to about 1e-7; the sweep crosses the point where the two approximations meet. */
    @Test
    void erfIsWithinOneAndAHalfUlpAndOneTenMillionth() {
        // erf(z) recovered from the double-precision reference GELU: gelu(v) = v/2 · (1 + erf(v/√2)).
        DoubleUnaryOperator erf = z -> {
            double v = z * Math.sqrt(2);
            return 2 * ScalarBackend.activation(Activation.GELU, v) / v - 1;
        };
        WorstError error = sweep(VectorMath::erf, erf, 1e-6f, 6f);
        assertTrue(error.ulps <= 1.5 && error.abs <= 1e-7, "erf: " + error);
        WorstError negative = sweep(VectorMath::erf, erf, -6f, -1e-6f);
        assertTrue(negative.ulps <= 1.5 && negative.abs <= 1e-7, "erf: " + negative);
        float[] y = apply(VectorMath::erf, new float[] {0f, Float.NEGATIVE_INFINITY, 30f, Float.NaN});
        assertEquals(0f, y[0]);
        assertEquals(-1f, y[1]);
        assertEquals(1f, y[2]);
        assertTrue(Float.isNaN(y[3]));
    }

    private record WorstError(double ulps, double abs, float at) {
    }

    /** The largest error of {@code f} against {@code exact} on evenly spaced points of [from, to]. */
    private static WorstError sweep(UnaryOperator<FloatVector> f, DoubleUnaryOperator exact, float from, float to) {
        float[] x = new float[SAMPLES];
        for (int i = 0; i < SAMPLES; i++) {
            x[i] = from + (to - from) * i / (SAMPLES - 1);
        }
        float[] y = apply(f, x);
        double worstUlps = 0, worstAbs = 0;
        float at = Float.NaN;
        for (int i = 0; i < SAMPLES; i++) {
            double expected = exact.applyAsDouble(x[i]);
            double abs = Math.abs(y[i] - expected);
            double ulps = abs / Math.ulp((float) expected);
            worstAbs = Math.max(worstAbs, abs);
            if (ulps > worstUlps) {
                worstUlps = ulps;
                at = x[i];
            }
        }
        return new WorstError(worstUlps, worstAbs, at);
    }

    private static float[] apply(UnaryOperator<FloatVector> f, float[] x) {
        int lanes = F32.LANES;
        float[] padded = new float[(x.length + lanes - 1) / lanes * lanes];
        System.arraycopy(x, 0, padded, 0, x.length);
        float[] y = new float[padded.length];
        for (int i = 0; i < padded.length; i += lanes) {
            f.apply(FloatVector.fromArray(F32.SPECIES, padded, i)).intoArray(y, i);
        }
        return Arrays.copyOf(y, x.length);
    }
}
