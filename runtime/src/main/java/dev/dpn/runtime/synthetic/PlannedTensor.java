package dev.dpn.runtime.synthetic;

import dev.dpn.loader.TensorInfo;

/** One tensor of a random checkpoint: its name, dtype and shape as the file declares them, and how it is drawn. */
record PlannedTensor(TensorInfo info, WeightInit init) {

    String name() {
        return info.name();
    }
}
