package dev.dpn.runtime.model;

import dev.dpn.kernels.Activation;
import dev.dpn.kernels.Backend;
import dev.dpn.loader.config.LlavaConfig;
import dev.dpn.tensors.Tensor;

/** LLaVA's mlp2x_gelu projector from CLIP's width to the decoder's: {@code linear_2(act(linear_1(x)))}. */
record Projector(Linear linear1, Linear linear2, Activation activation) {

    static Projector load(CheckpointWeights weights, LlavaConfig c, Activation activation) {
        int vision = c.visionConfig().hiddenSize(), text = c.textConfig().hiddenSize();
        return new Projector(Linear.load(weights, "multi_modal_projector.linear_1", vision, text, true),
                Linear.load(weights, "multi_modal_projector.linear_2", text, text, true),
                activation);
    }

    /**
     * @param features [N, D_vision]
     * @param hidden   [N, D] scratch
     * @param out      [N, D], the visual tokens
     */
    void forward(Backend backend, Tensor features, Tensor hidden, Tensor out) {
        linear1.apply(backend, features, hidden);
        backend.activate(activation, hidden, hidden);
        linear2.apply(backend, hidden, out);
    }
}
