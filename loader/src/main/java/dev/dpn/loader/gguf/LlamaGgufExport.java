package dev.dpn.loader.gguf;

import dev.dpn.loader.SafetensorsCheckpoint;
import dev.dpn.loader.TensorInfo;
import dev.dpn.loader.config.LlavaConfig;
import dev.dpn.loader.config.TextConfig;
import dev.dpn.loader.tokenizer.TokenizerFiles;
import dev.dpn.loader.tokenizer.TokenizerSpec;
import dev.dpn.tensors.Tensor;
import dev.dpn.tensors.DType;
import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * Writes the language model of a llava-hf checkpoint as a GGUF file that llama.cpp runs as architecture
 * {@code llama}: its hyperparameters, the SentencePiece vocabulary, and the decoder's tensors under GGML's names,
 * streamed from the mapped checkpoint one tensor at a time.
 *
 * <p>Matrices keep their stored type, bytes copied verbatim (F16, BF16, F32, or Q8_0/Q4_0 blocks, which already
 * have GGML's layout); norm weights become F32. The rows of q_proj and k_proj are reordered as
 * convert_hf_to_gguf.py does: transformers rotates the two halves of each head ({@code rotate_half}), llama.cpp
 * rotates adjacent pairs, so row {@code j·d/2 + i} of a head becomes row {@code 2i + j}.
 */
public final class LlamaGgufExport {
    /** What was written. */
    public record Summary(int tensors, long bytes, int vocabulary, DType matrixType) {
    }

    /** A GGUF tensor and the checkpoint tensor it comes from, with its rows reordered for RoPE or not. */
    private record Entry(String gguf, String source, TensorInfo info, int ropeHeads) {
    }

    private static final String PREFIX_4X = "language_model.model.";
    private static final String PREFIX_5X = "model.language_model.";

    private final Path folder;
    private final TextConfig text;
    private final SafetensorsCheckpoint checkpoint;

    private LlamaGgufExport(Path folder, TextConfig text, SafetensorsCheckpoint checkpoint) {
        this.folder = folder;
        this.text = text;
        this.checkpoint = checkpoint;
    }

    /**
     * Exports the model in {@code folder} to {@code out}.
     *
     * @throws IllegalArgumentException if a decoder tensor is missing or mis-shaped, or the tokenizer does not fit
     * @throws IOException if a file cannot be read or written
     */
    public static Summary export(Path folder, Path out) throws IOException {
        LlavaConfig config = LlavaConfig.read(folder.resolve("config.json"));
        TextConfig text = config.textConfig();
        TokenizerSpec tokenizer = TokenizerFiles.read(folder);
        GgufVocabulary vocabulary = GgufVocabulary.of(tokenizer, text.vocabSize());
        try (SafetensorsCheckpoint checkpoint = SafetensorsCheckpoint.open(folder)) {
            LlamaGgufExport export = new LlamaGgufExport(folder, text, checkpoint);
            List<Entry> entries = export.entries();
            DType matrixType = entries.stream().filter(e -> e.gguf().equals("blk.0.attn_q.weight")).findFirst()
                    .orElseThrow().info().dtype();
            GgufMetadata metadata = metadata(folder, text, tokenizer, vocabulary, matrixType);
            long bytes = 0;
            try (GgufWriter writer = GgufWriter.create(out, metadata, entries.stream().map(Entry::info).toList())) {
                for (Entry entry : entries) {
                    export.write(writer, entry);
                    bytes += entry.info().byteSize();
                }
            }
            return new Summary(entries.size(), bytes, vocabulary.pieces().size(), matrixType);
        }
    }

    private static GgufMetadata metadata(Path folder, TextConfig text, TokenizerSpec spec, GgufVocabulary vocabulary,
            DType matrices) {
        return new GgufMetadata()
                .putString("general.architecture", "llama")
                .putString("general.name", folder.toAbsolutePath().normalize().getFileName().toString())
                .putUInt32("general.file_type", fileType(matrices))
                .putUInt32("llama.vocab_size", text.vocabSize())
                .putUInt32("llama.context_length", text.maxPositionEmbeddings())
                .putUInt32("llama.embedding_length", text.hiddenSize())
                .putUInt32("llama.block_count", text.numHiddenLayers())
                .putUInt32("llama.feed_forward_length", text.intermediateSize())
                .putUInt32("llama.rope.dimension_count", text.headDim())
                .putUInt32("llama.attention.head_count", text.numAttentionHeads())
                .putUInt32("llama.attention.head_count_kv", text.numKeyValueHeads())
                .putFloat32("llama.attention.layer_norm_rms_epsilon", (float) text.rmsNormEps())
                .putFloat32("llama.rope.freq_base", (float) text.ropeTheta())
                .putString("tokenizer.ggml.model", "llama")
                .putStrings("tokenizer.ggml.tokens", vocabulary.pieces())
                .putFloats("tokenizer.ggml.scores", vocabulary.scores())
                .putInts("tokenizer.ggml.token_type", vocabulary.tokenTypes())
                .putUInt32("tokenizer.ggml.bos_token_id", spec.bosId())
                .putUInt32("tokenizer.ggml.eos_token_id", spec.eosId())
                .putUInt32("tokenizer.ggml.unknown_token_id", spec.unkId())
                .putBool("tokenizer.ggml.add_bos_token", true)
                .putBool("tokenizer.ggml.add_eos_token", false);
    }

    /** llama_ftype: what most weights are stored as. */
    private static int fileType(DType matrices) {
        return switch (matrices) {
            case F32 -> 0;
            case F16 -> 1;
            case Q4_0 -> 2;
            case Q8_0 -> 7;
            case BF16 -> 32;
            default -> throw new IllegalArgumentException("decoder weights of type " + matrices
                    + " have no GGUF file type");
        };
    }

    private List<Entry> entries() {
        long d = text.hiddenSize();
        long ffn = text.intermediateSize();
        long kv = text.kvDim();
        List<Entry> entries = new ArrayList<>();
        entries.add(matrix("token_embd.weight", "embed_tokens.weight", text.vocabSize(), d));
        for (int i = 0; i < text.numHiddenLayers(); i++) {
            String blk = "blk." + i + ".";
            String layer = "layers." + i + ".";
            entries.add(norm(blk + "attn_norm.weight", layer + "input_layernorm.weight", d));
            entries.add(rope(blk + "attn_q.weight", layer + "self_attn.q_proj.weight", text.numAttentionHeads(), d));
            entries.add(rope(blk + "attn_k.weight", layer + "self_attn.k_proj.weight", text.numKeyValueHeads(), kv));
            entries.add(matrix(blk + "attn_v.weight", layer + "self_attn.v_proj.weight", kv, d));
            entries.add(matrix(blk + "attn_output.weight", layer + "self_attn.o_proj.weight", d, d));
            entries.add(norm(blk + "ffn_norm.weight", layer + "post_attention_layernorm.weight", d));
            entries.add(matrix(blk + "ffn_gate.weight", layer + "mlp.gate_proj.weight", ffn, d));
            entries.add(matrix(blk + "ffn_up.weight", layer + "mlp.up_proj.weight", ffn, d));
            entries.add(matrix(blk + "ffn_down.weight", layer + "mlp.down_proj.weight", d, ffn));
        }
        entries.add(norm("output_norm.weight", "norm.weight", d));
        // Without an LM head (tied embeddings) llama.cpp reads token_embd for the output too.
        for (String head : List.of("language_model.lm_head.weight", "lm_head.weight")) {
            if (checkpoint.contains(head)) {
                entries.add(checked("output.weight", head, 0, text.vocabSize(), d));
            }
        }
        return entries;
    }

    private Entry matrix(String gguf, String decoderName, long... shape) {
        return checked(gguf, stored(decoderName), 0, shape);
    }

    private Entry rope(String gguf, String decoderName, int heads, long rows) {
        return checked(gguf, stored(decoderName), heads, rows, text.hiddenSize());
    }

    private Entry norm(String gguf, String decoderName, long size) {
        Entry entry = checked(gguf, stored(decoderName), 0, size);
        return new Entry(gguf, entry.source(), new TensorInfo(gguf, DType.F32, size), 0);
    }

    private Entry checked(String gguf, String source, int ropeHeads, long... shape) {
        TensorInfo info = checkpoint.info(source);
        if (!Arrays.equals(info.shape(), shape)) {
            throw new IllegalArgumentException(folder + ": " + source + " has shape "
                    + Arrays.toString(info.shape()) + ", config.json says " + Arrays.toString(shape));
        }
        return new Entry(gguf, source, new TensorInfo(gguf, info.dtype(), shape), ropeHeads);
    }

    /** The checkpoint's name for a decoder tensor, in transformers 4.x or 5.x layout. */
    private String stored(String decoderName) {
        for (String prefix : List.of(PREFIX_4X, PREFIX_5X)) {
            if (checkpoint.contains(prefix + decoderName)) {
                return prefix + decoderName;
            }
        }
        throw new IllegalArgumentException(folder + ": the checkpoint has no " + PREFIX_4X + decoderName);
    }

    private void write(GgufWriter writer, Entry entry) throws IOException {
        Tensor source = checkpoint.tensor(entry.source());
        if (entry.info().dtype() != source.dtype()) {
            MemorySegment f32 = MemorySegment.ofArray(new byte[Math.toIntExact(source.size() * Float.BYTES)]);
            for (long i = 0; i < source.size(); i++) {
                f32.set(DType.FLOAT, i * Float.BYTES, source.getFloat(i));
            }
            writer.write(entry.gguf(), f32);
        } else if (entry.ropeHeads() > 0) {
            int headRows = Math.toIntExact(source.rowCount() / entry.ropeHeads());
            for (int row = 0; row < source.rowCount(); row++) {
                int head = row / headRows, within = row % headRows;
                int from = head * headRows + within % 2 * (headRows / 2) + within / 2;
                writer.write(entry.gguf(), source.row(from).data());
            }
        } else {
            writer.write(entry.gguf(), source.data());
        }
    }
}
