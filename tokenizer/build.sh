#!/usr/bin/env bash
# Rebuilds tokenizer/assets and tokenizer/golden from npm llama-tokenizer-js@1.2.2, then checks them with
# Hugging Face tokenizers. Downloads go to a temporary folder that is removed at the end: nothing is kept.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
python=${PYTHON:-/usr/bin/python3}  # needs Debian's python3-sentencepiece
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

(cd "$work" && npm pack --silent llama-tokenizer-js@1.2.2 >/dev/null && tar xzf llama-tokenizer-js-1.2.2.tgz)
echo "34a7b9f7579d40486444590c37cba6564ef40c3dd98ecdfc2f7c886ae72c898d  $work/package/llama-tokenizer.js" \
  | sha256sum --check --quiet

"$python" "$here/build_assets.py" "$work/package/llama-tokenizer.js" "$here/assets"
"$python" "$here/make_corpus.py" "$here/assets" "$here/golden"

npm install --silent --no-save --prefix "$work" @anush008/tokenizers@0.6.0 >/dev/null
node "$here/check_with_hf_tokenizers.mjs" "$work" "$here/assets" "$here/golden"
