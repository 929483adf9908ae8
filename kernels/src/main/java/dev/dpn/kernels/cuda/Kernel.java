package dev.dpn.kernels.cuda;

import java.util.Locale;

/** The PTX entry points of {@code src/main/cuda/dpn_kernels.cu} that {@link CudaBackend} launches. */
enum Kernel {
    CONVERT_TO_F32,
    F32_TO_NARROW,
    EMBED,
    RMS_NORM,
    LAYER_NORM,
    SOFTMAX_ROWS,
    ACTIVATE,
    SILU_GATE,
    ADD,
    SCALE,
    ADD_BIAS,
    ROPE,
    ATTENTION,
    POOL2D,
    DEPTHWISE_CONV2D,
    PATCH_EMBED,
    GEMV;

    /** The {@code extern "C"} name, which is the PTX {@code .entry} name. */
    String entry() {
        return name().toLowerCase(Locale.ROOT);
    }
}
