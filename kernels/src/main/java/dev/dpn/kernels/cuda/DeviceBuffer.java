package dev.dpn.kernels.cuda;

import java.lang.foreign.MemorySegment;

/**
 * A device scratch buffer that grows to the largest size asked for: narrowed GEMM inputs, uploaded images, token
 * ids. One stream orders every use, so a later operation may overwrite what an earlier one read; growing waits
 * for the stream first, since queued kernels may still read the old buffer.
 */
final class DeviceBuffer {
    private final CudaDriver driver;
    private final MemorySegment stream;
    private long address;
    private long capacity;

    DeviceBuffer(CudaDriver driver, MemorySegment stream) {
        this.driver = driver;
        this.stream = stream;
    }

    /** The buffer's address, with room for at least {@code bytes}. */
    long reserve(long bytes) {
        if (bytes > capacity) {
            release();
            address = driver.memAlloc(Math.max(bytes, 256));
            capacity = Math.max(bytes, 256);
        }
        return address;
    }

    void release() {
        if (capacity > 0) {
            driver.streamSynchronize(stream);
            driver.memFree(address);
            capacity = 0;
        }
    }
}
