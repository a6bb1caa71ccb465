#!/usr/bin/env bash
# test_sentiment_lexicon.sh — the compiled-in sentiment lexicon (src/analytics/
# sentiment_lexicon.c) is what scripts/gen_sentiment_lexicon.py makes of the data files
# in src/analytics/lexicon/, so a data edit without regeneration fails CI; and the
# generator rejects a malformed data file with its file:line.
set -euo pipefail
src="${STOCKPIPE_SOURCE_DIR:?}"
python3 "$src/scripts/gen_sentiment_lexicon.py" --check

# A copy of the tree with a broken finance lexicon line must be refused, by name.
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/scripts" "$work/src/analytics"
cp "$src/scripts/gen_sentiment_lexicon.py" "$work/scripts/"
cp -r "$src/src/analytics/lexicon" "$work/src/analytics/"
printf 'beat\t2.0\n' >> "$work/src/analytics/lexicon/finance_lexicon.tsv"
if out="$(python3 "$work/scripts/gen_sentiment_lexicon.py" 2>&1)"; then
  echo "FAIL: a term listed twice was accepted"; exit 1
fi
grep -q "finance_lexicon.tsv:.*'beat' already on line" <<<"$out" || { echo "FAIL: $out"; exit 1; }
echo "1 passed, 0 failed"
