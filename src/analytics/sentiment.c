/*
 * sentiment.c — the news sentiment scorer declared in sentiment.h.
 *
 * Pipeline per text: a tokenizer walks the bytes once and fills a small per-sentence
 * token array (lower-cased copy, flags, lexicon entry of the word); at a sentence end
 * (or when the array is full) the sentence is scored: multi-word phrases are merged
 * into units first (longest match), then each sentiment unit's valence is adjusted by
 * caps emphasis, the boosters and negations in the three units before it, and the
 * sentence's "but" weighting, and added to the text's running sums.  After the text,
 * "!"/"?" emphasis is applied and the sum normalised.  Everything lives on the stack;
 * the lexicon index is a static open-addressing hash table built once.
 */
#include "analytics/sentiment.h"

#include <math.h>
#include <pthread.h>
#include <string.h>

#include "analytics/sentiment_lexicon.h"

/* VADER's empirically derived constants (vaderSentiment.py). */
#define NEGATION_SCALAR (-0.74)
#define CAPS_INCREMENT 0.733
#define EXCLAMATION_INCREMENT 0.292
#define EXCLAMATION_MAX 4
#define QUESTION_INCREMENT 0.18
#define QUESTION_MAX_AMPLIFIER 0.96
#define NORMALISE_ALPHA 15.0
#define BUT_BEFORE_WEIGHT 0.5
#define BUT_AFTER_WEIGHT 1.5
#define LOOKBACK_UNITS 3

/* Most filler words a loose phrase match skips. */
#define LOOSE_FILLERS 3

/* A sentence longer than this many words is scored in pieces of this size. */
#define SENTENCE_TOKENS_MAX 64

/* Hash index over the compiled-in lexicon: power of two, at most half full. */
#define INDEX_SLOTS (1u << 15)

struct sp_sentiment_model {
  const sp_sentiment_lexicon_entry *entries;
  size_t count;
  const uint32_t *slots; /* entry index + 1, 0 = empty */
  uint32_t mask;
};

enum token_flag {
  TOKEN_CAPS = 1,         /* two or more ASCII letters, none lower case */
  TOKEN_NEGATED_NT = 2,   /* ends in "n't": a negation */
  TOKEN_CLAUSE_START = 4, /* a comma, colon, dash, bracket... precedes it */
  TOKEN_TOO_LONG = 8,     /* longer than a lexicon term can be: never looked up */
  TOKEN_FILLER = 16       /* a number or a lexicon filler word (SP_LEX_FILLER) */
};

typedef struct token {
  char lower[SP_SENTIMENT_TERM_MAX]; /* lower-cased, possessive 's removed */
  uint8_t len;
  uint8_t flags;
  uint32_t hash; /* FNV-1a of lower[0..len) */
  const sp_sentiment_lexicon_entry *entry;
} token;

/* A word or a matched phrase, with what the rules made of it. */
typedef struct unit {
  const sp_sentiment_lexicon_entry *entry; /* NULL: not in the lexicon */
  uint8_t words;
  uint8_t flags; /* TOKEN_CAPS when every word is in capitals; TOKEN_CLAUSE_START of its
                  * first word; TOKEN_FILLER for a lone filler word */
  uint8_t negates;
  double valence;
} unit;

/* Running sums over a whole text (headline and summary). */
typedef struct text_sums {
  double sum;           /* adjusted valences */
  double subjective;    /* sum of |valence| + 1 over sentiment units */
  double neutral_words; /* words not in a sentiment unit */
  uint32_t words;
  uint32_t sentiment_terms;
  uint32_t exclamations;
  uint32_t questions;
} text_sums;

static uint32_t fnv1a_extend(uint32_t hash, const char *bytes, size_t len) {
  for (size_t i = 0; i < len; i++) {
    hash ^= (uint8_t)bytes[i];
    hash *= 16777619u;
  }
  return hash;
}

