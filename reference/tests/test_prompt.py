import io
import tempfile
import unittest
from pathlib import Path

from dpn_ref.prompt import (LLAVA_V1_SYSTEM, SentencePieceTokenizer, as_tokenizer, build_prompt, encode_prompt,
                            training_example)


class CharTokenizer:
    """BOS then one id per character: enough to see where pieces are cut and joined."""

    def encode(self, text):
        return [1] + [ord(c) for c in text]

    def decode(self, ids):
        return "".join(chr(i) for i in ids if i > 2)

    def token_to_id(self, token):
        return None


class TemplateTest(unittest.TestCase):
    def test_llava_v1_with_router_token(self):
        self.assertEqual(build_prompt("What is it?", router=True),
                         LLAVA_V1_SYSTEM + " USER: <image>\nWhat is it?<ROUTER> ASSISTANT:")
        self.assertTrue(LLAVA_V1_SYSTEM.startswith("A chat between a curious human"))

    def test_llava_hf_short_template(self):
        self.assertEqual(build_prompt("Q?", template="llava_hf"), "USER: <image>\nQ? ASSISTANT:")


class SpliceTest(unittest.TestCase):
    def test_image_placeholder_between_separately_tokenized_pieces(self):
        ids = encode_prompt(CharTokenizer(), "ab<image>\ncd", image_token_index=32000)
        self.assertEqual(ids, [1, ord("a"), ord("b"), 32000, ord("\n"), ord("c"), ord("d")])

    def test_one_image_per_prompt(self):
        with self.assertRaisesRegex(ValueError, "2 <image> markers"):
            encode_prompt(CharTokenizer(), "<image><image>", 32000)

    def test_training_example_labels_only_the_answer(self):
        ids, labels = training_example(CharTokenizer(), "q", "ok", image_token_index=32000, template="llava_hf")
        prompt_ids = encode_prompt(CharTokenizer(), "USER: <image>\nq ASSISTANT:", 32000)
        self.assertEqual(ids, prompt_ids + [ord("o"), ord("k"), 2])
        self.assertEqual(labels, [-100] * len(prompt_ids) + [ord("o"), ord("k"), 2])

    def test_tokenizer_objects_need_the_three_methods(self):
        with self.assertRaisesRegex(TypeError, "lacks token_to_id"):
            as_tokenizer(object.__new__(type("Half", (), {"encode": len, "decode": len})))


class SentencePieceTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        import sentencepiece

        cls.temp = tempfile.TemporaryDirectory()
        model = io.BytesIO()
        lines = ["what is shown in this image", "a cat sits on the mat", "the assistant answers the human"] * 20
        # Llama's normaliser settings: text kept as is, whitespace included, and a "▁" in front.
        sentencepiece.SentencePieceTrainer.train(sentence_iterator=iter(lines), model_writer=model, vocab_size=300,
                                                 model_type="bpe", byte_fallback=True, minloglevel=2,
                                                 normalization_rule_name="identity", remove_extra_whitespaces=False)
        cls.path = Path(cls.temp.name) / "tokenizer.model"
        cls.path.write_bytes(model.getvalue())

    @classmethod
    def tearDownClass(cls):
        cls.temp.cleanup()

    def test_added_tokens_are_matched_whole(self):
        tokenizer = as_tokenizer(self.path, {"<image>": 1000, "<ROUTER>": 1002})
        self.assertIsInstance(tokenizer, SentencePieceTokenizer)
        self.assertEqual(tokenizer.token_to_id("<ROUTER>"), 1002)
        self.assertIsNone(tokenizer.token_to_id("<never>"))
        ids = encode_prompt(tokenizer, build_prompt("what is shown", template="llava_hf", router=True), 1000)
        self.assertEqual(ids[0], tokenizer.processor.bos_id())
        self.assertEqual((ids.count(1000), ids.count(1002)), (1, 1))
        self.assertEqual(tokenizer.decode(ids[1:]), "USER: <image>\nwhat is shown<ROUTER> ASSISTANT:")


if __name__ == "__main__":
    unittest.main()
