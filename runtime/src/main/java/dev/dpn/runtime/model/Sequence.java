package dev.dpn.runtime.model;

import dev.dpn.kernels.Backend;
import dev.dpn.tensors.Tensor;

/**
 * The hidden states of a prefill: [text before the image][visual span: a grid, row-major][text after]. A DPE layer
 * replaces the span by its pooled grid, so the sequence gets shorter; the rows are written into a second buffer
 * and the two swap, so that nothing is copied onto itself.
 */
final class Sequence {
    private Tensor rows;
    private Tensor spare;
    private int length;
    /** Where the visual span starts: the index of the image placeholder among the prompt ids. */
    private final int spanStart;
    private Grid grid;

    /** A sequence of {@code length} rows held in {@code rows}, with a second buffer of the same size to swap with. */
    Sequence(Tensor rows, Tensor spare, int length, int spanStart, Grid grid) {
        this.rows = rows;
        this.spare = spare;
        this.length = length;
        this.spanStart = spanStart;
        this.grid = grid;
    }

    int length() {
        return length;
    }

    Grid grid() {
        return grid;
    }

    /** The current hidden states [length, D]. */
    Tensor hidden() {
        return rows.rows(0, length);
    }

    /** The visual tokens [grid tokens, D]. */
    Tensor span() {
        return rows.rows(spanStart, spanStart + grid.tokens());
    }

    /** The row holding prompt token {@code index} (an index into the prompt ids, not the placeholder's). */
    int rowOf(int index) {
        return grid == Grid.NONE || index < spanStart ? index : index - 1 + grid.tokens();
    }

    /** Replaces the visual span by {@code pooled}, laid out as {@code pooledGrid}; the text after moves up. */
    void replaceSpan(Backend backend, Tensor pooled, Grid pooledGrid) {
        int end = spanStart + grid.tokens();
        int pooledEnd = spanStart + pooledGrid.tokens();
        int newLength = pooledEnd + length - end;
        backend.copy(rows.rows(0, spanStart), spare.rows(0, spanStart));
        backend.copy(pooled, spare.rows(spanStart, pooledEnd));
        backend.copy(rows.rows(end, length), spare.rows(pooledEnd, newLength));
        Tensor old = rows;
        rows = spare;
        spare = old;
        length = newLength;
        grid = pooledGrid;
    }
}
