package dev.dpn.runtime.model;

import dev.dpn.tensors.Tensor;
import java.util.HashMap;
import java.util.Map;

/** Copies of what a prefill computed, taken while the views are valid: what the golden tests compare. */
final class PrefillRecorder implements PrefillObserver {
    float[] visionFeatures;
    float[] visualTokens;
    final Map<Integer, float[]> hiddenAfter = new HashMap<>();

    @Override
    public void visionFeatures(Tensor features) {
        visionFeatures = features.toFloatArray();
    }

    @Override
    public void visualTokens(Tensor tokens) {
        visualTokens = tokens.toFloatArray();
    }

    @Override
    public void afterLayer(int layer, Tensor hidden) {
        hiddenAfter.put(layer, hidden.toFloatArray());
    }
}
