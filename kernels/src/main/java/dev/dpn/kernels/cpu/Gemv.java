package dev.dpn.kernels.cpu;

import static dev.dpn.kernels.cpu.MatMulWeights.F;

import dev.dpn.tensors.DType;
import java.lang.foreign.MemorySegment;
import java.nio.ByteOrder;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;

/**
 * Matrix-vector product for a few rows of x (token generation): memory-bound, so each weight row is streamed from
 * memory once, dotted with every row of x while it sits in L1, and the rows of w are split across the team.
 */
final class Gemv {
    /** Weight rows per chunk handed to a thread: amortises the hand-out, leaves enough chunks to balance. */
    private static final int ROWS_PER_CHUNK = 16;

    private Gemv() {
    }

    static void gemv(Parallel parallel, MemorySegment x, MemorySegment w, DType type, MemorySegment bias,
                     MemorySegment y, int m, int n, int k) {
        parallel.run((n + ROWS_PER_CHUNK - 1) / ROWS_PER_CHUNK, chunk -> {
            int end = Math.min(n, (chunk + 1) * ROWS_PER_CHUNK);
            for (int j = chunk * ROWS_PER_CHUNK; j < end; j++) {
                float b = bias == null ? 0 : bias.get(DType.FLOAT, 4L * j);
                for (int i = 0; i < m; i++) {
                    float dot = dot(type, w, (long) j * k, x, (long) i * k, k);
                    y.set(DType.FLOAT, 4 * ((long) i * n + j), dot + b);
                }
            }
        });
    }

    /** Two accumulators hide FMA latency; the loop is kept small so the JIT inlines every vector operation. */
    private static float dot(DType type, MemorySegment w, long wIndex, MemorySegment x, long xIndex, int k) {
        FloatVector sum0 = FloatVector.zero(F);
        FloatVector sum1 = FloatVector.zero(F);
        int lanes = F.length();
        int p = 0;
        for (; p <= k - 2 * lanes; p += 2 * lanes) {
            FloatVector x0 = FloatVector.fromMemorySegment(F, x, 4 * (xIndex + p), ByteOrder.LITTLE_ENDIAN);
            FloatVector x1 = FloatVector.fromMemorySegment(F, x, 4 * (xIndex + p + lanes), ByteOrder.LITTLE_ENDIAN);
            sum0 = MatMulWeights.load(type, w, wIndex + p).fma(x0, sum0);
            sum1 = MatMulWeights.load(type, w, wIndex + p + lanes).fma(x1, sum1);
        }
        float sum = sum0.add(sum1).reduceLanes(VectorOperators.ADD);
        for (; p < k; p++) {
            sum += x.get(DType.FLOAT, 4 * (xIndex + p)) * type.getFloat(w, wIndex + p);
        }
        return sum;
    }
}
