package dev.dpn.kernels.cpu;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;

/**
 * exp, sigmoid and erf on whole vectors, to float accuracy, without branches or tables: the transcendental parts of
 * softmax, attention and the activations. The polynomials are minimax fits of the relative error (Lawson's
 * algorithm in double, coefficients rounded to float); VectorMathTest pins the accuracy they reach.
 *
 * <p>The scalar overloads run one value through the same vector code, so that the scalar tail of a loop computes
 * exactly what its vector body does; each is a call of its own, which keeps a second inlined copy of the math
 * out of the loop's method.
 */
final class VectorMath {
    private static final float LOG2_E = 1.44269504f;
    /** ln 2 in two parts: n·LN2_HI is exact for |n| ≤ 2⁸, so the reduced argument keeps full accuracy. */
    private static final float LN2_HI = 0.693359375f;
    private static final float LN2_LO = -2.12194440e-4f;
    /** Adding 1.5·2²³ rounds a float below 2²² in magnitude to an integer held in the low mantissa bits. */
    private static final float ROUND_TO_INT = 12582912f;
    /** Range of x where e^x is a normal float with an exponent the bit trick can build (2⁻¹²⁶ to 2¹²⁷). */
    private static final float EXP_MIN = -87.33654f;
    private static final float EXP_MAX = 88.37626f;
    /** e^r = 1 + r + r²·(E0 + E1·r + … + E4·r⁴) on |r| ≤ ln2/2, relative error 3e-9. */
    private static final float E0 = 0.49999994f, E1 = 0.16666521f, E2 = 0.04166839f, E3 = 0.00836871f,
            E4 = 0.00138146f;

    /** Below this |x|, erf uses the odd series; above, 1 − e^q, which has no cancellation there. */
    private static final float ERF_SPLIT = 0.875f;
    /** erf(x) = 1 in float beyond 4 (erfc(4) = 1.5e-8 is below half an ulp of 1). */
    private static final float ERF_SATURATION = 4f;
    /** erf(x) = x + x·(S0 + S1·x² + … + S5·x¹⁰) on |x| ≤ 0.875, relative error 9e-9. */
    private static final float S0 = 0.12837915f, S1 = -0.3761255f, S2 = 0.11282455f, S3 = -0.02679146f,
            S4 = 0.0050321785f, S5 = -0.0006203238f;
    /** erf(t) = 1 − e^(t·(L0 + L1·t + … + L6·t⁶) − t) on 0.875 ≤ t ≤ 4, relative error of erf 1e-9. */
    private static final float L0 = -0.1286229f, L1 = -0.6352569f, L2 = -0.10605959f, L3 = 0.023607174f,
            L4 = -0.0035682507f, L5 = 0.00030432708f, L6 = -9.364197e-06f;

    private VectorMath() {
    }

    /**
     * e^x within 1 ulp over the normal range; −∞ and arguments whose result would be subnormal give 0, results
     * above 2¹²⁷·√2 give +∞.
     */
    static FloatVector exp(FloatVector x) {
        FloatVector clamped = x.max(EXP_MIN).min(EXP_MAX);
        FloatVector shifted = clamped.fma(LOG2_E, ROUND_TO_INT);
        FloatVector n = shifted.sub(ROUND_TO_INT);
        FloatVector r = n.fma(n.broadcast(-LN2_HI), clamped);
        r = n.fma(n.broadcast(-LN2_LO), r);
        FloatVector p = r.fma(E4, E3).mul(r).add(E2).mul(r).add(E1).mul(r).add(E0);
        FloatVector er = p.fma(r.mul(r), r).add(1f);
        // The integer n sits in the low bits of `shifted`; moved into the exponent field it scales by 2^n.
        FloatVector twoToN = shifted.reinterpretAsInts()
                .lanewise(VectorOperators.LSHL, 23)
                .add(127 << 23)
                .reinterpretAsFloats();
        return er.mul(twoToN)
                .blend(0f, x.lt(EXP_MIN))
                .blend(Float.POSITIVE_INFINITY, x.compare(VectorOperators.GT, EXP_MAX));
    }

    static float exp(float x) {
        return exp(FloatVector.broadcast(F32.SPECIES, x)).lane(0);
    }

    /** 1 / (1 + e^−x): exact 0 and 1 at the far ends, no cancellation anywhere. */
    static FloatVector sigmoid(FloatVector x) {
        FloatVector denominator = exp(x.neg()).add(1f);
        return denominator.broadcast(1f).div(denominator);
    }

    static float sigmoid(float x) {
        return sigmoid(FloatVector.broadcast(F32.SPECIES, x)).lane(0);
    }

    /** The error function within 1.1 ulp, absolute error below 7e-8. */
    static FloatVector erf(FloatVector x) {
        FloatVector s = x.mul(x);
        FloatVector series = s.fma(S5, S4).mul(s).add(S3).mul(s).add(S2).mul(s).add(S1).mul(s).add(S0).fma(x, x);

        FloatVector t = x.abs().min(ERF_SATURATION);
        FloatVector q = t.fma(L6, L5).mul(t).add(L4).mul(t).add(L3).mul(t).add(L2).mul(t).add(L1).mul(t).add(L0)
                .fma(t, t.neg());
        FloatVector tail = exp(q).neg().add(1f).lanewise(VectorOperators.NEG, x.lt(0f));
        return series.blend(tail, t.compare(VectorOperators.GT, ERF_SPLIT));
    }

    static float erf(float x) {
        return erf(FloatVector.broadcast(F32.SPECIES, x)).lane(0);
    }
}
