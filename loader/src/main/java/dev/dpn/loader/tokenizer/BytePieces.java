package dev.dpn.loader.tokenizer;

/** Byte-fallback pieces are named {@code <0x00>} .. {@code <0xFF>}, hex digits in upper case. */
public final class BytePieces {
    public static final int COUNT = 256;
    private static final String HEX_DIGITS = "0123456789ABCDEF";

    private BytePieces() {
    }

    /** The byte the piece named {@code piece} stands for, or -1 if that is not a byte piece's name. */
    public static int value(String piece) {
        if (piece.length() != 6 || !piece.startsWith("<0x") || piece.charAt(5) != '>') {
            return -1;
        }
        int high = HEX_DIGITS.indexOf(piece.charAt(3));
        int low = HEX_DIGITS.indexOf(piece.charAt(4));
        return high < 0 || low < 0 ? -1 : high << 4 | low;
    }
}
