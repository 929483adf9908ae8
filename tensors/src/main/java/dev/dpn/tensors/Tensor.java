package dev.dpn.tensors;

import java.lang.foreign.MemorySegment;
import java.util.Arrays;
import java.util.Objects;

/**
 * A dense row-major tensor: host memory (a {@link MemorySegment}) or device memory, a {@link DType} and a shape.
 *
 * <p>A tensor does not own its memory: the {@link java.lang.foreign.Arena} (or mapped file, or device allocation)
 * behind it does, and closing that releases it. Views ({@link #reshape}, {@link #rows}, {@link #row}) share the
 * memory, so writes through a view are seen by the original.
 *
 * <p>A device tensor ({@link #onDevice}) has no segment at all, only an address in the accelerator's memory: every
 * host read or write ({@link #data}, {@link #getFloat}, ...) throws instead of touching an address the CPU cannot
 * dereference, so a device tensor handed to host code fails with a message, never with a JVM crash.
 */
public final class Tensor {
    /** Host memory; null for a device tensor. */
    private final MemorySegment data;
    /** Device memory; null for a host tensor. */
    private final DeviceMemory device;
    private final DType dtype;
    private final long[] shape;
    private final long size;

    /** Where a device tensor's bytes start in the memory of {@code device} ("cuda:0"). */
    public record DeviceMemory(String device, long address) {
        DeviceMemory plus(long bytes) {
            return new DeviceMemory(device, address + bytes);
        }
    }

    private Tensor(MemorySegment data, DeviceMemory device, DType dtype, long[] shape) {
        this.dtype = dtype;
        this.shape = shape;
        this.size = elementCount(shape);
        long bytes = dtype.byteSize(size);
        if (data != null && data.byteSize() != bytes) {
            throw new IllegalArgumentException("segment of " + data.byteSize() + " bytes does not hold a " + dtype
                    + " tensor of shape " + Arrays.toString(shape) + " (" + bytes + " bytes)");
        }
        this.data = data;
        this.device = device;
    }

    /** A tensor over exactly the bytes of {@code data}, which must match the dtype and shape. */
    public static Tensor of(MemorySegment data, DType dtype, long... shape) {
        return new Tensor(Objects.requireNonNull(data), null, dtype, shape.clone());
    }

    /** A tensor in device memory, starting at {@code memory}; only a backend of that device reads or writes it. */
    public static Tensor onDevice(DeviceMemory memory, DType dtype, long... shape) {
        return new Tensor(null, Objects.requireNonNull(memory), dtype, shape.clone());
    }

    /** Product of dimensions; rejects negative dimensions and overflow. */
    public static long elementCount(long... shape) {
        long n = 1;
        for (long d : shape) {
            if (d < 0) {
                throw new IllegalArgumentException("negative dimension in shape " + Arrays.toString(shape));
            }
            n = Math.multiplyExact(n, d);
        }
        return n;
    }

    /**
     * The host memory.
     *
     * @throws IllegalStateException for a device tensor, which the host cannot read
     */
    public MemorySegment data() {
        if (data == null) {
            throw new IllegalStateException(this + " lives in " + device.device()
                    + " memory; the host reads it only through Backend.download");
        }
        return data;
    }

    /** Whether the bytes are in host memory ({@link #data} works). */
    public boolean isHost() {
        return data != null;
    }

    /**
     * The device memory.
     *
     * @throws IllegalStateException for a host tensor
     */
    public DeviceMemory deviceMemory() {
        if (device == null) {
            throw new IllegalStateException(this + " lives in host memory");
        }
        return device;
    }

    public DType dtype() {
        return dtype;
    }

    /** A copy of the shape. */
    public long[] shape() {
        return shape.clone();
    }

    public int rank() {
        return shape.length;
    }

    /** Dimension {@code i}; negative {@code i} counts from the end, as in torch. */
    public long dim(int i) {
        return shape[i < 0 ? shape.length + i : i];
    }

    /** Dimension {@code i} as an int, for kernels that index with ints. */
    public int intDim(int i) {
        return Math.toIntExact(dim(i));
    }

    public long size() {
        return size;
    }

    public long byteSize() {
        return dtype.byteSize(size);
    }

    /** Number of rows when viewed as a matrix of the last dimension: all leading dimensions multiplied. */
    public long rowCount() {
        return shape.length == 0 ? 1 : size / Math.max(1, shape[shape.length - 1]);
    }

    /** The same memory under another shape with the same element count. */
    public Tensor reshape(long... newShape) {
        if (elementCount(newShape) != size) {
            throw new IllegalArgumentException(
                    "cannot reshape " + Arrays.toString(shape) + " to " + Arrays.toString(newShape));
        }
        return new Tensor(data, device, dtype, newShape.clone());
    }

    /** Rows {@code [from, to)} along the first dimension, sharing memory. */
    public Tensor rows(long from, long to) {
        if (shape.length == 0 || from < 0 || to < from || to > shape[0]) {
            throw new IndexOutOfBoundsException(
                    "rows [" + from + ", " + to + ") of shape " + Arrays.toString(shape));
        }
        long rowElements = shape[0] == 0 ? 0 : size / shape[0];
        long rowBytes = dtype.byteSize(rowElements);
        long[] s = shape.clone();
        s[0] = to - from;
        return data != null
                ? new Tensor(data.asSlice(from * rowBytes, (to - from) * rowBytes), null, dtype, s)
                : new Tensor(null, device.plus(from * rowBytes), dtype, s);
    }

    /** Row {@code i} along the first dimension, with that dimension dropped. */
    public Tensor row(long i) {
        Tensor r = rows(i, i + 1);
        return r.reshape(Arrays.copyOfRange(shape, 1, shape.length));
    }

    /** Element {@code index} of the flattened tensor as a float (slow path: tests, loaders, references). */
    public float getFloat(long index) {
        return dtype.getFloat(data(), checkIndex(index));
    }

    /** Writes element {@code index} of the flattened tensor (slow path). */
    public void setFloat(long index, float value) {
        dtype.setFloat(data(), checkIndex(index), value);
    }

    /** Copies all elements, converted to float, into a new heap array: for tests and small tensors only. */
    public float[] toFloatArray() {
        MemorySegment host = data();
        float[] out = new float[Math.toIntExact(size)];
        for (int i = 0; i < out.length; i++) {
            out[i] = dtype.getFloat(host, i);
        }
        return out;
    }

    /** Copies {@code values} into this tensor, converting to its dtype. */
    public Tensor copyFrom(float[] values) {
        if (values.length != size) {
            throw new IllegalArgumentException(values.length + " values for a tensor of " + size + " elements");
        }
        MemorySegment host = data();
        for (int i = 0; i < values.length; i++) {
            dtype.setFloat(host, i, values[i]);
        }
        return this;
    }

    private long checkIndex(long index) {
        if (dtype.blockSize() != 1) {
            throw new UnsupportedOperationException("element access into block-quantized " + dtype);
        }
        return Objects.checkIndex(index, size);
    }

    @Override
    public String toString() {
        return "Tensor[" + dtype + " " + Arrays.toString(shape) + (device == null ? "" : " on " + device.device()) + "]";
    }
}
