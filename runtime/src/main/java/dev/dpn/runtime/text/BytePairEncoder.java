package dev.dpn.runtime.text;

import dev.dpn.loader.tokenizer.BytePieces;
import dev.dpn.loader.tokenizer.PieceType;
import dev.dpn.loader.tokenizer.TokenizerSpec;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * Encodes one segment of text (a stretch without added tokens) as Llama's tokenizer does. The text is normalized
 * ("▁" in front, each space a "▁") and split into characters; a character the vocabulary lacks becomes the byte
 * pieces of its UTF-8. Then the adjacent pair that {@link MergeTable} ranks first is merged until none is left.
 *
 * <p>The symbols form a linked list and the candidate pairs a heap. A merge queues the at most two pairs it forms;
 * a queued pair whose symbols have changed since is dropped when it comes up. A segment of n symbols costs
 * O(n log n).
 */
final class BytePairEncoder {
    private static final String SPACE_MARK = "▁";
    /** A symbol merged into its left neighbour. */
    private static final int MERGED_AWAY = -1;
    private static final int REPLACEMENT_CHARACTER = 0xFFFD;

    private final MergeTable merges;
    /** Single-character normal pieces, by code point: the symbols encoding starts from. */
    private final Map<Integer, Integer> characterIds = new HashMap<>();
    private final int[] byteIds = new int[BytePieces.COUNT];
    private final int spaceMarkId;
    private final boolean addDummyPrefix;

    BytePairEncoder(TokenizerSpec spec) {
        merges = MergeTable.of(spec);
        List<String> pieces = spec.pieces();
        int spaceMark = -1;
        for (int id = 0; id < pieces.size(); id++) {
            String piece = pieces.get(id);
            PieceType type = spec.types().get(id);
            if (type == PieceType.BYTE) {
                byteIds[BytePieces.value(piece)] = id;
            } else if (type == PieceType.NORMAL && piece.codePointCount(0, piece.length()) == 1) {
                characterIds.put(piece.codePointAt(0), id);
                if (piece.equals(SPACE_MARK)) {
                    spaceMark = id;
                }
            }
        }
        if (spaceMark < 0) {
            throw new IllegalArgumentException("the vocabulary has no \"" + SPACE_MARK + "\" piece for spaces");
        }
        spaceMarkId = spaceMark;
        addDummyPrefix = spec.addDummyPrefix();
    }

    /** The most ids {@link #encode} writes for {@code length} chars: each may take three UTF-8 byte pieces. */
    static int maxIds(int length) {
        return 1 + 3 * length;
    }

    /**
     * Writes the ids of {@code text[from, to)} to {@code out} from {@code start}, which must leave room for
     * {@link #maxIds}{@code (to - from)}, and returns where they end.
     */
    int encode(String text, int from, int to, int[] out, int start) {
        if (from == to) {
            return start;
        }
        int[] symbols = new int[maxIds(to - from)];
        int count = 0;
        if (addDummyPrefix) {
            symbols[count++] = spaceMarkId;
        }
        for (int i = from; i < to; ) {
            int codePoint = text.codePointAt(i);
            i += Character.charCount(codePoint);
            if (codePoint >= Character.MIN_SURROGATE && codePoint <= Character.MAX_SURROGATE) {
                codePoint = REPLACEMENT_CHARACTER; // a lone surrogate has no UTF-8
            }
            Integer id = codePoint == ' ' ? Integer.valueOf(spaceMarkId) : characterIds.get(codePoint);
            if (id != null) {
                symbols[count++] = id;
            } else {
                count = appendBytePieces(codePoint, symbols, count);
            }
        }
        return merge(symbols, count, out, start);
    }

    private int appendBytePieces(int codePoint, int[] symbols, int count) {
        if (codePoint < 0x80) {
            symbols[count++] = byteIds[codePoint];
        } else if (codePoint < 0x800) {
            symbols[count++] = byteIds[0xC0 | codePoint >>> 6];
            symbols[count++] = byteIds[0x80 | codePoint & 0x3F];
        } else if (codePoint < 0x10000) {
            symbols[count++] = byteIds[0xE0 | codePoint >>> 12];
            symbols[count++] = byteIds[0x80 | codePoint >>> 6 & 0x3F];
            symbols[count++] = byteIds[0x80 | codePoint & 0x3F];
        } else {
            symbols[count++] = byteIds[0xF0 | codePoint >>> 18];
            symbols[count++] = byteIds[0x80 | codePoint >>> 12 & 0x3F];
            symbols[count++] = byteIds[0x80 | codePoint >>> 6 & 0x3F];
            symbols[count++] = byteIds[0x80 | codePoint & 0x3F];
        }
        return count;
    }

    /** Merges {@code symbols[0, count)} and writes what is left to {@code out} from {@code start}. */
    private int merge(int[] symbols, int count, int[] out, int start) {
        int[] next = new int[count];
        int[] previous = new int[count];
        for (int i = 0; i < count; i++) {
            next[i] = i + 1;
            previous[i] = i - 1;
        }
        // Each merge queues at most two pairs, so the queue never holds more than 3 * count.
        PairQueue queue = new PairQueue(3 * count);
        for (int i = 0; i + 1 < count; i++) {
            offer(symbols, next, i, queue);
        }
        while (!queue.isEmpty()) {
            long candidate = queue.poll();
            int left = PairQueue.position(candidate);
            if (symbols[left] == MERGED_AWAY || next[left] == count) {
                continue;
            }
            int right = next[left];
            int slot = merges.find(symbols[left], symbols[right]);
            if (slot == MergeTable.ABSENT || merges.rank(slot) != PairQueue.rank(candidate)) {
                continue; // stale: a symbol of the queued pair has changed
            }
            symbols[left] = merges.merged(slot);
            symbols[right] = MERGED_AWAY;
            next[left] = next[right];
            if (next[left] < count) {
                previous[next[left]] = left;
            }
            if (previous[left] >= 0) {
                offer(symbols, next, previous[left], queue);
            }
            offer(symbols, next, left, queue);
        }
        int end = start;
        for (int i = 0; i < count; i = next[i]) {
            out[end++] = symbols[i];
        }
        return end;
    }

    /** Queues the pair of the symbol at {@code left} and its right neighbour, if they merge. */
    private void offer(int[] symbols, int[] next, int left, PairQueue queue) {
        if (next[left] < next.length) {
            int slot = merges.find(symbols[left], symbols[next[left]]);
            if (slot != MergeTable.ABSENT) {
                queue.add(PairQueue.candidate(merges.rank(slot), left));
            }
        }
    }
}
