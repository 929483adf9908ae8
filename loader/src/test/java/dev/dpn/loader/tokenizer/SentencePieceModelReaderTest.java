package dev.dpn.loader.tokenizer;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class SentencePieceModelReaderTest {
    @TempDir
    Path dir;

    @Test
    void readsLlamasModel() throws IOException {
        TokenizerSpec spec = SentencePieceModelReader.read(TinyTokenizers.ASSETS.resolve("tokenizer.model"));
        assertEquals(32000, spec.pieces().size());
        assertEquals(List.of("<unk>", "<s>", "</s>", "<0x00>"), spec.pieces().subList(0, 4));
        assertEquals(List.of(PieceType.UNKNOWN, PieceType.CONTROL, PieceType.CONTROL, PieceType.BYTE),
                spec.types().subList(0, 4));
        assertEquals("<0xFF>", spec.pieces().get(258));
        assertEquals(PieceType.BYTE, spec.types().get(258));
        assertEquals("▁", spec.pieces().get(29871));
        assertEquals(PieceType.NORMAL, spec.types().get(29871));
        assertEquals(List.of(0, 1, 2), List.of(spec.unkId(), spec.bosId(), spec.eosId()));
        assertTrue(spec.addDummyPrefix());
        assertEquals(List.of(), spec.addedTokens());
        float[] scores = assertInstanceOf(MergeOrder.Scored.class, spec.mergeOrder()).scores();
        // The README of the assets: a piece no merge makes scores -(61249 + id); "▁t" is the first merge.
        assertEquals(-(61249f + 29871), scores[29871]);
        assertEquals(0, scores[spec.pieces().indexOf("▁t")], 0);
    }

    @Test
    void readsTheTinyModel() throws IOException {
        TokenizerSpec spec = SentencePieceModelReader.read(write(TinyTokenizers.model()));
        assertEquals(TinyTokenizers.PIECES, spec.pieces());
        float[] scores = ((MergeOrder.Scored) spec.mergeOrder()).scores();
        assertEquals(-4f, scores[263]);
    }

    @Test
    void emptyFile() throws IOException {
        assertRejected(new byte[0], "has no pieces");
    }

    @Test
    void jsonInsteadOfProtobuf() throws IOException {
        // '{' reads as field 15 with wire type 3, a group, which protobuf no longer writes.
        assertRejected("{\"model\": {}}".getBytes(StandardCharsets.UTF_8), "ModelProto: field 15 has wire type 3");
    }

    @Test
    void truncated() throws IOException {
        byte[] model = TinyTokenizers.model();
        assertRejected(Arrays.copyOf(model, model.length - 3), "ModelProto: field 3 claims 16 bytes, but only 13 are left");
    }

    @Test
    void truncatedInsideAVarint() throws IOException {
        // Field 5, a varint, which ModelProto does not have and the reader skips.
        assertRejected(new byte[] {0x28, (byte) 0x80}, "a varint runs past the end of ModelProto");
    }

    @Test
    void varintTooLong() throws IOException {
        byte[] model = {0x28, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, 0x01};
        assertRejected(model, "longer than 10 bytes");
    }

    @Test
    void scoreWithTheWrongWireType() throws IOException {
        byte[] piece = new ProtobufWriter().string(1, "x").varint(2, 5).toByteArray();
        assertRejected(append(new ProtobufWriter().bytes(1, piece)), "pieces[264]: field 2 has wire type 0, "
                + "expected 5 (a 32-bit float)");
    }

    @Test
    void pieceNotUtf8() throws IOException {
        byte[] piece = new ProtobufWriter().bytes(1, new byte[] {(byte) 0xC3, 0x28}).toByteArray();
        assertRejected(append(new ProtobufWriter().bytes(1, piece)), "pieces[264]: field 1 is not valid UTF-8");
    }

    @Test
    void pieceWithoutText() throws IOException {
        byte[] piece = new ProtobufWriter().float32(2, -1).toByteArray();
        assertRejected(append(new ProtobufWriter().bytes(1, piece)), "pieces[264]: has no text");
    }

    @Test
    void duplicatePiece() throws IOException {
        assertRejected(append(new ProtobufWriter().message(1, TinyTokenizers.piece("ab", -9, 1))),
                "pieces 263 and 264 are both \"ab\"");
    }

    @Test
    void userDefinedPiece() throws IOException {
        assertRejected(append(new ProtobufWriter().message(1, TinyTokenizers.piece("<x>", 0, 4))),
                "\"<x>\" has type USER_DEFINED");
    }

    @Test
    void nanScore() throws IOException {
        assertRejected(append(new ProtobufWriter().message(1, TinyTokenizers.piece("ba", Float.NaN, 1))),
                "piece 264 \"ba\" has score NaN");
    }

    @Test
    void unigramModel() throws IOException {
        // A second trainer_spec merges into the first, as protobuf defines, and overrides model_type.
        assertRejected(append(new ProtobufWriter().message(2, new ProtobufWriter().varint(3, 1))),
                "trainer_spec.model_type is UNIGRAM; only Llama's SentencePiece BPE layout is supported");
    }

    @Test
    void withoutByteFallback() throws IOException {
        assertRejected(append(new ProtobufWriter().message(2, new ProtobufWriter().varint(35, 0))),
                "trainer_spec.byte_fallback is false");
    }

    @Test
    void normalizationRules() throws IOException {
        ProtobufWriter normalizer = new ProtobufWriter().string(1, "nmt_nfkc").bytes(2, new byte[40]);
        assertRejected(append(new ProtobufWriter().message(3, normalizer)), "40-byte precompiled_charsmap");
    }

    @Test
    void removeExtraWhitespacesByDefault() throws IOException {
        byte[] model = TinyTokenizers.modelPieces()
                .message(2, new ProtobufWriter().varint(3, 2).varint(35, 1)).toByteArray();
        assertRejected(model, "normalizer_spec.remove_extra_whitespaces is true");
    }

    @Test
    void missingBytePieces() throws IOException {
        ProtobufWriter pieces = new ProtobufWriter().message(1, TinyTokenizers.piece("<unk>", 0, 2))
                .message(1, TinyTokenizers.piece("<s>", 0, 3)).message(1, TinyTokenizers.piece("</s>", 0, 3))
                .message(1, TinyTokenizers.piece("<0x41>", 0, 6));
        byte[] model = TinyTokenizers.model();
        byte[] tinyTail = Arrays.copyOfRange(model, TinyTokenizers.modelPieces().toByteArray().length, model.length);
        assertRejected(concat(pieces.toByteArray(), tinyTail), "it has 1 byte pieces, byte fallback needs all 256");
    }

    @Test
    void misnamedBytePiece() throws IOException {
        assertRejected(append(new ProtobufWriter().message(1, TinyTokenizers.piece("<0xab>", 0, 6))),
                "piece 264 \"<0xab>\" has type BYTE but is not named <0x00>..<0xFF>");
    }

    @Test
    void bosIdOutOfRange() throws IOException {
        assertRejected(append(new ProtobufWriter().message(2, new ProtobufWriter().varint(41, 264))),
                "trainer_spec.bos_id is 264, not one of the 264 pieces");
    }

    @Test
    void eosIdNotAControlPiece() throws IOException {
        assertRejected(append(new ProtobufWriter().message(2, new ProtobufWriter().varint(42, 262))),
                "trainer_spec.eos_id is 262, a NORMAL piece, not CONTROL");
    }

    private void assertRejected(byte[] model, String... fragments) throws IOException {
        Path file = write(model);
        TokenizerFileException e = assertThrows(TokenizerFileException.class,
                () -> SentencePieceModelReader.read(file));
        assertTrue(e.getMessage().startsWith(file + ": "), e.getMessage());
        for (String fragment : fragments) {
            assertTrue(e.getMessage().contains(fragment), e.getMessage());
        }
    }

    private static byte[] append(ProtobufWriter fields) {
        return concat(TinyTokenizers.model(), fields.toByteArray());
    }

    private static byte[] concat(byte[] a, byte[] b) {
        byte[] both = Arrays.copyOf(a, a.length + b.length);
        System.arraycopy(b, 0, both, a.length, b.length);
        return both;
    }

    private Path write(byte[] model) throws IOException {
        return Files.write(dir.resolve("tokenizer.model"), model);
    }
}
