package dev.dpn.kernels.cuda;

import java.util.Locale;

/**
 * The PTX entry points of {@code src/main/cuda/dpn_kernels.cu} that {@link CudaBackend} launches, each with its
 * parameter list, one letter per parameter: {@code p} a device pointer, {@code l} a 64-bit integer, {@code i} a
 * 32-bit integer, {@code f} a float. Launches are checked against it ({@link LaunchArgs#matches}) and the test
 * suite checks it against the PTX, so a mismatched argument list fails here rather than corrupting GPU memory.
 */
enum Kernel {
    CONVERT_TO_F32("pipl"),
    F32_TO_NARROW("ppil"),
    DEQUANTIZE_F16("pipl"),
    EMBED("pippii"),
    RMS_NORM("ppfpi"),
    LAYER_NORM("pppfpi"),
    SOFTMAX_ROWS("pfi"),
    ACTIVATE("ippl"),
    SILU_GATE("pppl"),
    ADD("pppl"),
    SCALE("pfpl"),
    ADD_BIAS("ppil"),
    ROPE("ppiiiif"),
    ATTENTION("pppiiiiiifp"),
    POOL2D("ipiiiiip"),
    DEPTHWISE_CONV2D("piipiiip"),
    PATCH_EMBED("ppipiiiiip"),
    GEMV("ppippiii"),
    READ_SUM("plp");

    private final String parameters;

    Kernel(String parameters) {
        this.parameters = parameters;
    }

    /** The {@code extern "C"} name, which is the PTX {@code .entry} name. */
    String entry() {
        return name().toLowerCase(Locale.ROOT);
    }

    /** One letter per parameter: p(ointer), l(ong), i(nt), f(loat). */
    String parameters() {
        return parameters;
    }
}
