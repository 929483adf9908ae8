package dev.dpn.cli;

import dev.dpn.runtime.DpnModel;
import dev.dpn.runtime.GenerateOptions;
import dev.dpn.runtime.Generation;
import dev.dpn.runtime.PoolingSpec;
import dev.dpn.runtime.TokenListener;
import dev.dpn.runtime.image.ResizeMode;
import dev.dpn.runtime.sampling.SamplingOptions;
import dev.dpn.runtime.text.ChatTemplate;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/**
 * The {@code dpn} command: answers a question about an image. Reached through {@link Launcher}, which guarantees a
 * JDK 25 with the Vector API module. Failures the user can fix (a missing file, a corrupt checkpoint) print one
 * line and exit with status 1; usage errors print the usage and exit with status 2.
 */
@Command(name = "dpn", mixinStandardHelpOptions = true, versionProvider = Dpn.Version.class, sortOptions = false,
        description = {"Answers a question about an image with a DPN-LLaVA model.",
                "Without --model it runs the tiny DPN-LLaVA model embedded in dpn.jar."},
        subcommands = {ChatCommand.class, EvalCommand.class, InspectCommand.class, RandomModelCommand.class,
                QuantizeCommand.class, GgufCommand.class, BenchCommand.class, CommandLine.HelpCommand.class})
public final class Dpn implements Callable<Integer> {
    @Mixin
    ModelOptions model;

    @Option(names = "--image", paramLabel = "FILE", description = "The image: PNG, JPEG, BMP, GIF or WebP.")
    Path image;

    @Option(names = "--prompt", paramLabel = "TEXT", description = "The question about the image.")
    String prompt;

    @Mixin
    GenerationOptions generation;

    @Option(names = "--stats", description = "After the answer, print routing choices, visual tokens per stage, "
            + "FLOPs and timings.")
    boolean stats;

    @Option(names = "--json", description = "Print the answer and its statistics as one JSON object instead.")
    boolean json;

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    public static void main(String[] args) {
        System.exit(commandLine().execute(args));
    }

    /** The configured command line, shared by {@link #main} and tests. */
    static CommandLine commandLine() {
        return new CommandLine(new Dpn()).setExecutionExceptionHandler((e, cmd, parsed) -> {
            cmd.getErr().println("dpn: " + message(e));
            return 1;
        });
    }

    /** What went wrong, in one line: the first message down the cause chain, else the exception's name. */
    static String message(Throwable e) {
        Throwable t = e;
        while (t.getMessage() == null && t.getCause() != null) {
            t = t.getCause();
        }
        return t.getMessage() != null ? t.getMessage() : t.toString();
    }

    @Override
    public Integer call() throws Exception {
        if (image == null || prompt == null) {
            throw new CommandLine.ParameterException(spec.commandLine(),
                    "Missing required options: --image and --prompt (or a subcommand)");
        }
        Prompts.requireValid(prompt);
        PrintWriter out = spec.commandLine().getOut();
        try (DpnModel dpn = model.load()) {
            GenerateOptions options = generation.toOptions(dpn);
            if (json) {
                Generation answer = dpn.generate(image, prompt, options);
                out.println(JsonReport.of(answer, dpn));
            } else {
                TokenListener stream = text -> {
                    out.print(text);
                    out.flush();
                };
                Generation answer = dpn.generate(image, prompt, options, stream);
                out.println();
                if (stats) {
                    StatsReport.print(answer.stats(), dpn.config(), out);
                }
            }
        }
        out.flush();
        return 0;
    }

    static final class Version implements CommandLine.IVersionProvider {
        @Override
        public String[] getVersion() {
            String v = Dpn.class.getPackage().getImplementationVersion();
            return new String[] {"dpn " + (v == null ? "(development build)" : v) + " on Java " + Runtime.version()};
        }
    }
}
