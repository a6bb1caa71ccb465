/*
 * test_sentiment.c — the news sentiment scorer (src/analytics/sentiment.c): each
 * rule (negation, boosters, "but", capitals and "!", phrases before words, loose
 * phrases over filler words, moves of bad quantities), the
 * label thresholds, input edge cases (empty, NULL, non-ASCII, invalid UTF-8, very
 * long), bounds and determinism, and that every compiled-in lexicon term is found.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "analytics/sentiment.h"
#include "analytics/sentiment_lexicon.h"

static sp_sentiment score_of(const char *text) {
  sp_sentiment s;
  sp_error err;
  assert_int_equal(sp_sentiment_score(NULL, text, strlen(text), &s, &err), SP_OK);
  assert_true(s.score >= -1.0 && s.score <= 1.0);
  assert_true(s.subjectivity >= 0.0 && s.subjectivity <= 1.0);
  assert_int_equal(s.label, sp_sentiment_label_for(s.score));
  return s;
}

static double score(const char *text) { return score_of(text).score; }

static void assert_same_result(const sp_sentiment *a, const sp_sentiment *b) {
  assert_true(a->score == b->score);
  assert_int_equal(a->label, b->label);
  assert_true(a->subjectivity == b->subjectivity);
  assert_int_equal(a->words, b->words);
  assert_int_equal(a->sentiment_terms, b->sentiment_terms);
}

static void test_finance_words(void **state) {
  (void)state;
  assert_true(score("Apple beats estimates") > 0.3);
  assert_true(score("Apple misses estimates") < -0.3);
  assert_true(score("Tesla shares plunge after recall") < -0.5);
  assert_true(score("Nvidia stock soars to record high") > 0.5);
  assert_true(score("Goldman upgrades Microsoft") > 0.3);
  assert_true(score("Barclays downgrades Intel") < -0.3);
  assert_true(score("Company files for Chapter 11 bankruptcy") < -0.5);
  assert_int_equal(score_of("Apple beats estimates").label, SP_SENTIMENT_POSITIVE);
  assert_int_equal(score_of("Apple misses estimates").label, SP_SENTIMENT_NEGATIVE);
  /* Everyday-speech valences VADER has but company news does not. */
  sp_sentiment s = score_of("Microsoft to hold annual shareholder meeting on December 5");
  assert_int_equal(s.label, SP_SENTIMENT_NEUTRAL);
  assert_true(s.score == 0.0);
  assert_true(s.subjectivity == 0.0);
  assert_int_equal(s.words, 9);
  assert_int_equal(score_of("Alphabet shares interest credit fund").label, SP_SENTIMENT_NEUTRAL);
}

static void test_negation(void **state) {
  (void)state;
  double plain = score("Apple results were strong");
  assert_true(plain > 0);
  assert_true(score("Apple results were not strong") < 0);
  assert_true(score("Apple results weren't strong") < 0);
  assert_true(score("Apple results weren\xE2\x80\x99t strong") < 0); /* typographic apostrophe */
  assert_true(score("Apple results were never strong") < 0);
  assert_true(score("a quarter of growth") > 0);
  assert_true(score("a quarter without growth") < 0);
  assert_true(score("Intel fails to impress investors") < 0);
  assert_true(score("Boeing says no layoffs planned") > 0);
  /* VADER's scalar: the negated valence is -0.74 times the plain one. */
  assert_true(fabs(score("results not strong") + 0.74 * 1.9 / sqrt(pow(0.74 * 1.9, 2) + 15)) < 1e-6);
  /* Negation reaches three words back, not four, and not across a comma. */
  assert_true(score("not that very good") < 0);
  assert_true(score("not x y z strong") > 0);
  assert_true(score("not now, strong") > 0);
  /* "not only" is no negation. */
  assert_true(score("not only strong") > 0);
}

