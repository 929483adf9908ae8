package dev.dpn.loader.tokenizer;

import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;

/**
 * Reads one protobuf message in the wire format, field by field: just what {@code sentencepiece_model.proto}
 * needs. Call {@link #nextField()}, then one reader for the field's value ({@link #int32()}, {@link #string()},
 * {@link #message}...) or {@link #skip()}. Each reader checks the field's wire type; every failure names the file,
 * the message being read and the byte offset.
 */
final class ProtobufReader {
    private static final int VARINT = 0;
    private static final int FIXED64 = 1;
    private static final int LENGTH_DELIMITED = 2;
    private static final int FIXED32 = 5;
    private static final int MAX_VARINT_BYTES = 10;

    private final Path file;
    /** What this message is, for errors: "ModelProto", "pieces[7]". */
    private final String name;
    private final byte[] bytes;
    private final int end;
    private int position;
    private int field;
    private int wireType;

    private ProtobufReader(Path file, String name, byte[] bytes, int start, int end) {
        this.file = file;
        this.name = name;
        this.bytes = bytes;
        this.position = start;
        this.end = end;
    }

    /** A reader of the message that is all of {@code bytes}. */
    static ProtobufReader of(Path file, String name, byte[] bytes) {
        return new ProtobufReader(file, name, bytes, 0, bytes.length);
    }

    /** Reads the next field's key; false at the end of the message. */
    boolean nextField() {
        if (position == end) {
            return false;
        }
        long key = rawVarint();
        field = (int) (key >>> 3);
        wireType = (int) (key & 7);
        if (key >>> 3 == 0 || key >>> 3 > Integer.MAX_VALUE) {
            throw failure("field number " + (key >>> 3) + " is not valid");
        }
        return true;
    }

    /** The number of the field just read by {@link #nextField()}. */
    int field() {
        return field;
    }

    /** An int32 or enum value: negative ones are written sign-extended to 64 bits, so the cast restores them. */
    int int32() {
        expect(VARINT, "a varint");
        return (int) rawVarint();
    }

    boolean bool() {
        expect(VARINT, "a varint");
        return rawVarint() != 0;
    }

    float float32() {
        expect(FIXED32, "a 32-bit float");
        need(4);
        int bits = (bytes[position] & 0xFF) | (bytes[position + 1] & 0xFF) << 8
                | (bytes[position + 2] & 0xFF) << 16 | (bytes[position + 3] & 0xFF) << 24;
        position += 4;
        return Float.intBitsToFloat(bits);
    }

    /** A string field, which protobuf requires to be valid UTF-8. */
    String string() {
        int length = length();
        try {
            String text = StandardCharsets.UTF_8.newDecoder()
                    .decode(ByteBuffer.wrap(bytes, position, length)).toString();
            position += length;
            return text;
        } catch (CharacterCodingException e) {
            throw failure("field " + field + " is not valid UTF-8");
        }
    }

    /** The length of a bytes field, whose content is skipped. */
    int bytesLength() {
        int length = length();
        position += length;
        return length;
    }

    /** A reader of the embedded message in this field, named {@code name} in errors. */
    ProtobufReader message(String name) {
        int length = length();
        ProtobufReader message = new ProtobufReader(file, name, bytes, position, position + length);
        position += length;
        return message;
    }

    /** Passes over the value of a field this reader's caller does not use. */
    void skip() {
        switch (wireType) {
            case VARINT -> rawVarint();
            case FIXED64 -> advance(8);
            case LENGTH_DELIMITED -> advance(length());
            case FIXED32 -> advance(4);
            default -> throw failure("field " + field + " has wire type " + wireType
                    + ", which is not in protobuf's current wire format");
        }
    }

    /** A failure at the current position of this message. */
    TokenizerFileException failure(String reason) {
        return new TokenizerFileException(file, name + ": " + reason + " (at byte " + position + ")");
    }

    private void expect(int type, String what) {
        if (wireType != type) {
            throw failure("field " + field + " has wire type " + wireType + ", expected " + type + " (" + what + ")");
        }
    }

    private int length() {
        expect(LENGTH_DELIMITED, "length-delimited");
        long length = rawVarint();
        if (length > end - position) {
            throw failure("field " + field + " claims " + length + " bytes, but only " + (end - position)
                    + " are left in " + name);
        }
        return (int) length;
    }

    private void advance(int count) {
        need(count);
        position += count;
    }

    private void need(int count) {
        if (end - position < count) {
            throw failure("field " + field + " needs " + count + " bytes, but only " + (end - position)
                    + " are left in " + name);
        }
    }

    private long rawVarint() {
        long value = 0;
        for (int i = 0; i < MAX_VARINT_BYTES; i++) {
            if (position == end) {
                throw failure("a varint runs past the end of " + name);
            }
            int b = bytes[position++];
            value |= (long) (b & 0x7F) << (7 * i);
            if (b >= 0) {
                return value;
            }
        }
        throw failure("a varint is longer than " + MAX_VARINT_BYTES + " bytes");
    }
}
