#!/usr/bin/env python3
"""gen_sentiment_lexicon.py — compile the sentiment lexicon data files into C.

Reads src/analytics/lexicon/{vader_lexicon.txt, afinn165_financialmarketnews.tsv,
finance_lexicon.tsv, modifiers.tsv} and writes src/analytics/sentiment_lexicon.c, the
table the scorer (src/analytics/sentiment.c) indexes at first use.  The generated file
is checked in, so building stockpipe needs no Python and the installed binary carries
its lexicon; run this script after editing a data file and commit both.

Merge order (later wins): VADER's lexicon < AFINN-165 financial-market-news words that
VADER lacks (scaled x0.8 from AFINN's -5..5 to VADER's -4..4) < finance_lexicon.tsv
< modifiers.tsv (a modifier's own valence is set to 0).  Terms are normalised the
way the scorer tokenises text: lower case, hyphens become word breaks, and only
terms made of [a-z0-9'] words are kept (VADER's emoticons are dropped).

Usage: python3 scripts/gen_sentiment_lexicon.py [--check]
  --check  exit 1 if the checked-in C file differs from what would be generated.
"""
import os
import re
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
LEXDIR = os.path.join(ROOT, "src", "analytics", "lexicon")
OUT = os.path.join(ROOT, "src", "analytics", "sentiment_lexicon.c")

WORD = re.compile(r"^[a-z0-9']+$")
MAX_TERM_BYTES = 63  # must match SP_SENTIMENT_TERM_MAX - 1 in sentiment_lexicon.h
MAX_PHRASE_WORDS = 5  # must match SP_SENTIMENT_PHRASE_MAX
AFINN_SCALE = 0.8
UNUSABLE = f"at most {MAX_PHRASE_WORDS} words of a-z, 0-9 and ', at most {MAX_TERM_BYTES} bytes"
ROLES = {"valence": "SP_LEX_VALENCE", "negate": "SP_LEX_NEGATE", "boost": "SP_LEX_BOOST",
         "contrast": "SP_LEX_CONTRAST", "neutral": "SP_LEX_NEUTRAL"}
# Flags: modifiers.tsv "filler" and "invert" lines, finance_lexicon.tsv third column "move".
FLAGS = {"filler": 1, "invert": 2, "move": 4}
FLAG_NAMES = {1: "SP_LEX_FILLER", 2: "SP_LEX_INVERT", 4: "SP_LEX_MOVE"}
BRACKET = re.compile(r"\[([^\[\]]*)\]")


def expand(variant):
    """Expand "[a|b|]" groups (an empty alternative makes the group optional)."""
    m = BRACKET.search(variant)
    if m is None:
        return [variant]
    out = []
    for alt in m.group(1).split("|"):
        out.extend(expand(variant[:m.start()] + alt + variant[m.end():]))
    return out


def variants(field):
    """The terms of a `a|b [c|d]` field: top-level `|` separates variants outside brackets."""
    parts, depth, cur = [], 0, ""
    for ch in field:
        if ch == "[":
            depth += 1
        elif ch == "]":
            depth -= 1
        if ch == "|" and depth == 0:
            parts.append(cur)
            cur = ""
        else:
            cur += ch
    parts.append(cur)
    return [t for p in parts for t in expand(p)]


def normalise(term):
    """Lower-case, split hyphens, collapse spaces; None if the scorer could never match it."""
    words = term.lower().replace("-", " ").split()
    if not words or len(words) > MAX_PHRASE_WORDS or not all(WORD.match(w) for w in words):
        return None
    text = " ".join(words)
    return text if len(text) <= MAX_TERM_BYTES else None


def data_lines(name):
    with open(os.path.join(LEXDIR, name), encoding="utf-8") as f:
        for lineno, line in enumerate(f, 1):
            line = line.rstrip("\n")
            if line.strip() and not line.startswith("#"):
                yield lineno, line


