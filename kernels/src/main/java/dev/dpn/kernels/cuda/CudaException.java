package dev.dpn.kernels.cuda;

/** A CUDA driver or cuBLAS call failed; the message names the call and the library's error name and text. */
public class CudaException extends RuntimeException {
    CudaException(String message) {
        super(message);
    }

    CudaException(String message, Throwable cause) {
        super(message, cause);
    }
}
