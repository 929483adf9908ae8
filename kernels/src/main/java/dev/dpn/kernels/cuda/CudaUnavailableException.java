package dev.dpn.kernels.cuda;

/**
 * This machine cannot run CUDA: no driver library ({@code libcuda.so.1}), no device, or no cuBLAS. The message is
 * one line meant for the user; {@code --device auto} catches exactly this to fall back to the CPU.
 */
public final class CudaUnavailableException extends CudaException {
    CudaUnavailableException(String message) {
        super(message);
    }

    CudaUnavailableException(String message, Throwable cause) {
        super(message, cause);
    }
}