#define FNV1A_SEED 2166136261u

static uint32_t default_slots[INDEX_SLOTS];
static sp_sentiment_model default_model;
static pthread_once_t default_once = PTHREAD_ONCE_INIT;

static void default_model_build(void) {
  /* The generator keeps the table well under INDEX_SLOTS / 2 entries; the unit test
   * test_lexicon_index checks every entry is found, so an overfull table cannot
   * pass CI.  Insertion stops rather than loop if it ever were full. */
  size_t count = sp_sentiment_lexicon_count;
  if (count > INDEX_SLOTS / 2) count = INDEX_SLOTS / 2;
  for (size_t i = 0; i < count; i++) {
    const sp_sentiment_lexicon_entry *e = &sp_sentiment_lexicon[i];
    uint32_t slot = fnv1a_extend(FNV1A_SEED, sp_sentiment_term(e), e->len) & (INDEX_SLOTS - 1);
    while (default_slots[slot] != 0) slot = (slot + 1) & (INDEX_SLOTS - 1);
    default_slots[slot] = (uint32_t)i + 1;
  }
  default_model.entries = sp_sentiment_lexicon;
  default_model.count = count;
  default_model.slots = default_slots;
  default_model.mask = INDEX_SLOTS - 1;
}

const sp_sentiment_model *sp_sentiment_model_default(void) {
  pthread_once(&default_once, default_model_build);
  return &default_model;
}

static const sp_sentiment_lexicon_entry *model_find(const sp_sentiment_model *m, uint32_t hash,
                                                    const char *term, size_t len) {
  for (uint32_t slot = hash & m->mask;; slot = (slot + 1) & m->mask) {
    uint32_t index = m->slots[slot];
    if (index == 0) return NULL;
    const sp_sentiment_lexicon_entry *e = &m->entries[index - 1];
    if (e->len == len && memcmp(sp_sentiment_term(e), term, len) == 0) return e;
  }
}

/* Find the phrase made of the tokens at positions idx[0..words) joined by single spaces. */
static const sp_sentiment_lexicon_entry *model_find_phrase(const sp_sentiment_model *m,
                                                           const token *tokens, const int *idx,
                                                           int words) {
  char joined[SP_SENTIMENT_TERM_MAX];
  size_t len = 0;
  for (int w = 0; w < words; w++) {
    const token *t = &tokens[idx[w]];
    if (t->flags & TOKEN_TOO_LONG) return NULL;
    if (len + (w > 0) + t->len >= sizeof joined) return NULL;
    if (w > 0) joined[len++] = ' ';
    memcpy(joined + len, t->lower, t->len);
    len += t->len;
  }
  const sp_sentiment_lexicon_entry *e = model_find(m, fnv1a_extend(FNV1A_SEED, joined, len),
                                                   joined, len);
  return (e != NULL && e->words == words) ? e : NULL;
}

/* The longest phrase starting at tokens[first] (whose entry says phrases start there),
 * not running over a clause break.  Words in a row are tried first; then filler words
 * between the phrase's words are skipped ("raises full-year outlook" matches "raises
 * outlook"), at most LOOSE_FILLERS of them.  Sets *span to the tokens covered. */
