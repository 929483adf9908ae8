package dev.dpn.runtime.text;

import java.util.List;
import java.util.Locale;

/**
 * LLaVA's conversation formats (LLaVA's {@code conv_vicuna_v1}: turns joined as
 * {@code "USER: q ASSISTANT: a</s>"}). The first user turn starts with the {@code <image>} placeholder, whose
 * position the visual tokens take; in DPN models the first question is followed directly by {@code <ROUTER>},
 * whose hidden state the pooling routers read.
 */
public enum ChatTemplate {
    /** LLaVA-1.5's own template, with its system prompt. */
    LLAVA_V1("A chat between a curious human and an artificial intelligence assistant. The assistant gives helpful,"
            + " detailed, and polite answers to the human's questions. "),
    /** The short form on the llava-hf model cards: no system prompt. */
    SHORT("");

    public static final String IMAGE = "<image>";
    public static final String ROUTER = "<ROUTER>";
    private static final String END_OF_TURN = "</s>";

    private final String system;

    ChatTemplate(String system) {
        this.system = system;
    }

    /** One question about the image, ready for the assistant's answer. */
    public String prompt(String question, boolean router) {
        return conversation(List.of(), question, router);
    }

    /**
     * A conversation about one image: earlier turns as (question, answer) pairs, then the new question.
     *
     * @param router whether to put {@code <ROUTER>} after the first question (models with pooling routers)
     */
    public String conversation(List<Turn> earlier, String question, boolean router) {
        StringBuilder text = new StringBuilder(system);
        boolean first = true;
        for (Turn turn : earlier) {
            text.append(user(turn.question(), first, router)).append(" ASSISTANT: ").append(turn.answer())
                    .append(END_OF_TURN);
            first = false;
        }
        return text.append(user(question, first, router)).append(" ASSISTANT:").toString();
    }

    private static String user(String question, boolean first, boolean router) {
        return first ? "USER: " + IMAGE + "\n" + question + (router ? ROUTER : "") : "USER: " + question;
    }

    /** The template named {@code name}: "llava_v1" or "short" (case-insensitive). */
    public static ChatTemplate named(String name) {
        return switch (name.toLowerCase(Locale.ROOT)) {
            case "llava_v1", "llava-v1" -> LLAVA_V1;
            case "short", "llava-hf" -> SHORT;
            default -> throw new IllegalArgumentException("unknown template '" + name + "' (llava_v1 or short)");
        };
    }

    /** One finished exchange of a conversation. */
    public record Turn(String question, String answer) {
    }
}