static void test_boosters(void **state) {
  (void)state;
  double strong = score("results strong");
  assert_true(score("results very strong") > strong);
  assert_true(score("results slightly strong") < strong);
  assert_true(score("results slightly strong") > 0);
  double falls = score("shares fall");
  assert_true(score("shares fall sharply") == falls); /* a booster after the word does nothing */
  assert_true(score("sharply fall") < falls);
  assert_true(score("shares slightly fall") > falls);
  assert_true(score("shares slightly fall") < 0);
  /* Decay with distance: one word away counts more than two. */
  assert_true(score("very results strong") < score("very strong"));
}

static void test_but_clause(void **state) {
  (void)state;
  assert_true(score("strong quarter but weak outlook") < 0);
  assert_true(score("weak outlook but strong quarter") > 0);
  /* Half before, one and a half after: "strong but strong" equals twice "strong". */
  double two = 2 * 1.9;
  assert_true(fabs(score("strong but strong") - two / sqrt(two * two + 15)) < 1e-6);
  /* The rule stays inside its sentence. */
  assert_true(score("Shares fall. Analysts say weak but improving") < 0);
  assert_true(score("Revenue strong; however margins weak") < 0);
}

static void test_caps_and_exclamation(void **state) {
  (void)state;
  double plain = score("apple results strong");
  assert_true(score("apple results STRONG") > plain);
  /* A sentence all in capitals has no emphasis. */
  assert_true(score("APPLE RESULTS STRONG") == plain);
  assert_true(score("apple results strong!") > plain);
  assert_true(score("apple results strong!!") > score("apple results strong!"));
  assert_true(score("apple results strong!!!!!!!") == score("apple results strong!!!!"));
  assert_true(score("apple results weak!") < score("apple results weak"));
  /* Emphasis never creates sentiment. */
  assert_true(score("Apple holds meeting!!!") == 0.0);
}

static void test_phrases_beat_words(void **state) {
  (void)state;
  assert_true(score("loss") < 0);
  assert_true(score("Rivian loss narrows") > 0);
  assert_true(score("Peloton loss widens") < score("Peloton loss"));
  assert_true(score("Meta raises guidance") > 0.5);
  assert_true(score("Nike guidance cut") < -0.5);
  assert_true(score("Nike cuts guidance") < score("Nike cuts"));
  assert_true(score("record high") > 0);
  assert_true(score("record low") < 0);
  assert_true(score("Netflix results in line with estimates") == 0.0);
  /* Hyphens split words, so the phrase matches either spelling. */
  assert_true(score("better-than-expected sales") == score("better than expected sales"));
  assert_true(score("better than expected") > score("better"));
  /* Longest phrase wins over a shorter one starting at the same word. */
  assert_true(score("downgraded to sell") < score("downgraded"));
  /* A phrase is not matched across a clause break. */
  assert_true(score("Apple beats, estimates") == score("Apple beats"));
  /* Negation applies to a whole phrase. */
  assert_true(score("Disney did not raise guidance") < 0);
}

static void test_finance_rules(void **state) {
  (void)state;
  /* Loose phrase matching skips filler words between a phrase's words... */
  assert_true(score("Altamira raises full-year outlook") == score("Altamira raises outlook"));
  assert_true(score("Northwind misses third-quarter revenue estimates") == score("Northwind misses estimates"));
  assert_true(score("Altamira raises 2025 guidance") > 0.5);
  /* ...but not more than three, and not across a clause break. */
  assert_true(score("raises the full year quarterly revenue outlook") < score("raises the outlook"));
  assert_true(score("raises, outlook") == score("raises"));
  /* A move after a quantity that is bad when it grows changes sign. */
  assert_true(score("shares fall") < 0);
  assert_true(score("costs fall") > 0);
  assert_true(score("operating costs rise") < 0);
  assert_true(score("churn falls to lowest level in a decade") > 0);
  assert_true(score("losses shrink") > 0);
  assert_true(score("delinquencies rise sharply") < 0);
  assert_true(score("revenue rises") > 0); /* not an inverting quantity */
  /* Filler words do not count in the reach of a negation. */
  assert_true(score("does not expect growth to recover") < 0);
  assert_true(score("not x y z recover") > 0);
  /* Company-name words carry no sentiment. */
  assert_true(score("Glenhollow Energy holds meeting") == 0.0);
}

