package dev.dpn.runtime.model;

import dev.dpn.tensors.Tensor;

/** Sees a prefill's intermediate activations as they are computed (views, valid during the call only). */
interface PrefillObserver {
    PrefillObserver NONE = new PrefillObserver() {
    };

    /** The vision tower's selected hidden state [N, D_vision]. */
    default void visionFeatures(Tensor features) {
    }

    /** The projector's output [N', D], spliced into the sequence (N' after prepooling). */
    default void visualTokens(Tensor tokens) {
    }

    /** The sequence after decoder layer {@code layer} and the pooling that follows it (location post). */
    default void afterLayer(int layer, Tensor hidden) {
    }
}
