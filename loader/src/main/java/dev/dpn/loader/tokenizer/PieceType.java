package dev.dpn.loader.tokenizer;

/** What a piece of the vocabulary is, in SentencePiece's terms. */
public enum PieceType {
    /** Text that BPE produces and decoding prints, with "▁" for a space. */
    NORMAL,
    /** {@code <unk>}: what text the vocabulary cannot spell would be without byte fallback. */
    UNKNOWN,
    /** {@code <s>}, {@code </s>}: never produced from text, invisible when decoded. */
    CONTROL,
    /** {@code <0x00>}..{@code <0xFF>}: one byte of the UTF-8 of a character the vocabulary lacks. */
    BYTE
}
