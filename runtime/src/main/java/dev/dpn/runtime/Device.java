package dev.dpn.runtime;

import dev.dpn.kernels.Backend;
import dev.dpn.kernels.cpu.CpuBackend;
import dev.dpn.kernels.cuda.CudaBackend;
import dev.dpn.kernels.cuda.CudaUnavailableException;
import java.util.Locale;

/** Where a model runs: {@code cpu}, {@code cuda} (the first GPU), or {@code auto} (the GPU if usable, else the CPU). */
public enum Device {
    CPU,
    CUDA,
    AUTO;

    /**
     * Opens the backend.
     *
     * @param threads CPU threads, for the CPU backend
     * @throws CudaUnavailableException for {@code cuda} on a machine without a driver, a GPU or cuBLAS
     */
    Backend open(int threads) {
        return switch (this) {
            case CPU -> new CpuBackend(threads);
            case CUDA -> CudaBackend.open();
            case AUTO -> {
                try {
                    yield CudaBackend.open();
                } catch (CudaUnavailableException e) {
                    yield new CpuBackend(threads);
                }
            }
        };
    }

    /** The device named {@code name}: cpu, cuda or auto, in any case. */
    public static Device named(String name) {
        try {
            return valueOf(name.toUpperCase(Locale.ROOT));
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("unknown device '" + name + "' (cpu, cuda or auto)");
        }
    }
}
