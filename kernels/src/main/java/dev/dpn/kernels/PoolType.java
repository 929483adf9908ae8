package dev.dpn.kernels;

/** Reduction of a 2D pooling window (DPN's {@code pooling_function}, except conv, which is a weighted sum). */
public enum PoolType {
    MAX,
    AVG
}