static void test_empty_and_invalid(void **state) {
  (void)state;
  sp_sentiment s;
  sp_error err;
  memset(&s, 0x55, sizeof s);
  assert_int_equal(sp_sentiment_score(NULL, "", 0, &s, &err), SP_OK);
  assert_true(s.score == 0.0 && s.subjectivity == 0.0 && s.words == 0);
  assert_int_equal(s.label, SP_SENTIMENT_NEUTRAL);
  assert_int_equal(sp_sentiment_score(NULL, NULL, 0, &s, &err), SP_OK);
  assert_true(s.score == 0.0);
  assert_int_equal(sp_sentiment_score(NULL, " \t\r\n  \n", 7, &s, &err), SP_OK);
  assert_true(s.score == 0.0 && s.words == 0);
  assert_int_equal(sp_sentiment_score(NULL, "!!!???...,,,", 12, &s, &err), SP_OK);
  assert_true(s.score == 0.0 && s.words == 0);
  assert_int_equal(sp_sentiment_score(NULL, NULL, 3, &s, &err), SP_ERR_INVALID);
  assert_int_equal(err.code, SP_ERR_INVALID);
  assert_non_null(strstr(err.msg, "sentiment"));
  assert_int_equal(sp_sentiment_score(NULL, "good", 4, NULL, &err), SP_ERR_INVALID);
  assert_int_equal(sp_sentiment_score(NULL, "good", 4, NULL, NULL), SP_ERR_INVALID);
  /* Length, not NUL, ends the text. */
  assert_int_equal(sp_sentiment_score(NULL, "shares plunge", 6, &s, &err), SP_OK);
  assert_true(s.score == 0.0 && s.words == 1);
}

static void test_non_ascii(void **state) {
  (void)state;
  /* Accented words stay whole; curly quotes and dashes separate. */
  assert_true(score("Nestl\xC3\xA9\xE2\x80\x99s sales didn\xE2\x80\x99t grow") < 0);
  assert_true(score("\xE2\x80\x9CStrong\xE2\x80\x9D quarter \xE2\x80\x94 shares surge") > 0);
  assert_true(score("\xE2\x80\x98strong\xE2\x80\x99") == score("strong"));
  sp_sentiment s = score_of("\xE8\x8B\xB9\xE6\x9E\x9C\xE8\x82\xA1\xE4\xBB\xB7\xE4\xB8\x8A\xE6\xB6\xA8");
  assert_true(s.score == 0.0 && s.words == 1);
  assert_int_equal(score_of("Caf\xC3\xA9 chain \xE2\x82\xAC" "5bn deal").words, 4);
  /* Invalid and truncated UTF-8 is scored without reading past the end. */
  const char bad[] = {'g', 'o', 'o', 'd', ' ', (char)0xFF, (char)0xFE, ' ', 's', 't', 'r', 'o', 'n', 'g', ' ', (char)0xE2, (char)0x80};
  sp_sentiment b;
  assert_int_equal(sp_sentiment_score(NULL, bad, sizeof bad, &b, NULL), SP_OK);
  assert_true(b.score > 0);
  assert_int_equal(b.words, 4);
  /* An embedded NUL is just a separator. */
  assert_int_equal(sp_sentiment_score(NULL, "weak\0weak", 9, &b, NULL), SP_OK);
  assert_int_equal(b.words, 2);
}

