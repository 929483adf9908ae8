package dev.dpn.loader.tokenizer;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.function.Consumer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class TokenizerJsonReaderTest {
    @TempDir
    Path dir;

    @Test
    void readsLlamasTokenizerJson() throws IOException {
        TokenizerSpec spec = TokenizerJsonReader.read(TinyTokenizers.ASSETS.resolve("tokenizer.json"));
        assertEquals(32000, spec.pieces().size());
        assertEquals(List.of(PieceType.UNKNOWN, PieceType.CONTROL, PieceType.CONTROL, PieceType.BYTE),
                spec.types().subList(0, 4));
        assertEquals(PieceType.BYTE, spec.types().get(258));
        assertEquals(PieceType.NORMAL, spec.types().get(259));
        assertEquals("▁", spec.pieces().get(29871));
        assertEquals(List.of(0, 1, 2), List.of(spec.unkId(), spec.bosId(), spec.eosId()));
        assertEquals(List.of(new AddedToken(0, "<unk>", true), new AddedToken(1, "<s>", true),
                new AddedToken(2, "</s>", true), new AddedToken(32000, "<image>", true),
                new AddedToken(32001, "<pad>", true), new AddedToken(32002, "<ROUTER>", true)), spec.addedTokens());
        MergeOrder.Ranked merges = assertInstanceOf(MergeOrder.Ranked.class, spec.mergeOrder());
        assertEquals(61249, merges.left().length);
        // The first merge is "▁ t".
        assertEquals(List.of("▁", "t", "▁t"), List.of(spec.pieces().get(merges.left()[0]),
                spec.pieces().get(merges.right()[0]), spec.pieces().get(merges.merged()[0])));
    }

    @Test
    void mergesAsPairsReadLikeMergesAsStrings() throws IOException {
        ObjectNode json = TinyTokenizers.json();
        TokenizerSpec asStrings = TokenizerJsonReader.read(write(json));
        json.withObjectProperty("model").putArray("merges").add(json.arrayNode().add("▁").add("a"))
                .add(json.arrayNode().add("a").add("b"));
        MergeOrder.Ranked asPairs = (MergeOrder.Ranked) TokenizerJsonReader.read(write(json)).mergeOrder();
        MergeOrder.Ranked expected = (MergeOrder.Ranked) asStrings.mergeOrder();
        assertArrayEquals(new int[] {259, 260}, asPairs.left());
        assertArrayEquals(expected.left(), asPairs.left());
        assertArrayEquals(expected.right(), asPairs.right());
        assertArrayEquals(expected.merged(), asPairs.merged());
    }

    @Test
    void malformedJson() throws IOException {
        Path file = Files.writeString(dir.resolve("tokenizer.json"), "{\"model\": ");
        assertRejected(file, "malformed JSON", "line 1");
    }

    @Test
    void duplicateKey() throws IOException {
        Path file = Files.writeString(dir.resolve("tokenizer.json"), "{\"model\": {}, \"model\": {}}");
        assertRejected(file, "malformed JSON: Duplicate field 'model'");
    }

    @Test
    void notAnObject() throws IOException {
        assertRejected(Files.writeString(dir.resolve("tokenizer.json"), "[1, 2]"), "holds [1,2], not a JSON object");
    }

    @Test
    void metaspacePreTokenizer() throws IOException {
        assertRejected(json -> {
            json.putNull("normalizer");
            json.putObject("pre_tokenizer").put("type", "Metaspace").put("replacement", "▁")
                    .put("prepend_scheme", "first").put("split", false);
        }, "normalizer is null; only Llama-2's layout is supported");
    }

    @Test
    void preTokenizerBesideTheNormalizer() throws IOException {
        assertRejected(json -> json.putObject("pre_tokenizer").put("type", "Whitespace"),
                "pre_tokenizer is {\"type\":\"Whitespace\"}");
    }

    @Test
    void notBpe() throws IOException {
        assertRejected(json -> json.withObjectProperty("model").put("type", "Unigram"), "model.type is \"Unigram\"");
    }

    @Test
    void withoutByteFallback() throws IOException {
        assertRejected(json -> json.withObjectProperty("model").put("byte_fallback", false), "model.byte_fallback is false");
    }

    @Test
    void bpeDropout() throws IOException {
        assertRejected(json -> json.withObjectProperty("model").put("dropout", 0.1), "model.dropout is 0.1");
    }

    @Test
    void vocabWithAGap() throws IOException {
        assertRejected(json -> json.withObjectProperty("model").withObjectProperty("vocab").put("ab", 300),
                "model.vocab[\"ab\"] is 300, not an id in 0..263");
    }

    @Test
    void vocabWithADuplicateId() throws IOException {
        assertRejected(json -> json.withObjectProperty("model").withObjectProperty("vocab").put("ab", 262),
                "model.vocab gives id 262 to both");
    }

    @Test
    void mergeOfAnUnknownPiece() throws IOException {
        assertRejected(json -> json.withObjectProperty("model").withArrayProperty("merges").add("a c"),
                "model.merges[2]: \"c\" is not in model.vocab");
    }

    @Test
    void mergeMakingAnUnknownPiece() throws IOException {
        assertRejected(json -> json.withObjectProperty("model").withArrayProperty("merges").add("b a"),
                "model.merges[2] (the merged piece): \"ba\" is not in model.vocab");
    }

    @Test
    void mergeOfThreePieces() throws IOException {
        assertRejected(json -> json.withObjectProperty("model").withArrayProperty("merges").add("a b a"),
                "model.merges[2] is \"a b a\", neither \"left right\" nor [\"left\", \"right\"]");
    }

    @Test
    void missingBytePieces() throws IOException {
        assertRejected(json -> {
            ObjectNode vocab = json.withObjectProperty("model").withObjectProperty("vocab");
            vocab.remove("<0x41>");
            vocab.put("A", 68);
        }, "model.vocab has 255 byte pieces");
    }

    @Test
    void addedTokenThatStripsSpaces() throws IOException {
        assertRejected(json -> json.withArrayProperty("added_tokens").addObject().put("id", 264).put("content", "<image>")
                .put("lstrip", true).put("special", true),
                "added_tokens[3] (\"<image>\"): lstrip is true; only plain whole-string matching is supported");
    }

    @Test
    void addedTokensSharingAnId() throws IOException {
        assertRejected(json -> json.withArrayProperty("added_tokens").addObject().put("id", 2).put("content", "<pad>")
                .put("special", true), "added tokens \"</s>\" and \"<pad>\" both have id 2");
    }

    @Test
    void addedTokenWithoutId() throws IOException {
        assertRejected(json -> json.withArrayProperty("added_tokens").addObject().put("content", "<pad>"),
                "added_tokens[3]: id is nothing, not a token id");
    }

    private void assertRejected(Consumer<ObjectNode> breakage, String... fragments) throws IOException {
        ObjectNode json = TinyTokenizers.json();
        breakage.accept(json);
        assertRejected(write(json), fragments);
    }

    private static void assertRejected(Path file, String... fragments) {
        TokenizerFileException e = assertThrows(TokenizerFileException.class, () -> TokenizerJsonReader.read(file));
        assertTrue(e.getMessage().startsWith(file + ": "), e.getMessage());
        for (String fragment : fragments) {
            assertTrue(e.getMessage().contains(fragment), e.getMessage());
        }
    }

    private Path write(ObjectNode json) throws IOException {
        return Files.writeString(dir.resolve("tokenizer.json"), json.toPrettyString());
    }
}