static const sp_sentiment_lexicon_entry *match_phrase(const sp_sentiment_model *m,
                                                      const token *tokens, int ntokens,
                                                      int first, int *span) {
  int longest = tokens[first].entry->phrase_max;
  int idx[SP_SENTIMENT_PHRASE_MAX];
  int in_row = 1;
  while (in_row < longest && first + in_row < ntokens &&
         !(tokens[first + in_row].flags & TOKEN_CLAUSE_START))
    in_row++;
  for (int w = 0; w < in_row; w++) idx[w] = first + w;
  for (int k = in_row; k >= 2; k--) {
    const sp_sentiment_lexicon_entry *e = model_find_phrase(m, tokens, idx, k);
    if (e != NULL) {
      *span = k;
      return e;
    }
  }
  int words = 1, skipped = 0;
  for (int p = first + 1; p < ntokens && words < longest; p++) {
    if (tokens[p].flags & TOKEN_CLAUSE_START) break;
    if (tokens[p].flags & TOKEN_FILLER) {
      if (++skipped > LOOSE_FILLERS) break;
      continue;
    }
    idx[words++] = p;
  }
  for (int k = words; k >= 2; k--) {
    if (idx[k - 1] - first + 1 == k) continue; /* no filler skipped: tried above */
    const sp_sentiment_lexicon_entry *e = model_find_phrase(m, tokens, idx, k);
    if (e != NULL) {
      *span = idx[k - 1] - first + 1;
      return e;
    }
  }
  return NULL;
}

/* ---- scoring one sentence ---- */

static int unit_is_negation(const unit *u) {
  return (u->entry != NULL && u->entry->role == SP_LEX_NEGATE) || u->negates;
}

/* The up to LOOKBACK_UNITS units before units[j] in its clause, nearest first, that
 * rules look at: filler words ("to", "the", "expects", numbers) are passed over
 * without counting.  Returns how many were stored in `before`. */
static int units_before(unit *units, int j, unit *before[LOOKBACK_UNITS]) {
  int n = 0;
  for (int p = j - 1; p >= 0 && n < LOOKBACK_UNITS; p--) {
    if (units[p + 1].flags & TOKEN_CLAUSE_START) break;
    if (!(units[p].flags & TOKEN_FILLER)) before[n++] = &units[p];
  }
  return n;
}

static void score_sentence(const sp_sentiment_model *m, const token *tokens, int ntokens,
                           text_sums *sums) {
  unit units[SENTENCE_TOKENS_MAX];
  int nunits = 0, caps_words = 0;

  for (int i = 0; i < ntokens; i++) caps_words += (tokens[i].flags & TOKEN_CAPS) != 0;
  /* Capitals are emphasis only when the sentence is not all capitals (VADER). */
  int caps_differ = caps_words > 0 && caps_words < ntokens;

  /* Phrases first, longest match. */
  for (int i = 0; i < ntokens;) {
    const token *t = &tokens[i];
    unit *u = &units[nunits++];
    u->entry = t->entry;
    u->words = 1;
    u->flags = t->flags & (TOKEN_CAPS | TOKEN_CLAUSE_START | TOKEN_FILLER);
    u->negates = (t->flags & TOKEN_NEGATED_NT) != 0;
    u->valence = 0.0;
    int span;
    const sp_sentiment_lexicon_entry *phrase =
        t->entry != NULL && t->entry->phrase_max > 1 ? match_phrase(m, tokens, ntokens, i, &span) : NULL;
    if (phrase != NULL) {
      u->entry = phrase;
      u->words = (uint8_t)span;
      u->negates = 0;
      u->flags &= (uint8_t)~TOKEN_FILLER;
      if (phrase->flags & SP_LEX_FILLER) u->flags |= TOKEN_FILLER;
      for (int w = i + 1; w < i + span; w++)
        if (!(tokens[w].flags & (TOKEN_CAPS | TOKEN_FILLER))) u->flags &= (uint8_t)~TOKEN_CAPS;
    }
    i += u->words;
  }

  /* Valence of each unit, adjusted by the units before it in the same clause. */
  int contrast_at = -1;
  for (int j = 0; j < nunits; j++) {
    unit *u = &units[j];
    if (u->entry == NULL || u->entry->role != SP_LEX_VALENCE) {
      if (contrast_at < 0 && u->entry != NULL && u->entry->role == SP_LEX_CONTRAST)
        contrast_at = j;
      continue;
    }
    double base = u->entry->valence;
    if (base == 0.0) continue;
    unit *before[LOOKBACK_UNITS];
    int nbefore = units_before(units, j, before);
    /* "costs fall": a move after a quantity that is bad when it grows flips, and the
     * pair says it all ("losses shrink" is good news, whatever "losses" alone is). */
    if (u->entry->flags & SP_LEX_MOVE) {
      for (int d = 0; d < nbefore; d++) {
        if (before[d]->entry != NULL && (before[d]->entry->flags & SP_LEX_INVERT)) {
          base = -base;
          before[d]->valence = 0.0;
          break;
        }
      }
    }
    double sign = base > 0 ? 1.0 : -1.0;
    double v = base;
    if (caps_differ && (u->flags & TOKEN_CAPS)) v += sign * CAPS_INCREMENT;
    /* Boosters add, decaying with distance; each negation multiplies. */
    int negations = 0;
    for (int d = 0; d < nbefore; d++) {
      const unit *q = before[d];
      if (q->entry != NULL && q->entry->role == SP_LEX_BOOST) {
        double scalar = sign * q->entry->boost;
        if (caps_differ && (q->flags & TOKEN_CAPS)) scalar += sign * CAPS_INCREMENT;
        v += scalar * (d == 0 ? 1.0 : d == 1 ? 0.95 : 0.9);
      } else if (unit_is_negation(q)) {
        negations++;
      }
    }
    for (int n = 0; n < negations; n++) v *= NEGATION_SCALAR;
    u->valence = v;
  }
  if (contrast_at >= 0) {
    for (int j = 0; j < nunits; j++)
      units[j].valence *= j < contrast_at ? BUT_BEFORE_WEIGHT : BUT_AFTER_WEIGHT;
  }

  for (int j = 0; j < nunits; j++) {
    const unit *u = &units[j];
    if (u->valence != 0.0) {
      sums->sum += u->valence;
      sums->subjective += fabs(u->valence) + 1.0;
      sums->sentiment_terms++;
    } else {
      sums->neutral_words += u->words;
    }
  }
  sums->words += (uint32_t)ntokens;
}

