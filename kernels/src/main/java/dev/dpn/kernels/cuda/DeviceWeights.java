package dev.dpn.kernels.cuda;

import dev.dpn.tensors.DType;
import dev.dpn.tensors.Tensor;
import java.util.HashMap;
import java.util.Map;

/**
 * Weights copied to the device once and kept there: host tensors that operations read as weights (matmul and
 * patch-embedding matrices, embedding tables) are uploaded on first use and found again by the host memory they
 * came from, so views and repeated calls share one device copy. A backend serves the weights of one model, whose
 * mapping stays put while the backend lives.
 */
final class DeviceWeights {
    private record Key(long hostAddress, long bytes, DType dtype) {
    }

    private final CudaDriver driver;
    private final Map<Key, Long> uploaded = new HashMap<>();
    private long bytes;

    DeviceWeights(CudaDriver driver) {
        this.driver = driver;
    }

    /** The device address of {@code weight}: itself if already on the device, else its cached upload. */
    long address(Tensor weight) {
        if (!weight.isHost()) {
            return weight.deviceMemory().address();
        }
        Key key = new Key(weight.data().address(), weight.byteSize(), weight.dtype());
        Long address = uploaded.get(key);
        if (address == null) {
            address = driver.memAlloc(Math.max(1, weight.byteSize()));
            driver.copyHostToDevice(address, weight.data(), weight.byteSize());
            uploaded.put(key, address);
            bytes += weight.byteSize();
        }
        return address;
    }

    /** Bytes of weights held on the device. */
    long bytes() {
        return bytes;
    }

    void release() {
        uploaded.values().forEach(driver::memFree);
        uploaded.clear();
        bytes = 0;
    }
}
