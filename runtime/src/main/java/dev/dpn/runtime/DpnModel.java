package dev.dpn.runtime;

import dev.dpn.kernels.Backend;
import dev.dpn.kernels.cuda.CudaBackend;
import dev.dpn.loader.JsonConfig;
import dev.dpn.loader.config.LlavaConfig;
import dev.dpn.loader.config.PoolingConfig;
import dev.dpn.loader.tokenizer.TokenizerFiles;
import dev.dpn.runtime.image.ClipImageProcessor;
import dev.dpn.runtime.model.LlavaModel;
import dev.dpn.runtime.model.LlavaSession;
import dev.dpn.runtime.model.PrefillTrace;
import dev.dpn.runtime.model.SessionOptions;
import dev.dpn.runtime.model.WeightLoading;
import dev.dpn.runtime.sampling.Sampler;
import dev.dpn.runtime.text.ChatTemplate;
import dev.dpn.runtime.text.StreamDecoder;
import dev.dpn.runtime.text.Tokenizer;
import dev.dpn.tensors.DType;
import dev.dpn.tensors.Tensor;
import dev.dpn.tensors.TensorArena;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Optional;
import java.util.OptionalInt;
import java.util.concurrent.locks.ReentrantLock;

/**
 * A DPN-LLaVA model ready to answer questions about images: the library's entry point.
 *
 * <pre>{@code
 * try (DpnModel model = DpnModel.load(Path.of("models/tiny-dpn-llava"))) {
 *     Generation answer = model.generate(Path.of("cat.png"), "What is shown?", GenerateOptions.defaults());
 *     System.out.println(answer.text() + "  " + answer.stats().flopsSaving());
 * }
 * }</pre>
 *
 * <p>Thread-safe: concurrent {@code generate} calls run one after another (each uses every thread of the backend),
 * never interleaved. {@link #close()} waits for a running request, then releases the mapped weights and all
 * off-heap memory.
 */
public final class DpnModel implements AutoCloseable {
    private final Path folder;
    private final Tokenizer tokenizer;
    private final Backend backend;
    private final LlavaModel model;
    /** The chat template text of the tokenizer files (a Jinja template), empty if they have none. */
    private final String chatTemplate;
    private final ReentrantLock lock = new ReentrantLock(true);
    private boolean closed;

    private DpnModel(Path folder, Tokenizer tokenizer, Backend backend, LlavaModel model, String chatTemplate) {
        this.folder = folder;
        this.tokenizer = tokenizer;
        this.backend = backend;
        this.model = model;
        this.chatTemplate = chatTemplate;
    }

    /** Loads {@code folder} to run on the CPU with every available core. */
    public static DpnModel load(Path folder) throws IOException {
        return load(folder, Runtime.getRuntime().availableProcessors());
    }

    /** Loads {@code folder} to run on the CPU with {@code threads} threads; see {@link #load(Path, Device, int)}. */
    public static DpnModel load(Path folder, int threads) throws IOException {
        return load(folder, Device.CPU, threads);
    }

    /**
     * Loads a llava-hf model folder: config.json, model.safetensors (or a sharded index) and the tokenizer files.
     *
     * @param device  where the kernels run
     * @param threads CPU threads for the kernels (on the CPU backend), at least 1
     * @throws IllegalArgumentException if the folder or thread count is unusable, or the tokenizer disagrees with
     *                                  the config
     * @throws dev.dpn.kernels.cuda.CudaUnavailableException for {@link Device#CUDA} on a machine without a usable
     *                                  GPU: "no CUDA driver found (libcuda.so.1)", "no CUDA device", ...
     * @throws IOException              if a file cannot be read
     */
    public static DpnModel load(Path folder, Device device, int threads) throws IOException {
        return load(folder, device, threads, WeightLoading.MAPPED);
    }

    /**
     * Loads a model folder as {@link #load(Path, Device, int)} does, quantizing its float linear layers on load to
     * {@code quantizeTo}, Q8_0 or Q4_0 (null: as stored), exactly as {@code dpn quantize} would store them. Loading
     * takes longer (every stored matrix is read once; seconds for a 7B model) and the quantized copies live in
     * memory; a checkpoint written by {@code dpn quantize} opens instantly instead.
     *
     * @throws IllegalArgumentException also if {@code quantizeTo} is neither null, Q8_0 nor Q4_0
     */
    public static DpnModel load(Path folder, Device device, int threads, DType quantizeTo) throws IOException {
        return load(folder, device, threads, new WeightLoading(quantizeTo, false));
    }