static void test_long_input(void **state) {
  (void)state;
  /* 1 MiB of headlines with no sentence break, and one 1 MiB word. */
  const char *unit = "shares surge on strong demand and record revenue ";
  size_t unit_len = strlen(unit), total = 1u << 20;
  char *text = malloc(total);
  assert_non_null(text);
  for (size_t i = 0; i < total; i++) text[i] = unit[i % unit_len];
  sp_sentiment s;
  assert_int_equal(sp_sentiment_score(NULL, text, total, &s, NULL), SP_OK);
  assert_true(s.score > 0.99 && s.score <= 1.0);
  assert_true(s.words > 100000);
  memset(text, 'a', total);
  assert_int_equal(sp_sentiment_score(NULL, text, total, &s, NULL), SP_OK);
  assert_true(s.score == 0.0 && s.words == 1);
  free(text);
}

static void test_bounds_and_labels(void **state) {
  (void)state;
  assert_true(score("SOAR SURGE RALLY skyrockets!!!! record revenue, beats estimates") <= 1.0);
  assert_true(score("soar surge rally skyrockets beat and raise record revenue!!!!") > 0.95);
  assert_true(score("fraud bankruptcy plunge crash default delisted!!!!") < -0.95);
  assert_int_equal(sp_sentiment_label_for(0.05), SP_SENTIMENT_POSITIVE);
  assert_int_equal(sp_sentiment_label_for(0.0499), SP_SENTIMENT_NEUTRAL);
  assert_int_equal(sp_sentiment_label_for(-0.0499), SP_SENTIMENT_NEUTRAL);
  assert_int_equal(sp_sentiment_label_for(-0.05), SP_SENTIMENT_NEGATIVE);
  assert_int_equal(sp_sentiment_label_for(1.0), SP_SENTIMENT_POSITIVE);
  assert_int_equal(sp_sentiment_label_for(-1.0), SP_SENTIMENT_NEGATIVE);
  assert_string_equal(sp_sentiment_label_name(SP_SENTIMENT_POSITIVE), "positive");
  assert_string_equal(sp_sentiment_label_name(SP_SENTIMENT_NEUTRAL), "neutral");
  assert_string_equal(sp_sentiment_label_name(SP_SENTIMENT_NEGATIVE), "negative");
  /* Subjectivity: one sentiment word of valence 1.9 among three neutral words. */
  sp_sentiment s = score_of("the results were strong");
  assert_true(fabs(s.subjectivity - 2.9 / (2.9 + 3)) < 1e-6);
  assert_int_equal(s.sentiment_terms, 1);
  assert_true(score_of("strong robust solid").subjectivity > s.subjectivity);
}

static void test_deterministic_and_article(void **state) {
  (void)state;
  const char *h = "Meta raises guidance but warns of higher costs";
  const char *summary = "The company said ad demand was strong. Shares fell 3% after hours.";
  sp_sentiment a, b, c;
  assert_int_equal(sp_sentiment_score(NULL, h, strlen(h), &a, NULL), SP_OK);
  assert_int_equal(sp_sentiment_score(sp_sentiment_model_default(), h, strlen(h), &b, NULL), SP_OK);
  assert_same_result(&a, &b);
  assert_int_equal(sp_sentiment_score_article(NULL, h, strlen(h), NULL, 0, &c, NULL), SP_OK);
  assert_same_result(&a, &c);
  assert_int_equal(sp_sentiment_score_article(NULL, h, strlen(h), summary, strlen(summary), &c, NULL), SP_OK);
  assert_int_equal(c.words, a.words + 12);
  assert_true(c.sentiment_terms > a.sentiment_terms);
  /* The headline ends its own sentence: its "but" does not reach the summary. */
  char joined[256];
  snprintf(joined, sizeof joined, "%s %s", h, summary);
  assert_int_equal(sp_sentiment_score(NULL, joined, strlen(joined), &b, NULL), SP_OK);
  assert_true(b.score != c.score);
  assert_int_equal(sp_sentiment_score_article(NULL, NULL, 3, summary, 1, &c, NULL), SP_ERR_INVALID);
  assert_int_equal(sp_sentiment_score_article(NULL, h, 1, NULL, 3, &c, NULL), SP_ERR_INVALID);
}