/* ---- tokenizer ---- */

static int is_ascii_word_byte(uint8_t c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

/* What the bytes at text[i] are, for the tokenizer.  `*width` is set to how many bytes
 * the character takes. */
enum char_class {
  CHAR_WORD,        /* part of a word (ASCII letter or digit, or any other non-ASCII) */
  CHAR_APOSTROPHE,  /* ' or ’ ‘: inside a word when between word characters */
  CHAR_HYPHEN,      /* -: a word break inside "better-than-expected", a clause break alone */
  CHAR_SPACE,       /* white space, no-break space */
  CHAR_CLAUSE,      /* , ; : ( ) [ ] " “ ” – — … */
  CHAR_SENTENCE,    /* . ! ? and line breaks (a sentence end when followed by space or end) */
  CHAR_OTHER        /* any other ASCII punctuation: a word break */
};

static enum char_class classify(const uint8_t *text, size_t len, size_t i, size_t *width) {
  uint8_t c = text[i];
  *width = 1;
  if (c < 0x80) {
    if (is_ascii_word_byte(c)) return CHAR_WORD;
    switch (c) {
      case '\'': return CHAR_APOSTROPHE;
      case '-': return CHAR_HYPHEN;
      case ' ': case '\t': case '\r': case '\v': case '\f': return CHAR_SPACE;
      case '.': case '!': case '?': case '\n': return CHAR_SENTENCE;
      case ',': case ';': case ':': case '(': case ')': case '[': case ']': case '"':
        return CHAR_CLAUSE;
      default: return CHAR_OTHER;
    }
  }
  if (c == 0xC2 && i + 1 < len && text[i + 1] == 0xA0) {
    *width = 2;
    return CHAR_SPACE;
  }
  if (c == 0xE2 && i + 2 < len && text[i + 1] == 0x80) {
    uint8_t c3 = text[i + 2];
    *width = 3;
    if (c3 == 0x98 || c3 == 0x99) return CHAR_APOSTROPHE;
    if (c3 == 0x93 || c3 == 0x94 || c3 == 0x9C || c3 == 0x9D || c3 == 0xA6) return CHAR_CLAUSE;
    if (c3 == 0xA2 || c3 == 0xA8 || c3 == 0xA9) return CHAR_SENTENCE; /* bullet, line/para sep */
    *width = 1;
  }
  return CHAR_WORD;
}

typedef struct tokenizer_state {
  const sp_sentiment_model *model;
  token tokens[SENTENCE_TOKENS_MAX];
  int ntokens;
  int clause_pending; /* a clause break was seen since the last word */
  text_sums *sums;
} tokenizer_state;

static void flush_sentence(tokenizer_state *st) {
  if (st->ntokens > 0) score_sentence(st->model, st->tokens, st->ntokens, st->sums);
  st->ntokens = 0;
  st->clause_pending = 0;
}

/* Finish the word text[start, end) (apostrophes already normalised into `lower`). */
static void finish_word(tokenizer_state *st, token *t, size_t raw_len, int letters, int uppers) {
  if (raw_len >= SP_SENTIMENT_TERM_MAX) {
    t->flags |= TOKEN_TOO_LONG;
    t->len = 0;
  }
  if (letters >= 2 && letters == uppers) t->flags |= TOKEN_CAPS;
  if (!(t->flags & TOKEN_TOO_LONG)) {
    if (t->len >= 3 && memcmp(t->lower + t->len - 3, "n't", 3) == 0) t->flags |= TOKEN_NEGATED_NT;
    if (t->len > 2 && memcmp(t->lower + t->len - 2, "'s", 2) == 0) t->len -= 2;
    t->hash = fnv1a_extend(FNV1A_SEED, t->lower, t->len);
    t->entry = model_find(st->model, t->hash, t->lower, t->len);
    if ((t->entry != NULL && (t->entry->flags & SP_LEX_FILLER)) ||
        (t->len > 0 && t->lower[0] >= '0' && t->lower[0] <= '9'))
      t->flags |= TOKEN_FILLER;
  }
  if (st->clause_pending) t->flags |= TOKEN_CLAUSE_START;
  st->clause_pending = 0;
  st->ntokens++;
  if (st->ntokens == SENTENCE_TOKENS_MAX) flush_sentence(st);
}

static void tokenize(tokenizer_state *st, const uint8_t *text, size_t len) {
  size_t i = 0;
  while (i < len) {
    size_t width;
    enum char_class cls = classify(text, len, i, &width);
    if (cls == CHAR_WORD) {
      token *t = &st->tokens[st->ntokens];
      t->len = 0;
      t->flags = 0;
      t->entry = NULL;
      size_t raw_len = 0;
      int letters = 0, uppers = 0;
      while (i < len) {
        cls = classify(text, len, i, &width);
        if (cls == CHAR_APOSTROPHE) {
          /* Inside a word only when a word character follows. */
          size_t next_width;
          if (raw_len == 0 || i + width >= len ||
              classify(text, len, i + width, &next_width) != CHAR_WORD)
            break;
          if (raw_len + 1 < SP_SENTIMENT_TERM_MAX) t->lower[t->len++] = '\'';
          raw_len++;
          i += width;
          continue;
        }
        if (cls != CHAR_WORD) break;
        uint8_t c = text[i];
        if (c >= 'A' && c <= 'Z') {
          uppers++;
          letters++;
          c = (uint8_t)(c + ('a' - 'A'));
        } else if (c >= 'a' && c <= 'z') {
          letters++;
        }
        if (raw_len + 1 < SP_SENTIMENT_TERM_MAX) t->lower[t->len++] = (char)c;
        raw_len++;
        i++;
      }
      finish_word(st, t, raw_len, letters, uppers);
      continue;
    }
    switch (cls) {
      case CHAR_SENTENCE:
        if (text[i] == '!') st->sums->exclamations++;
        if (text[i] == '?') st->sums->questions++;
        /* "U.S." and "3.5" do not end a sentence: a full stop must be followed by
         * space, a quote or the end of the text. */
        if (text[i] == '\n' || i + 1 >= len || !is_ascii_word_byte(text[i + 1]))
          flush_sentence(st);
        break;
      case CHAR_HYPHEN:
        /* A hyphen between two words only separates them ("better-than-expected");
         * a free-standing dash separates clauses. */
        if (!(i > 0 && i + 1 < len && is_ascii_word_byte(text[i - 1]) &&
              is_ascii_word_byte(text[i + 1])))
          st->clause_pending = 1;
        break;
      case CHAR_CLAUSE:
        st->clause_pending = 1;
        break;
      default:
        break;
    }
    i += width;
  }
}

/* ---- public functions ---- */

sp_sentiment_label sp_sentiment_label_for(double score) {
  if (score >= SP_SENTIMENT_POSITIVE_MIN) return SP_SENTIMENT_POSITIVE;
  if (score <= SP_SENTIMENT_NEGATIVE_MAX) return SP_SENTIMENT_NEGATIVE;
  return SP_SENTIMENT_NEUTRAL;
}

const char *sp_sentiment_label_name(sp_sentiment_label label) {
  switch (label) {
    case SP_SENTIMENT_POSITIVE: return "positive";
    case SP_SENTIMENT_NEGATIVE: return "negative";
    default: return "neutral";
  }
}

static void finish_scores(const text_sums *sums, sp_sentiment *out) {
  double sum = sums->sum;
  if (sum != 0.0) {
    /* Punctuation emphasis pushes the score further from zero. */
    uint32_t bangs = sums->exclamations < EXCLAMATION_MAX ? sums->exclamations : EXCLAMATION_MAX;
    double emphasis = bangs * EXCLAMATION_INCREMENT;
    if (sums->questions > 1)
      emphasis += sums->questions <= 3 ? sums->questions * QUESTION_INCREMENT : QUESTION_MAX_AMPLIFIER;
    sum += sum > 0 ? emphasis : -emphasis;
  }
  double score = sum / sqrt(sum * sum + NORMALISE_ALPHA);
  if (score > 1.0) score = 1.0;
  if (score < -1.0) score = -1.0;
  double total = sums->subjective + sums->neutral_words;
  out->score = score;
  out->label = sp_sentiment_label_for(score);
  out->subjectivity = total > 0 ? sums->subjective / total : 0.0;
  out->words = sums->words;
  out->sentiment_terms = sums->sentiment_terms;
}

int sp_sentiment_score_article(const sp_sentiment_model *model, const char *headline,
                               size_t headline_len, const char *summary, size_t summary_len,
                               sp_sentiment *out, sp_error *err) {
  if (out == NULL) return sp_error_set(err, SP_ERR_INVALID, "sentiment: no result record");
  if ((headline == NULL && headline_len > 0) || (summary == NULL && summary_len > 0))
    return sp_error_set(err, SP_ERR_INVALID, "sentiment: NULL text with a non-zero length");
  if (model == NULL) model = sp_sentiment_model_default();
  text_sums sums;
  memset(&sums, 0, sizeof sums);
  tokenizer_state st;
  st.model = model;
  st.ntokens = 0;
  st.clause_pending = 0;
  st.sums = &sums;
  if (headline_len > 0) tokenize(&st, (const uint8_t *)headline, headline_len);
  flush_sentence(&st);
  if (summary_len > 0) tokenize(&st, (const uint8_t *)summary, summary_len);
  flush_sentence(&st);
  finish_scores(&sums, out);
  return SP_OK;
}

int sp_sentiment_score(const sp_sentiment_model *model, const char *text, size_t len,
                       sp_sentiment *out, sp_error *err) {
  return sp_sentiment_score_article(model, text, len, NULL, 0, out, err);
}
