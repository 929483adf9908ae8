package dev.dpn.loader;

import dev.dpn.tensors.DType;
import dev.dpn.tensors.Tensor;
import java.util.Arrays;
import java.util.Objects;

/**
 * One tensor as a safetensors header describes it: name, element type and shape. Readers report it without
 * touching the data; writers take it as the declaration of what is to come.
 *
 * @throws IllegalArgumentException if a dimension is negative or the shape is not whole blocks of the dtype
 * @throws ArithmeticException if the byte size overflows a long
 */
public record TensorInfo(String name, DType dtype, long... shape) {

    public TensorInfo {
        Objects.requireNonNull(name, "name");
        Objects.requireNonNull(dtype, "dtype");
        shape = shape.clone();
        dtype.byteSize(Tensor.elementCount(shape));
    }

    /** A copy of the shape. */
    @Override
    public long[] shape() {
        return shape.clone();
    }

    public long elementCount() {
        return Tensor.elementCount(shape);
    }

    public long byteSize() {
        return dtype.byteSize(elementCount());
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof TensorInfo t && name.equals(t.name) && dtype == t.dtype && Arrays.equals(shape, t.shape);
    }

    @Override
    public int hashCode() {
        return Objects.hash(name, dtype, Arrays.hashCode(shape));
    }

    @Override
    public String toString() {
        return name + " " + dtype + " " + Arrays.toString(shape);
    }
}
