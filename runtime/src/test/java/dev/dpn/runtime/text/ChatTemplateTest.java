package dev.dpn.runtime.text;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.util.List;
import org.junit.jupiter.api.Test;

class ChatTemplateTest {

    @Test
    void llavaV1MatchesTheSpecification() {
        assertEquals("A chat between a curious human and an artificial intelligence assistant. The assistant gives"
                        + " helpful, detailed, and polite answers to the human's questions. USER: <image>\n"
                        + "What is shown in this image? ASSISTANT:",
                ChatTemplate.LLAVA_V1.prompt("What is shown in this image?", false));
    }

    @Test
    void dpnModelsReadTheRouterTokenRightAfterTheQuestion() {
        assertEquals("USER: <image>\nWhat color is the big shape?<ROUTER> ASSISTANT:",
                ChatTemplate.SHORT.prompt("What color is the big shape?", true));
    }

    @Test
    void laterTurnsCarryNeitherImageNorRouter() {
        var earlier = List.of(new ChatTemplate.Turn("What color is it?", "red"));
        assertEquals("USER: <image>\nWhat color is it?<ROUTER> ASSISTANT: red</s>USER: And the background?"
                + " ASSISTANT:", ChatTemplate.SHORT.conversation(earlier, "And the background?", true));
    }

    @Test
    void templatesAreNamedAsOnTheCommandLine() {
        assertEquals(ChatTemplate.LLAVA_V1, ChatTemplate.named("llava_v1"));
        assertEquals(ChatTemplate.SHORT, ChatTemplate.named("SHORT"));
        assertThrows(IllegalArgumentException.class, () -> ChatTemplate.named("chatml"));
    }
}