    /**
     * Loads a model folder as {@link #load(Path, Device, int)} does, its linear layers as {@code loading} says:
     * quantized on load, copied into memory, or read in place from the mapped checkpoint.
     */
    public static DpnModel load(Path folder, Device device, int threads, WeightLoading loading) throws IOException {
        if (threads < 1) {
            throw new IllegalArgumentException("threads must be at least 1, got " + threads);
        }
        if (!Files.isDirectory(folder)) {
            throw new IllegalArgumentException("model folder not found: " + folder);
        }
        if (!Files.isRegularFile(folder.resolve("config.json"))) {
            throw new IllegalArgumentException(folder + " is not a model folder: it has no config.json");
        }
        Tokenizer tokenizer = Tokenizer.of(TokenizerFiles.read(folder));
        String chatTemplate = readChatTemplate(folder);
        Backend backend = device.open(threads);
        try {
            LlavaModel model = LlavaModel.load(folder, backend, loading);
            try {
                requireImageToken(folder, tokenizer, model.config());
                return new DpnModel(folder, tokenizer, backend, model, chatTemplate);
            } catch (RuntimeException e) {
                model.close();
                throw e;
            }
        } catch (IOException | RuntimeException e) {
            backend.close();
            throw e;
        }
    }

    /** llava-hf keeps the template in chat_template.json, older folders in tokenizer_config.json. */
    private static String readChatTemplate(Path folder) throws IOException {
        for (String file : List.of("chat_template.json", "tokenizer_config.json")) {
            Path path = folder.resolve(file);
            if (Files.isRegularFile(path)) {
                JsonConfig json = JsonConfig.read(path);
                if (json.has("chat_template")) {
                    return json.getString("chat_template");
                }
            }
        }
        return "";
    }

    private static void requireImageToken(Path folder, Tokenizer tokenizer, LlavaConfig config) {
        OptionalInt image = tokenizer.specialIds().image();
        if (image.isEmpty() || image.getAsInt() != config.imageTokenIndex()) {
            throw new IllegalArgumentException(folder + ": config.json says image_token_index "
                    + config.imageTokenIndex() + ", but the tokenizer's <image> is "
                    + (image.isEmpty() ? "missing" : "id " + image.getAsInt()));
        }
    }

    /** Where the model runs: {@link Device#CPU} or {@link Device#CUDA} (what {@link Device#AUTO} chose). */
    public Device device() {
        return backend instanceof CudaBackend ? Device.CUDA : Device.CPU;
    }

    public Path folder() {
        return folder;
    }

    public LlavaConfig config() {
        return model.config();
    }

    public Tokenizer tokenizer() {
        return tokenizer;
    }

    /**
     * The conversation format the model expects: the short llava-hf form when its tokenizer_config.json has a chat
     * template without LLaVA-1.5's system prompt, else llava_v1.
     */
    public ChatTemplate defaultTemplate() {
        return chatTemplate.contains("A chat between") || chatTemplate.isEmpty() ? ChatTemplate.LLAVA_V1
                : ChatTemplate.SHORT;
    }

    /** Answers {@code question} about {@code image}. */
    public Generation generate(Path image, String question, GenerateOptions options) {
        return generate(image, question, options, TokenListener.NONE);
    }

    /**
     * Answers {@code question} about {@code image}, handing the text to {@code listener} as it is generated.
     *
     * @throws dev.dpn.runtime.image.ImageFileException if the image cannot be read
     * @throws IllegalArgumentException if the prompt does not fit the context or the options do not fit the model
     */
    public Generation generate(Path image, String question, GenerateOptions options, TokenListener listener) {
        return generate(image, List.of(), question, options, listener);
    }

    /**
     * Answers the next question of a conversation about {@code image}: the earlier turns are part of the prompt
     * (the whole conversation is prefilled again, so pooling decisions see all of it).
     */
    public Generation generate(Path image, List<ChatTemplate.Turn> earlier, String question, GenerateOptions options,
            TokenListener listener) {
        lock.lock();
        try {
            if (closed) {
                throw new IllegalStateException("the model is closed");
            }
            return run(image, options.template().conversation(earlier, question, readsRouterToken()), options,
                    listener);
        } finally {
            lock.unlock();
        }
    }

