package dev.dpn.runtime.text;

/**
 * Assembles the bytes of consecutive byte pieces into characters as SentencePiece does: each complete, valid UTF-8
 * sequence becomes its character, and each byte that cannot start or continue one becomes a U+FFFD of its own, the
 * valid characters around it kept ({@code <0xE1> <0x41>} gives {@code "\uFFFDA"}). Bytes are held back only while
 * they may still become a character, so feeding them one at a time gives the same text as feeding them all.
 */
final class Utf8Assembler {
    private static final char REPLACEMENT_CHARACTER = '\uFFFD';
    /** The smallest code point each sequence length may encode; shorter forms are overlong. */
    private static final int[] MIN_CODE_POINT = {0, 0, 0x80, 0x800, 0x10000};

    private final int[] pending = new int[4];
    private int count;

    /** Takes one byte and appends the characters it completes. */
    void add(int b, StringBuilder out) {
        pending[count++] = b;
        drain(out, false);
    }

    /** Ends the run of bytes: what is held back cannot complete and becomes one U+FFFD per byte. */
    void flush(StringBuilder out) {
        drain(out, true);
    }

    private void drain(StringBuilder out, boolean runEnded) {
        while (count > 0) {
            int length = sequenceLength(pending[0]);
            int available = Math.min(length, count);
            boolean continues = length > 0;
            for (int i = 1; i < available && continues; i++) {
                continues = (pending[i] & 0xC0) == 0x80;
            }
            if (continues && count < length && !runEnded) {
                return; // may still become a character
            }
            int codePoint = continues && count >= length ? decode(length) : -1;
            if (codePoint >= 0) {
                out.appendCodePoint(codePoint);
                consume(length);
            } else {
                out.append(REPLACEMENT_CHARACTER);
                consume(1);
            }
        }
    }

    /** The length of the sequence {@code lead} starts, or 0 if it starts none. */
    private static int sequenceLength(int lead) {
        if (lead < 0x80) {
            return 1;
        }
        if ((lead & 0xE0) == 0xC0) {
            return 2;
        }
        if ((lead & 0xF0) == 0xE0) {
            return 3;
        }
        return (lead & 0xF8) == 0xF0 ? 4 : 0;
    }

    /** The code point of the first {@code length} pending bytes, or -1 if it is overlong, a surrogate or too big. */
    private int decode(int length) {
        int codePoint = length == 1 ? pending[0] : pending[0] & (0x7F >> length);
        for (int i = 1; i < length; i++) {
            codePoint = codePoint << 6 | pending[i] & 0x3F;
        }
        boolean valid = codePoint >= MIN_CODE_POINT[length] && codePoint <= Character.MAX_CODE_POINT
                && (codePoint < Character.MIN_SURROGATE || codePoint > Character.MAX_SURROGATE);
        return valid ? codePoint : -1;
    }

    private void consume(int bytes) {
        System.arraycopy(pending, bytes, pending, 0, count - bytes);
        count -= bytes;
    }
}
