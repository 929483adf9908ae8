package dev.dpn.cli;

import dev.dpn.runtime.DpnModel;
import dev.dpn.runtime.GenerateOptions;
import dev.dpn.runtime.Generation;
import dev.dpn.runtime.text.ChatTemplate;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** {@code dpn chat}: a conversation about one image, a question a line. */
@Command(name = "chat", mixinStandardHelpOptions = true, sortOptions = false,
        description = {"Talks about one image: type a question, get the answer; /reset forgets the conversation, "
                + "/exit or end of input leaves."})
final class ChatCommand implements Callable<Integer> {
    @Mixin
    ModelOptions model;

    @Option(names = "--image", paramLabel = "FILE", required = true, description = "The image to talk about.")
    Path image;

    @Mixin
    GenerationOptions generation;

    @Spec
    CommandSpec spec;

    @Override
    public Integer call() throws Exception {
        if (!Files.isRegularFile(image)) {
            throw new IllegalArgumentException("no such image file: " + image);
        }
        PrintWriter out = spec.commandLine().getOut();
        BufferedReader in = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
        try (DpnModel dpn = model.load()) {
            GenerateOptions options = generation.toOptions(dpn);
            List<ChatTemplate.Turn> turns = new ArrayList<>();
            out.println("dpn chat about " + image + " (" + dpn.folder().getFileName() + "); /reset, /exit");
            while (true) {
                out.print("> ");
                out.flush();
                String line = in.readLine();
                if (line == null || line.strip().equals("/exit")) {
                    break;
                }
                String question = line.strip();
                if (question.equals("/reset")) {
                    turns.clear();
                    continue;
                }
                if (question.isEmpty()) {
                    continue;
                }
                Prompts.requireValid(question);
                Generation answer = dpn.generate(image, turns, question, options, text -> {
                    out.print(text);
                    out.flush();
                });
                out.println();
                turns.add(new ChatTemplate.Turn(question, answer.text().strip()));
            }
        }
        out.println();
        return 0;
    }
}