    private Generation run(Path image, String prompt, GenerateOptions options, TokenListener listener) {
        LlavaConfig config = model.config();
        Optional<PoolingConfig> pooling = options.pooling().map(spec -> spec.resolve(config));
        long start = System.nanoTime();
        try (TensorArena arena = new TensorArena()) {
            Tensor pixels = new ClipImageProcessor(config.visionConfig().imageSize(), options.imageMode())
                    .preprocess(image, arena);
            long imageNanos = System.nanoTime() - start;

            int[] ids = tokenizer.encode(prompt, true);
            int maxTokens = fitToContext(ids.length - 1 + model.visualGrid(pooling.orElse(config.pooling())).tokens(),
                    options.maxTokens());
            SessionOptions sessionOptions = new SessionOptions(pooling, tokenizer.specialIds().router(), maxTokens,
                    options.sampling().seed(), options.kvCacheType());
            try (LlavaSession session = model.newSession(sessionOptions)) {
                return decode(session, ids, pixels, options, maxTokens, listener, start, imageNanos);
            }
        }
    }

    private Generation decode(LlavaSession session, int[] ids, Tensor pixels, GenerateOptions options, int maxTokens,
            TokenListener listener, long start, long imageNanos) {
        int vocabulary = Math.min(tokenizer.vocabularySize(), config().textConfig().vocabSize());
        Sampler sampler = new Sampler(options.sampling(), vocabulary);
        StreamDecoder text = tokenizer.streamDecoder();
        StringBuilder answer = new StringBuilder();
        float[] row = new float[vocabulary];
        int[] tokens = new int[maxTokens];
        int eos = tokenizer.specialIds().eos();

        // Each step's time includes reading its logits: a device backend finishes its queued kernels there.
        long prefillStart = System.nanoTime();
        Tensor logits = session.prefill(ids, pixels);
        backend.download(logits.rows(0, vocabulary), row);
        long prefillNanos = System.nanoTime() - prefillStart;
        long ttftNanos = 0, decodeNanos = 0, decodeCacheBytes = 0;
        int count = 0, decodeSteps = 0;
        while (true) {
            int token = sampler.sample(row);
            if (count == 0) {
                ttftNanos = System.nanoTime() - start;
            }
            tokens[count++] = token;
            if (token == eos) {
                break;
            }
            emit(text.next(token), answer, listener);
            if (count == maxTokens) {
                break;
            }
            long stepStart = System.nanoTime();
            logits = session.decode(token);
            backend.download(logits.rows(0, vocabulary), row);
            decodeNanos += System.nanoTime() - stepStart;
            decodeSteps++;
            decodeCacheBytes += session.cacheBytes();
        }
        emit(text.finish(), answer, listener);
        PrefillTrace trace = session.trace();
        var textConfig = config().textConfig();
        RequestStats stats = new RequestStats(trace.decisions(),
                RequestStats.stages(trace.layerTokens(), trace.layerGrids()), ids.length, count,
                PrefillFlops.decoder(textConfig, trace.layerTokens()),
                PrefillFlops.decoderUnpooled(textConfig, trace.layerTokens().getFirst()),
                PrefillFlops.visionAndProjector(config(), trace.visualGrid().tokens()), imageNanos,
                trace.embedNanos(), trace.visionTowerNanos(), trace.projectorNanos(), prefillNanos, ttftNanos,
                decodeNanos, decodeSteps, decodeCacheBytes);
        return new Generation(answer.toString(), Arrays.copyOf(tokens, count), stats);
    }

    private static void emit(String piece, StringBuilder answer, TokenListener listener) {
        if (!piece.isEmpty()) {
            answer.append(piece);
            listener.onText(piece);
        }
    }

    /** Whether prompts carry {@code <ROUTER>}: the model was trained with it, whatever pooling a request runs. */
    private boolean readsRouterToken() {
        return config().pooling().useSpecialToken() && tokenizer.specialIds().router().isPresent();
    }

    /** How many tokens may be generated after a prompt of {@code promptLength}; rejects a prompt too long. */
    private int fitToContext(int promptLength, int maxTokens) {
        int context = config().textConfig().maxPositionEmbeddings();
        if (promptLength >= context) {
            throw new IllegalArgumentException("the prompt is " + promptLength + " tokens long (image included), "
                    + "but the model's context holds " + context + " (max_position_embeddings)");
        }
        return Math.min(maxTokens, context - promptLength);
    }

    @Override
    public void close() {
        lock.lock();
        try {
            if (!closed) {
                closed = true;
                model.close();
                backend.close();
            }
        } finally {
            lock.unlock();
        }
    }
}
