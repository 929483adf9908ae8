package dev.dpn.kernels.cpu;

import static java.nio.ByteOrder.LITTLE_ENDIAN;

import dev.dpn.tensors.Tensor;
import java.lang.foreign.MemorySegment;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;

/**
 * RMSNorm and LayerNorm, one row at a time. Row sums add each vector's lanes in float and the vector sums in
 * double, so no running float sum grows large enough to swallow its terms, at the price of one lane reduction
 * per vector (norms are a small part of a layer's work).
 */
final class Norms {
    private Norms() {
    }

    static void rmsNorm(Parallel parallel, Tensor x, Tensor weight, float eps, Tensor out) {
        MemorySegment xs = x.data(), ws = weight.data(), os = out.data();
        int d = x.intDim(-1);
        RowChunks.run(parallel, x.rowCount(), d, (from, to) -> {
            for (long row = from; row < to; row++) {
                long base = row * d;
                float inv = (float) (1 / Math.sqrt(squaredDeviations(xs, base, d, 0f) / d + eps));
                normalize(xs, base, d, 0f, 0f, inv, ws, null, os);
            }
        });
    }

    static void layerNorm(Parallel parallel, Tensor x, Tensor weight, Tensor bias, float eps, Tensor out) {
        MemorySegment xs = x.data(), ws = weight.data(), bs = bias.data(), os = out.data();
        int d = x.intDim(-1);
        RowChunks.run(parallel, x.rowCount(), d, (from, to) -> {
            for (long row = from; row < to; row++) {
                long base = row * d;
                // Summing x − x[0] keeps the terms at the size of the row's spread, however large its offset;
                // the mean is then held in two floats so that x − mean loses nothing either.
                float first = F32.get(xs, base);
                double mean = first + deviations(xs, base, d, first) / d;
                float meanHigh = (float) mean, meanLow = (float) (mean - meanHigh);
                // Two passes, like the reference: deviations from the mean do not cancel as E[x²] − mean² can.
                float inv = (float) (1 / Math.sqrt(squaredDeviations(xs, base, d, meanHigh) / d + eps));
                normalize(xs, base, d, meanHigh, meanLow, inv, ws, bs, os);
            }
        });
    }

    /** out = (x − meanHigh − meanLow) · inv · weight (+ bias) over one row; out may be x. */
    private static void normalize(MemorySegment x, long base, int d, float meanHigh, float meanLow, float inv,
                                  MemorySegment weight, MemorySegment bias, MemorySegment out) {
        int i = 0;
        for (int bound = F32.SPECIES.loopBound(d); i < bound; i += F32.LANES) {
            long offset = (base + i) * Float.BYTES;
            FloatVector v = FloatVector.fromMemorySegment(F32.SPECIES, x, offset, LITTLE_ENDIAN);
            FloatVector w = FloatVector.fromMemorySegment(F32.SPECIES, weight, (long) i * Float.BYTES, LITTLE_ENDIAN);
            FloatVector y = v.sub(meanHigh).sub(meanLow).mul(inv).mul(w);
            if (bias != null) {
                y = y.add(FloatVector.fromMemorySegment(F32.SPECIES, bias, (long) i * Float.BYTES, LITTLE_ENDIAN));
            }
            y.intoMemorySegment(out, offset, LITTLE_ENDIAN);
        }
        for (; i < d; i++) {
            float y = (F32.get(x, base + i) - meanHigh - meanLow) * inv * F32.get(weight, i);
            F32.set(out, base + i, bias == null ? y : y + F32.get(bias, i));
        }
    }

    /** Σ (x − center) over one row. */
    private static double deviations(MemorySegment x, long base, int d, float center) {
        double sum = 0;
        int i = 0;
        for (int bound = F32.SPECIES.loopBound(d); i < bound; i += F32.LANES) {
            FloatVector v = FloatVector.fromMemorySegment(F32.SPECIES, x, (base + i) * Float.BYTES, LITTLE_ENDIAN);
            sum += v.sub(center).reduceLanes(VectorOperators.ADD);
        }
        for (; i < d; i++) {
            sum += F32.get(x, base + i) - center;
        }
        return sum;
    }

    /** Σ (x − center)² over one row. */
    private static double squaredDeviations(MemorySegment x, long base, int d, float center) {
        double sum = 0;
        int i = 0;
        for (int bound = F32.SPECIES.loopBound(d); i < bound; i += F32.LANES) {
            FloatVector v = FloatVector.fromMemorySegment(F32.SPECIES, x, (base + i) * Float.BYTES, LITTLE_ENDIAN);
            FloatVector deviation = v.sub(center);
            sum += deviation.mul(deviation).reduceLanes(VectorOperators.ADD);
        }
        for (; i < d; i++) {
            double deviation = F32.get(x, base + i) - center;
            sum += deviation * deviation;
        }
        return sum;
    }
}
