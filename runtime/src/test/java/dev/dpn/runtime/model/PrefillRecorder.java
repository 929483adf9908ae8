package dev.dpn.runtime.model;

import dev.dpn.kernels.Backend;
import dev.dpn.tensors.Tensor;
import java.util.HashMap;
import java.util.Map;

/**
 * Copies of what a prefill computed, taken while the views are valid: what the golden and parity tests compare.
 * Read through the backend, so that device tensors come back too.
 */
final class PrefillRecorder implements PrefillObserver {
    private final Backend backend;
    float[] visionFeatures;
    float[] visualTokens;
    final Map<Integer, float[]> hiddenAfter = new HashMap<>();

    PrefillRecorder(Backend backend) {
        this.backend = backend;
    }

    @Override
    public void visionFeatures(Tensor features) {
        visionFeatures = read(features);
    }

    @Override
    public void visualTokens(Tensor tokens) {
        visualTokens = read(tokens);
    }

    @Override
    public void afterLayer(int layer, Tensor hidden) {
        hiddenAfter.put(layer, read(hidden));
    }

    private float[] read(Tensor t) {
        float[] values = new float[Math.toIntExact(t.size())];
        backend.download(t, values);
        return values;
    }
}
