package dev.dpn.runtime.text;

import dev.dpn.loader.tokenizer.MergeOrder;
import dev.dpn.loader.tokenizer.PieceType;
import dev.dpn.loader.tokenizer.TokenizerSpec;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * The merges BPE may make: a hash table from a pair of adjacent piece ids to the merge's rank (lower merges first;
 * equal ranks go leftmost first) and the piece it makes. Open addressing with linear probing in one array of longs,
 * as encoding looks up every pair it forms.
 */
final class MergeTable {
    static final int ABSENT = -1;
    private static final long EMPTY = -1;
    private static final long HASH_MULTIPLIER = 0x9E3779B97F4A7C15L;

    /**
     * Slot i holds its key at [2i] and its merge at [2i + 1], rank in the high half and merged piece in the low:
     * a lookup touches one cache line.
     */
    private long[] slots;
    private int size;

    private MergeTable() {
        allocate(1 << 16);
    }

    /** The merges of {@code spec}, from its merge list or its piece scores. */
    static MergeTable of(TokenizerSpec spec) {
        MergeTable table = new MergeTable();
        switch (spec.mergeOrder()) {
            case MergeOrder.Ranked ranked -> {
                // Hugging Face keeps the last rank of a pair listed twice; so does put().
                for (int rank = 0; rank < ranked.left().length; rank++) {
                    table.put(ranked.left()[rank], ranked.right()[rank], rank, ranked.merged()[rank]);
                }
            }
            case MergeOrder.Scored scored -> table.putScored(spec.pieces(), spec.types(), scored.scores());
        }
        return table;
    }

    /** Where the merge of {@code left} then {@code right} is, for {@link #rank} and {@link #merged}; or ABSENT. */
    int find(int left, int right) {
        long key = key(left, right);
        for (int slot = slot(key); ; slot = next(slot)) {
            if (slots[2 * slot] == key) {
                return slot;
            }
            if (slots[2 * slot] == EMPTY) {
                return ABSENT;
            }
        }
    }

    int rank(int slot) {
        return (int) (slots[2 * slot + 1] >>> 32);
    }

    int merged(int slot) {
        return (int) slots[2 * slot + 1];
    }

    /**
     * SentencePiece's BPE merges any two adjacent pieces whose concatenation is a normal piece, the one making the
     * highest score first. So every split of a normal piece into two normal pieces is a merge, ranked by how many
     * distinct scores lie above the piece's: equal scores get equal ranks, and the leftmost pair goes first.
     */
    private void putScored(List<String> pieces, List<PieceType> types, float[] scores) {
        Map<String, Integer> normalIds = new HashMap<>();
        for (int id = 0; id < pieces.size(); id++) {
            if (types.get(id) == PieceType.NORMAL) {
                normalIds.put(pieces.get(id), id);
            }
        }
        float[] ascending = distinctScores(normalIds, scores);
        for (Map.Entry<String, Integer> entry : normalIds.entrySet()) {
            String piece = entry.getKey();
            int rank = ascending.length - 1 - Arrays.binarySearch(ascending, scores[entry.getValue()]);
            for (int split = piece.offsetByCodePoints(0, 1); split < piece.length();
                    split = piece.offsetByCodePoints(split, 1)) {
                Integer left = normalIds.get(piece.substring(0, split));
                Integer right = normalIds.get(piece.substring(split));
                if (left != null && right != null) {
                    put(left, right, rank, entry.getValue());
                }
            }
        }
    }

    private static float[] distinctScores(Map<String, Integer> normalIds, float[] scores) {
        float[] all = new float[normalIds.size()];
        int i = 0;
        for (int id : normalIds.values()) {
            all[i++] = scores[id];
        }
        Arrays.sort(all);
        int distinct = 0;
        for (float score : all) {
            if (distinct == 0 || all[distinct - 1] != score) {
                all[distinct++] = score;
            }
        }
        return Arrays.copyOf(all, distinct);
    }

    private void put(int left, int right, int rank, int merged) {
        if (2 * (size + 1) > capacity()) {
            grow();
        }
        long key = key(left, right);
        int slot = slot(key);
        while (slots[2 * slot] != EMPTY && slots[2 * slot] != key) {
            slot = next(slot);
        }
        if (slots[2 * slot] == EMPTY) {
            size++;
        }
        slots[2 * slot] = key;
        slots[2 * slot + 1] = (long) rank << 32 | merged;
    }

    private void grow() {
        long[] old = slots;
        allocate(2 * capacity());
        size = 0;
        for (int i = 0; i < old.length; i += 2) {
            if (old[i] != EMPTY) {
                put((int) (old[i] >>> 32), (int) old[i], (int) (old[i + 1] >>> 32), (int) old[i + 1]);
            }
        }
    }

    private void allocate(int capacity) {
        slots = new long[2 * capacity];
        Arrays.fill(slots, EMPTY);
    }

    private int capacity() {
        return slots.length / 2;
    }

    private int next(int slot) {
        return (slot + 1) & (capacity() - 1);
    }

    private int slot(long key) {
        return (int) ((key * HASH_MULTIPLIER) >>> (64 - Integer.numberOfTrailingZeros(capacity())));
    }

    /** Piece ids are non-negative, so no key is EMPTY. */
    private static long key(int left, int right) {
        return (long) left << 32 | right;
    }
}
