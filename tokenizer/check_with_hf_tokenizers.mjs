// Checks tokenizer.json and the goldens with Hugging Face's own tokenizers library (Rust, through the npm
// package @anush008/tokenizers, which build.sh installs into a temporary folder NPM_DIR).
// Usage: node check_with_hf_tokenizers.mjs NPM_DIR ASSETS_DIR GOLDEN_DIR
import { createRequire } from 'node:module';
import { readFileSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';
import { join } from 'node:path';

const [npmDir, assets, golden] = process.argv.slice(2);
const { Tokenizer } = createRequire(join(npmDir, 'package.json'))('@anush008/tokenizers');
const tokenizer = Tokenizer.fromFile(join(assets, 'tokenizer.json'));

function jsonLines(bytes) {
  return bytes.toString('utf-8').split('\n').filter(line => line.length > 0).map(line => JSON.parse(line));
}

const same = (a, b) => JSON.stringify(a) === JSON.stringify(b);
let failures = 0;
function fail(message) {
  if (failures++ < 10) console.error(message);
}

// HF always cuts out added tokens, so it must give added_ids where the text has one and ids elsewhere.
const texts = jsonLines(gunzipSync(readFileSync(join(golden, 'encode.jsonl.gz'))));
for (const record of texts) {
  const expected = record.added_ids ?? record.ids;
  const ids = (await tokenizer.encode(record.text, null, { addSpecialTokens: false })).getIds();
  if (!same(ids, expected)) {
    fail(`encode ${JSON.stringify(record.text)}: ${JSON.stringify(ids)}, golden ${JSON.stringify(expected)}`);
  }
}

const sequences = jsonLines(readFileSync(join(golden, 'decode.jsonl')));
for (const record of sequences) {
  const text = await tokenizer.decode(record.ids, true);
  if (text !== record.tokenizer_json) {
    const expected = JSON.stringify(record.tokenizer_json);
    fail(`decode ${JSON.stringify(record.ids)}: ${JSON.stringify(text)}, golden ${expected}`);
  }
}

console.log(`HF tokenizers: ${texts.length + sequences.length - failures} passed, ${failures} failed`);
process.exit(failures === 0 ? 0 : 1);
