package dev.dpn.kernels.cpu;

import static java.nio.ByteOrder.LITTLE_ENDIAN;

import dev.dpn.kernels.Activation;
import dev.dpn.tensors.Tensor;
import java.lang.foreign.MemorySegment;
import jdk.incubator.vector.FloatVector;

/**
 * The element-wise activations and the SwiGLU gate: one small loop per formula, so that each compiled loop holds
 * a single inlined copy of its vector math.
 */
final class Activations {
    private static final float SQRT_HALF = (float) Math.sqrt(0.5);
    /** GELU's tanh form: 0.5·(1 + tanh(u)) = sigmoid(2u), with 2u = x·(TANH_LINEAR + TANH_CUBIC·x²). */
    private static final float TANH_LINEAR = (float) (2 * Math.sqrt(2 / Math.PI));
    private static final float TANH_CUBIC = (float) (2 * Math.sqrt(2 / Math.PI) * 0.044715);
    private static final float QUICK_GELU_SLOPE = 1.702f;

    private Activations() {
    }

    static void activate(Parallel parallel, Activation f, Tensor x, Tensor out) {
        MemorySegment xs = x.data(), os = out.data();
        RowChunks.run(parallel, x.size(), 1, (from, to) -> {
            switch (f) {
                case GELU -> gelu(xs, os, from, to);
                case GELU_TANH -> geluTanh(xs, os, from, to);
                case QUICK_GELU -> timesSigmoid(xs, os, from, to, QUICK_GELU_SLOPE);
                case SILU -> timesSigmoid(xs, os, from, to, 1f);
            }
        });
    }

    /** out = silu(gate) · up. */
    static void siluGate(Parallel parallel, Tensor gate, Tensor up, Tensor out) {
        MemorySegment gs = gate.data(), us = up.data(), os = out.data();
        RowChunks.run(parallel, gate.size(), 1, (from, to) -> {
            long i = from;
            for (long bound = from + F32.SPECIES.loopBound(to - from); i < bound; i += F32.LANES) {
                FloatVector g = FloatVector.fromMemorySegment(F32.SPECIES, gs, i * Float.BYTES, LITTLE_ENDIAN);
                FloatVector u = FloatVector.fromMemorySegment(F32.SPECIES, us, i * Float.BYTES, LITTLE_ENDIAN);
                g.mul(VectorMath.sigmoid(g)).mul(u).intoMemorySegment(os, i * Float.BYTES, LITTLE_ENDIAN);
            }
            for (; i < to; i++) {
                float g = F32.get(gs, i);
                F32.set(os, i, g * VectorMath.sigmoid(g) * F32.get(us, i));
            }
        });
    }

    /** x · Φ(x) = x/2 · (1 + erf(x/√2)). */
    private static void gelu(MemorySegment x, MemorySegment out, long from, long to) {
        long i = from;
        for (long bound = from + F32.SPECIES.loopBound(to - from); i < bound; i += F32.LANES) {
            FloatVector v = FloatVector.fromMemorySegment(F32.SPECIES, x, i * Float.BYTES, LITTLE_ENDIAN);
            FloatVector y = v.mul(0.5f).mul(VectorMath.erf(v.mul(SQRT_HALF)).add(1f));
            y.intoMemorySegment(out, i * Float.BYTES, LITTLE_ENDIAN);
        }
        for (; i < to; i++) {
            float v = F32.get(x, i);
            F32.set(out, i, v * 0.5f * (VectorMath.erf(v * SQRT_HALF) + 1f));
        }
    }

    private static void geluTanh(MemorySegment x, MemorySegment out, long from, long to) {
        long i = from;
        for (long bound = from + F32.SPECIES.loopBound(to - from); i < bound; i += F32.LANES) {
            FloatVector v = FloatVector.fromMemorySegment(F32.SPECIES, x, i * Float.BYTES, LITTLE_ENDIAN);
            FloatVector y = v.mul(VectorMath.sigmoid(v.mul(v).fma(TANH_CUBIC, TANH_LINEAR).mul(v)));
            y.intoMemorySegment(out, i * Float.BYTES, LITTLE_ENDIAN);
        }
        for (; i < to; i++) {
            float v = F32.get(x, i);
            F32.set(out, i, v * VectorMath.sigmoid(Math.fma(v * v, TANH_CUBIC, TANH_LINEAR) * v));
        }
    }

    /** x · sigmoid(slope · x): SiLU with slope 1, quick GELU with 1.702. */
    private static void timesSigmoid(MemorySegment x, MemorySegment out, long from, long to, float slope) {
        long i = from;
        for (long bound = from + F32.SPECIES.loopBound(to - from); i < bound; i += F32.LANES) {
            FloatVector v = FloatVector.fromMemorySegment(F32.SPECIES, x, i * Float.BYTES, LITTLE_ENDIAN);
            v.mul(VectorMath.sigmoid(v.mul(slope))).intoMemorySegment(out, i * Float.BYTES, LITTLE_ENDIAN);
        }
        for (; i < to; i++) {
            float v = F32.get(x, i);
            F32.set(out, i, v * VectorMath.sigmoid(v * slope));
        }
    }
}
