package dev.dpn.measure;

import dev.dpn.tensors.DType;
import dev.dpn.tensors.Tensor;
import dev.dpn.tensors.TensorArena;
import java.util.SplittableRandom;

/**
 * One small product {@code y = x·wᵀ} computed by a trusted engine, against which another engine is checked
 * before it is timed: a fast wrong result must not show up as a good figure.
 *
 * <p>The sizes are odd so that edge handling is exercised, not only full blocks; M is the caller's, since
 * engines may treat a single row (a matrix-vector product) differently. The weights are exactly
 * representable in F16, so F32 and F16 weights hold the same values and share the expected result.
 */
public final class ProductCheck implements AutoCloseable {
    private static final int N = 19;
    private static final int K = 37;
    /**
     * Products lie in [-1, 1), so each engine's float dot product of K terms is off from the exact one by at
     * most about K·2⁻²⁴·K ≈ 8e-5; two engines may err in opposite directions.
     */
    private static final float TOLERANCE = 2e-4f;

    /** An engine computing {@code y = x·wᵀ} for F32 x [M,K], w [N,K] and F32 y [M,N]. */
    public interface Engine {
        void matmul(Tensor x, Tensor w, Tensor y);
    }

    /** An engine's product is off by more than rounding allows. */
    public static final class WrongResult extends IllegalStateException {
        WrongResult(String message) {
            super(message);
        }
    }

    private final TensorArena arena = new TensorArena();
    private final int m;
    private final Tensor x;
    private final float[] weights;
    private final Tensor expected;

    /** Computes the expected product of {@code m} rows with {@code reference}. */
    public ProductCheck(int m, Engine reference) {
        this.m = m;
        x = RandomTensor.allocate(arena, DType.F32, 11, m, K);
        weights = new float[N * K];
        SplittableRandom random = new SplittableRandom(12);
        for (int i = 0; i < weights.length; i++) {
            weights[i] = Float.float16ToFloat(Float.floatToFloat16((float) random.nextDouble(-1, 1)));
        }
        expected = arena.allocate(DType.F32, m, N);
        reference.matmul(x, weightsAs(DType.F32), expected);
    }

    /**
     * Runs {@code engine} with weights stored as {@code weightType} and throws {@link WrongResult} if it
     * disagrees with the reference; whatever the engine itself throws propagates.
     */
    public void require(String engineName, Engine engine, DType weightType) {
        Tensor y = arena.allocate(DType.F32, m, N);
        engine.matmul(x, weightsAs(weightType), y);
        float error = 0;
        for (long i = 0; i < y.size(); i++) {
            error = Math.max(error, Math.abs(y.getFloat(i) - expected.getFloat(i)));
        }
        if (!(error <= TOLERANCE)) {
            throw new WrongResult(engineName + " with " + weightType + " weights is wrong on a " + m + "x" + N + "x"
                    + K + " product: max |difference| " + error + " from the reference exceeds " + TOLERANCE);
        }
    }

    private Tensor weightsAs(DType dtype) {
        Tensor w = arena.allocate(dtype, N, K);
        return w.copyFrom(weights);
    }

    @Override
    public void close() {
        arena.close();
    }
}
