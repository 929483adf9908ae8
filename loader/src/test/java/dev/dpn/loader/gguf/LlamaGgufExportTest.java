package dev.dpn.loader.gguf;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.dpn.loader.SafetensorsWriter;
import dev.dpn.loader.TensorInfo;
import dev.dpn.tensors.DType;
import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A small llava-hf decoder (2 layers, 4 query and 2 key-value heads of 16, GQA) with the repository's Llama-2
 * tokenizer, exported and read back: llama's hyperparameters and vocabulary, GGML names and dimensions, norms as
 * F32, quantized blocks copied verbatim, and q/k rows in llama.cpp's RoPE order.
 */
class LlamaGgufExportTest {
    private static final Path TOKENIZER = Path.of("../tokenizer/assets");
    private static final int VOCAB = 32064, D = 64, FFN = 96, LAYERS = 2, HEADS = 4, KV_HEADS = 2, HEAD_DIM = 16;

    @TempDir
    Path dir;
    private Path model;
    /** Every tensor as written into the checkpoint, and its bytes, by transformers name. */
    private final Map<String, TensorInfo> infos = new LinkedHashMap<>();
    private final Map<String, byte[]> written = new LinkedHashMap<>();

    @BeforeEach
    void writeModel() throws IOException {
        model = Files.createDirectory(dir.resolve("model"));
        for (String file : List.of("tokenizer.json", "tokenizer_config.json")) {
            Files.copy(TOKENIZER.resolve(file), model.resolve(file));
        }
        Map<String, Object> text = Map.of("vocab_size", VOCAB, "hidden_size", D, "intermediate_size", FFN,
                "num_hidden_layers", LAYERS, "num_attention_heads", HEADS, "num_key_value_heads", KV_HEADS,
                "rms_norm_eps", 1e-5, "rope_theta", 500000.0, "max_position_embeddings", 512);
        new ObjectMapper().writeValue(model.resolve("config.json").toFile(), Map.of("text_config", text));

        List<TensorInfo> tensors = new ArrayList<>();
        String p = "language_model.model.";
        tensors.add(new TensorInfo(p + "embed_tokens.weight", DType.F16, VOCAB, D));
        for (int i = 0; i < LAYERS; i++) {
            String l = p + "layers." + i + ".";
            tensors.add(new TensorInfo(l + "input_layernorm.weight", DType.BF16, D));
            tensors.add(new TensorInfo(l + "self_attn.q_proj.weight", DType.Q8_0, D, D));
            tensors.add(new TensorInfo(l + "self_attn.k_proj.weight", DType.F16, KV_HEADS * HEAD_DIM, D));
            tensors.add(new TensorInfo(l + "self_attn.v_proj.weight", DType.F16, KV_HEADS * HEAD_DIM, D));
            tensors.add(new TensorInfo(l + "self_attn.o_proj.weight", DType.F16, D, D));
            tensors.add(new TensorInfo(l + "post_attention_layernorm.weight", DType.F32, D));
            tensors.add(new TensorInfo(l + "mlp.gate_proj.weight", DType.Q4_0, FFN, D));
            tensors.add(new TensorInfo(l + "mlp.up_proj.weight", DType.Q4_0, FFN, D));
            tensors.add(new TensorInfo(l + "mlp.down_proj.weight", DType.Q4_0, D, FFN));
        }
        tensors.add(new TensorInfo(p + "norm.weight", DType.F16, D));
        tensors.add(new TensorInfo("language_model.lm_head.weight", DType.F16, VOCAB, D));
        Random random = new Random(5);
        try (SafetensorsWriter writer = SafetensorsWriter.create(model.resolve("model.safetensors"), tensors,
                Map.of())) {
            for (TensorInfo t : tensors) {
                byte[] bytes = new byte[(int) t.byteSize()];
                if (t.name().endsWith("k_proj.weight")) {
                    // Each F16 row holds its own index, so where a row went can be read off any element.
                    ByteBuffer rows = ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN);
                    for (int e = 0; e < bytes.length / 2; e++) {
                        rows.putShort(Float.floatToFloat16(e / D));
                    }
                } else {
                    // Any bytes: quantized blocks, norms and matrices are all copied or converted, never computed.
                    random.nextBytes(bytes);
                    if (t.dtype() == DType.BF16 || t.dtype() == DType.F32 || t.name().endsWith("norm.weight")) {
                        fillFinite(bytes, t.dtype());
                    }
                }
                infos.put(t.name(), t);
                written.put(t.name(), bytes);
                writer.write(t.name(), MemorySegment.ofArray(bytes));
            }
        }
    }

    @Test
    void writesLlamaHyperparametersAndTheSentencePieceVocabulary() throws IOException {
        GgufFile gguf = export();
        Map<String, Object> m = gguf.metadata;
        assertEquals("llama", m.get("general.architecture"));
        assertEquals("model", m.get("general.name"));
        assertEquals(7L, m.get("general.file_type"), "attention weights are Q8_0: MOSTLY_Q8_0");
        assertEquals((long) LAYERS, m.get("llama.block_count"));
        assertEquals((long) D, m.get("llama.embedding_length"));
        assertEquals((long) FFN, m.get("llama.feed_forward_length"));
        assertEquals((long) HEADS, m.get("llama.attention.head_count"));
        assertEquals((long) KV_HEADS, m.get("llama.attention.head_count_kv"));
        assertEquals((long) HEAD_DIM, m.get("llama.rope.dimension_count"));
        assertEquals(512L, m.get("llama.context_length"));
        assertEquals(1e-5f, m.get("llama.attention.layer_norm_rms_epsilon"));
        assertEquals(500000f, m.get("llama.rope.freq_base"));
        assertEquals(32L, m.get("general.alignment"));
        assertEquals("llama", m.get("tokenizer.ggml.model"));
        assertEquals(1L, m.get("tokenizer.ggml.bos_token_id"));
        assertEquals(2L, m.get("tokenizer.ggml.eos_token_id"));
        assertEquals(0L, m.get("tokenizer.ggml.unknown_token_id"));

        List<?> tokens = (List<?>) m.get("tokenizer.ggml.tokens");
        List<?> types = (List<?>) m.get("tokenizer.ggml.token_type");
        List<?> scores = (List<?>) m.get("tokenizer.ggml.scores");
        assertEquals(VOCAB, tokens.size());
        assertEquals(VOCAB, types.size());
        assertEquals(VOCAB, scores.size());
        assertEquals(List.of("<unk>", "<s>", "</s>", "<0x00>"), tokens.subList(0, 4));
        assertEquals(List.of(2, 3, 3, 6), types.subList(0, 4));
        assertEquals(List.of("<image>", "<pad>", "<ROUTER>", "[PAD32003]"), tokens.subList(32000, 32004));
        assertEquals(List.of(3, 3, 3, 5), types.subList(32000, 32004));
        assertEquals("[PAD32063]", tokens.getLast());
        // tokenizer.json ranks merges; the first one ("▁ t") makes the best-scoring piece.
        int t = tokens.indexOf("▁t");
        assertEquals(1, types.get(t));
        assertEquals(0f, scores.get(t));
        float lowestMerge = -61248f;
        assertTrue(scores.stream().allMatch(s -> Float.isFinite((Float) s)));
        int single = tokens.indexOf("e");
        assertTrue((Float) scores.get(single) < lowestMerge, "a single character is no merge: below all merges");
    }

    @Test
    void writesGgmlTensorsWithNormsAsF32AndQkRowsInRopeOrder() throws IOException {
        GgufFile gguf = export();
        List<String> names = gguf.tensors.stream().map(GgufFile.TensorEntry::name).toList();
        assertEquals(List.of("token_embd.weight", "blk.0.attn_norm.weight", "blk.0.attn_q.weight",
                "blk.0.attn_k.weight", "blk.0.attn_v.weight", "blk.0.attn_output.weight", "blk.0.ffn_norm.weight",
                "blk.0.ffn_gate.weight", "blk.0.ffn_up.weight", "blk.0.ffn_down.weight"), names.subList(0, 10));
        assertEquals(List.of("output_norm.weight", "output.weight"), names.subList(names.size() - 2, names.size()));
        assertArrayEquals(new long[] {D, VOCAB}, gguf.tensor("token_embd.weight").dims());
        assertArrayEquals(new long[] {FFN, D}, gguf.tensor("blk.1.ffn_down.weight").dims());
        assertEquals(8, gguf.tensor("blk.0.attn_q.weight").type(), "Q8_0");
        assertEquals(2, gguf.tensor("blk.1.ffn_down.weight").type(), "Q4_0");
        assertEquals(0, gguf.tensor("blk.0.attn_norm.weight").type(), "F32");

        String l = "language_model.model.layers.1.";
        byte[] down = written.get(l + "mlp.down_proj.weight");
        assertArrayEquals(down, gguf.bytes("blk.1.ffn_down.weight", down.length), "Q4_0 blocks verbatim");
        byte[] embed = written.get("language_model.model.embed_tokens.weight");
        assertArrayEquals(embed, gguf.bytes("token_embd.weight", embed.length));

        float[] norm = floats(gguf.bytes("blk.1.attn_norm.weight", D * 4), DType.F32);
        assertArrayEquals(floats(written.get(l + "input_layernorm.weight"), DType.BF16), norm);

        // Q8_0 rows of 2 blocks: GGML row 2i + j of head h is transformers row h·16 + j·8 + i.
        int rowBytes = 2 * 34;
        byte[] q = gguf.bytes("blk.1.attn_q.weight", D * rowBytes);
        byte[] source = written.get(l + "self_attn.q_proj.weight");
        for (int row = 0; row < D; row++) {
            int head = row / HEAD_DIM, i = row % HEAD_DIM / 2, j = row % 2;
            int from = head * HEAD_DIM + j * HEAD_DIM / 2 + i;
            assertArrayEquals(Arrays.copyOfRange(source, from * rowBytes, (from + 1) * rowBytes),
                    Arrays.copyOfRange(q, row * rowBytes, (row + 1) * rowBytes), "q row " + row);
        }
        // The keys' 2 heads are permuted per head too: rows 0..15 are 0 8 1 9 ..., rows 16..31 are 16 24 17 25 ...
        float[] k = floats(gguf.bytes("blk.0.attn_k.weight", KV_HEADS * HEAD_DIM * D * 2), DType.F16);
        float[] firstColumn = new float[KV_HEADS * HEAD_DIM];
        for (int row = 0; row < firstColumn.length; row++) {
            firstColumn[row] = k[row * D];
        }
        assertArrayEquals(new float[] {0, 8, 1, 9, 2, 10, 3, 11, 4, 12, 5, 13, 6, 14, 7, 15,
                16, 24, 17, 25, 18, 26, 19, 27, 20, 28, 21, 29, 22, 30, 23, 31}, firstColumn);
    }

    @Test
    void tiedEmbeddingsWriteNoOutputTensor() throws IOException {
        // Rewrite the checkpoint without the LM head: llama.cpp then reads token_embd for the output.
        List<TensorInfo> tensors = new ArrayList<>();
        written.remove("language_model.lm_head.weight");
        written.keySet().forEach(name -> tensors.add(infos.get(name)));
        try (SafetensorsWriter writer = SafetensorsWriter.create(model.resolve("model.safetensors"), tensors,
                Map.of())) {
            for (var e : written.entrySet()) {
                writer.write(e.getKey(), MemorySegment.ofArray(e.getValue()));
            }
        }
        GgufFile gguf = export();
        assertFalse(gguf.tensors.stream().anyMatch(t -> t.name().equals("output.weight")));
    }

    @Test
    void aMisshapedDecoderTensorIsNamed() throws IOException {
        new ObjectMapper().writeValue(model.resolve("config.json").toFile(),
                Map.of("text_config", Map.of("vocab_size", VOCAB, "hidden_size", D, "intermediate_size", FFN + 32,
                        "num_hidden_layers", LAYERS, "num_attention_heads", HEADS, "num_key_value_heads", KV_HEADS)));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> LlamaGgufExport.export(model, dir.resolve("bad.gguf")));
        assertTrue(e.getMessage().contains("language_model.model.layers.0.mlp.gate_proj.weight has shape [96, 64], "
                + "config.json says [128, 64]"), e.getMessage());
    }

    private GgufFile export() throws IOException {
        Path out = dir.resolve("model.gguf");
        LlamaGgufExport.Summary summary = LlamaGgufExport.export(model, out);
        GgufFile gguf = new GgufFile(out);
        assertEquals(summary.tensors(), gguf.tensors.size());
        return gguf;
    }

    /** Small finite values in place of random bits, which may spell NaN. */
    private static void fillFinite(byte[] bytes, DType dtype) {
        MemorySegment segment = MemorySegment.ofArray(bytes);
        Random random = new Random(bytes.length);
        for (long i = 0; i < bytes.length / (dtype == DType.F32 ? 4 : 2); i++) {
            dtype.setFloat(segment, i, (float) random.nextGaussian());
        }
    }

    private static float[] floats(byte[] bytes, DType dtype) {
        MemorySegment segment = MemorySegment.ofArray(bytes);
        float[] values = new float[bytes.length / (dtype == DType.F32 ? 4 : 2)];
        for (int i = 0; i < values.length; i++) {
            values[i] = dtype.getFloat(segment, i);
        }
        return values;
    }
}