def main():
    entries = {}  # term -> [role, valence, boost, source, flags]

    for _, line in data_lines("vader_lexicon.txt"):
        term, valence = line.split("\t")[:2]
        t = normalise(term)
        if t is not None:
            entries[t] = ["valence", float(valence), 0.0, "vader", 0]

    for _, line in data_lines("afinn165_financialmarketnews.tsv"):
        term, valence = line.split("\t")
        t = normalise(term)
        if t is not None and t not in entries:
            entries[t] = ["valence", round(float(valence) * AFINN_SCALE, 3), 0.0, "afinn", 0]

    seen = {}
    for lineno, line in data_lines("finance_lexicon.tsv"):
        fields = line.split("\t")
        if len(fields) not in (2, 3) or (len(fields) == 3 and fields[2] != "move"):
            sys.exit(f"finance_lexicon.tsv:{lineno}: expected term<TAB>valence[<TAB>move]")
        valence = float(fields[1])
        flags = FLAGS["move"] if len(fields) == 3 else 0
        for variant in variants(fields[0]):
            t = normalise(variant)
            if t is None:
                sys.exit(f"finance_lexicon.tsv:{lineno}: unusable term {variant!r} ({UNUSABLE})")
            if t in seen:
                sys.exit(f"finance_lexicon.tsv:{lineno}: {t!r} already on line {seen[t]}")
            seen[t] = lineno
            entries[t] = ["valence", valence, 0.0, "finance", flags]

    seen = {}
    for lineno, line in data_lines("modifiers.tsv"):
        fields = line.split("\t")
        if len(fields) not in (2, 3) or fields[1] not in list(ROLES) + list(FLAGS) or fields[1] in ("valence", "move"):
            sys.exit(f"modifiers.tsv:{lineno}: expected term<TAB>negate|boost|contrast|neutral|filler|invert[<TAB>value]")
        boost = float(fields[2]) if len(fields) == 3 else 0.0
        if (fields[1] == "boost") != (len(fields) == 3):
            sys.exit(f"modifiers.tsv:{lineno}: only boost takes a value")
        for variant in variants(fields[0]):
            t = normalise(variant)
            if t is None:
                sys.exit(f"modifiers.tsv:{lineno}: unusable term {variant!r} ({UNUSABLE})")
            if (t, fields[1] in FLAGS) in seen:
                sys.exit(f"modifiers.tsv:{lineno}: {t!r} already on line {seen[(t, fields[1] in FLAGS)]}")
            seen[(t, fields[1] in FLAGS)] = lineno
            if fields[1] in FLAGS:  # a flag keeps the term's valence and role
                entries.setdefault(t, ["valence", 0.0, 0.0, "modifiers", 0])[4] |= FLAGS[fields[1]]
            else:
                flags = entries[t][4] if t in entries else 0
                entries[t] = [fields[1], 0.0, boost, "modifiers", flags]

    # Longest phrase starting with each first word, so the scorer only tries phrase
    # lookups at words that can start one.  A first word with no entry of its own
    # gets a placeholder (role valence, value 0).
    phrase_max = {}
    for t in entries:
        words = t.split(" ")
        if len(words) > 1:
            phrase_max[words[0]] = max(phrase_max.get(words[0], 1), len(words))
    for w in phrase_max:
        if w not in entries:
            entries[w] = ["valence", 0.0, 0.0, "phrase-start", 0]

    # Terms go into one string pool and entries hold offsets into it: a table of
    # pointers would need a relocation per entry at every start (issue 7).
    rows, pool, offset = [], [], 0
    for t in sorted(entries):
        role, valence, boost, _, flags = entries[t]
        flag_text = "|".join(FLAG_NAMES[f] for f in sorted(FLAG_NAMES) if flags & f) or "0"
        rows.append('  {%d, %d, %d, %d, %s, %s, %.3ff, %.3ff}, /* %s */' % (
            offset, len(t), t.count(" ") + 1, phrase_max.get(t, 1), ROLES[role], flag_text, valence, boost, t))
        pool.append('  "%s\\0"' % t)
        offset += len(t.encode("utf-8")) + 1

    out = [
        "/*",
        " * sentiment_lexicon.c — GENERATED by scripts/gen_sentiment_lexicon.py from",
        " * src/analytics/lexicon/ (see its README.md for provenance and licences).",
        " * Do not edit: change the data files and re-run the script.",
        " */",
        '#include "analytics/sentiment_lexicon.h"',
        "",
        "const char sp_sentiment_lexicon_terms[] =",
        *pool,
        "  ;",
        "",
        "const sp_sentiment_lexicon_entry sp_sentiment_lexicon[] = {",
        *rows,
        "};",
        "",
        "const size_t sp_sentiment_lexicon_count = sizeof sp_sentiment_lexicon / sizeof sp_sentiment_lexicon[0];",
        "",
    ]
    text = "\n".join(out)
    if "--check" in sys.argv[1:]:
        with open(OUT, encoding="utf-8") as f:
            if f.read() != text:
                sys.exit(f"{OUT} is stale: run scripts/gen_sentiment_lexicon.py")
        return
    with open(OUT, "w", encoding="utf-8") as f:
        f.write(text)
    counts = {}
    for role, _, _, source, _ in entries.values():
        counts[source] = counts.get(source, 0) + 1
    print(f"wrote {OUT}: {len(rows)} entries " + ", ".join(f"{k} {v}" for k, v in sorted(counts.items())))


if __name__ == "__main__":
    main()
