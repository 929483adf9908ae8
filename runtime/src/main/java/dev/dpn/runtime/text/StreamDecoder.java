package dev.dpn.runtime.text;

/**
 * Decodes token ids one at a time, as generation produces them, into the text each completes. Feeding a sequence
 * id by id and then calling {@link #finish()} gives exactly {@link Tokenizer#decode}'s text:
 *
 * <ul>
 *   <li>The bytes of byte pieces are held back until they complete a UTF-8 character. Bytes that cannot become
 *       one each decode to U+FFFD, the valid characters around them kept, as in SentencePiece
 *       ({@code <0xE1> <0x41>} gives {@code "\uFFFDA"}; Hugging Face's {@code ByteFallback} would make the whole
 *       run U+FFFDs).</li>
 *   <li>The text's first normal piece loses the space of its leading "▁", which encoding put there; pieces before
 *       it that decode to nothing ({@code <s>}) do not count. As in SentencePiece, a space from a byte piece is
 *       kept ({@code <0x20> ▁Hello} gives {@code "  Hello"}; Hugging Face's {@code Strip} would drop it).</li>
 * </ul>
 *
 * <p>One decoder follows one text; it is not thread-safe.
 */
public final class StreamDecoder {
    private final Surfaces surfaces;
    private final Utf8Assembler bytes = new Utf8Assembler();
    /** Whether nothing has been decoded yet, so a leading "▁" would still be dropped. */
    private boolean atStart = true;

    StreamDecoder(Surfaces surfaces) {
        this.surfaces = surfaces;
    }

    /**
     * The text that {@code id} completes: empty while it leaves a UTF-8 character open, or decodes to nothing.
     *
     * @throws IllegalArgumentException if {@code id} is not in the vocabulary
     */
    public String next(int id) {
        StringBuilder text = new StringBuilder();
        append(id, text);
        return text.toString();
    }

    /** The bytes still held back, which no longer complete a character: one U+FFFD each. */
    public String finish() {
        StringBuilder text = new StringBuilder();
        finish(text);
        return text.toString();
    }

    void append(int id, StringBuilder out) {
        int b = surfaces.byteValue(id);
        if (b >= 0) {
            atStart = false;
            bytes.add(b, out);
            return;
        }
        bytes.flush(out);
        String text = surfaces.text(id);
        if (atStart && surfaces.hasLeadingSpaceMark(id)) {
            text = text.substring(1);
            atStart = false;
        } else if (!text.isEmpty()) {
            atStart = false;
        }
        out.append(text);
    }

    void finish(StringBuilder out) {
        bytes.flush(out);
    }
}