/* Random byte soup built from words, punctuation and UTF-8 fragments: scoring stays
 * in bounds and never reads outside the text (ASan checks the latter). */
static void test_random_text(void **state) {
  (void)state;
  static const char *const pieces[] = {
      "beats ", "estimates", " not ", "n't ", "but ", "VERY ", "costs ", "fall", "!", "?", ".",
      ",", "-", "'", "\xE2\x80\x99", "\xE2\x80", "\xC3\xA9", "\xFF", " ", "\n", "raises ",
      "full-year ", "guidance", "2025 ", "record ", "high", "plunge", "the ", "s", "AAPL"};
  const size_t npieces = sizeof pieces / sizeof pieces[0];
  uint32_t seed = 12345;
  for (int round = 0; round < 3000; round++) {
    char text[512];
    size_t len = 0;
    seed = seed * 1103515245u + 12345u;
    int count = (int)(seed >> 16) % 40;
    for (int k = 0; k < count; k++) {
      seed = seed * 1103515245u + 12345u;
      const char *p = pieces[(seed >> 16) % npieces];
      size_t plen = strlen(p);
      if (len + plen > sizeof text) break;
      memcpy(text + len, p, plen);
      len += plen;
    }
    char *exact = malloc(len > 0 ? len : 1); /* no slack after the text */
    assert_non_null(exact);
    memcpy(exact, text, len);
    sp_sentiment a, b;
    assert_int_equal(sp_sentiment_score(NULL, exact, len, &a, NULL), SP_OK);
    assert_int_equal(sp_sentiment_score(NULL, exact, len, &b, NULL), SP_OK);
    free(exact);
    assert_true(a.score >= -1.0 && a.score <= 1.0 && !isnan(a.score));
    assert_true(a.subjectivity >= 0.0 && a.subjectivity <= 1.0);
    assert_true(a.score == b.score && a.subjectivity == b.subjectivity);
    assert_true(a.sentiment_terms <= a.words);
  }
}

/* Every compiled-in term is found: scoring a term on its own gives its valence's sign. */
static void test_lexicon_index(void **state) {
  (void)state;
  assert_true(sp_sentiment_lexicon_count > 5000);
  size_t checked = 0;
  for (size_t i = 0; i < sp_sentiment_lexicon_count; i++) {
    const sp_sentiment_lexicon_entry *e = &sp_sentiment_lexicon[i];
    const char *term = sp_sentiment_term(e);
    assert_int_equal(strlen(term), e->len);
    assert_true(e->len < SP_SENTIMENT_TERM_MAX);
    if (e->role != SP_LEX_VALENCE || e->valence == 0.0f) continue;
    /* Possessives are stripped and "n't" words negate before lookup: skip those. */
    if (strstr(term, "'s") != NULL || strstr(term, "n't") != NULL) continue;
    sp_sentiment s;
    assert_int_equal(sp_sentiment_score(NULL, term, e->len, &s, NULL), SP_OK);
    if ((s.score > 0) != (e->valence > 0) || s.score == 0.0) fail_msg("lexicon term '%s' not found", term);
    checked++;
  }
  assert_true(checked > 5000);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_finance_words),
      cmocka_unit_test(test_negation),
      cmocka_unit_test(test_boosters),
      cmocka_unit_test(test_but_clause),
      cmocka_unit_test(test_caps_and_exclamation),
      cmocka_unit_test(test_phrases_beat_words),
      cmocka_unit_test(test_finance_rules),
      cmocka_unit_test(test_empty_and_invalid),
      cmocka_unit_test(test_non_ascii),
      cmocka_unit_test(test_long_input),
      cmocka_unit_test(test_bounds_and_labels),
      cmocka_unit_test(test_deterministic_and_article),
      cmocka_unit_test(test_random_text),
      cmocka_unit_test(test_lexicon_index),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
