/*
 * test_source_news.c — news identity and tagging shared by all news providers:
 * SHA-256 (FIPS 180-4 / NIST test vectors), the SPEC §7 canonical URL rule, the
 * article_id, company-name matching and the round's (article_id, ticker) set.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "core/sha256.h"
#include "sources/news.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void test_sha256_vectors(void **state) {
  (void)state;
  char hex[SP_SHA256_HEX_LEN + 1];
  sp_sha256_hex("", 0, hex);
  assert_string_equal(hex, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  sp_sha256_hex("abc", 3, hex);
  assert_string_equal(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  const char *two_blocks = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
  sp_sha256_hex(two_blocks, strlen(two_blocks), hex);
  assert_string_equal(hex, "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
  const char *long_msg = "abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmnhijklmnoijklmnopjklmnopqklmnopqrlmnopqrsmnopqrstnopqrstu";
  sp_sha256_hex(long_msg, strlen(long_msg), hex);
  assert_string_equal(hex, "cf5b16a778af8380036ce59e7b0492370b249b11e8f07a51afac45037afee9d1");
  /* one million 'a', fed in uneven pieces through the incremental interface */
  char *a = malloc(1000000);
  memset(a, 'a', 1000000);
  sp_sha256 ctx;
  sp_sha256_init(&ctx);
  size_t done = 0, piece = 1;
  while (done < 1000000) {
    size_t n = piece < 1000000 - done ? piece : 1000000 - done;
    sp_sha256_update(&ctx, a + done, n);
    done += n;
    piece = piece * 3 % 997 + 1;
  }
  uint8_t digest[SP_SHA256_DIGEST_LEN];
  sp_sha256_final(&ctx, digest);
  free(a);
  static const uint8_t expect[SP_SHA256_DIGEST_LEN] = {
      0xcd, 0xc7, 0x6e, 0x5c, 0x99, 0x14, 0xfb, 0x92, 0x81, 0xa1, 0xc7, 0xe2, 0x84, 0xd7, 0x3e, 0x67,
      0xf1, 0x80, 0x9a, 0x48, 0xa4, 0x97, 0x20, 0x0e, 0x04, 0x6d, 0x39, 0xcc, 0xc7, 0x11, 0x2c, 0xd0};
  assert_memory_equal(digest, expect, SP_SHA256_DIGEST_LEN);
  /* 55, 56 and 64 bytes: the padding edge cases */
  static const struct {
    size_t len;
    const char *hex;
  } edges[] = {
      {55, "d5e285683cd4efc02d021a5c62014694958901005d6f71e89e0989fac77e4072"},
      {56, "04c26261370ee7541549d16dee320c723e3fd14671e66a099afe0a377c16888e"},
      {63, "75220b47218278e656f2013bb8f0c455a25eaf01e86c64924e9d48d89776d6f2"},
      {64, "7ce100971f64e7001e8fe5a51973ecdfe1ced42befe7ee8d5fd6219506b5393c"}};
  char buf[64];
  memset(buf, 'x', sizeof buf);
  for (size_t i = 0; i < sizeof edges / sizeof edges[0]; i++) {
    sp_sha256_hex(buf, edges[i].len, hex);
    assert_string_equal(hex, edges[i].hex);
  }
}

static void canonical_is(const char *url, const char *expect) {
  sp_buf out = SP_BUF_INIT;
  assert_int_equal(sp_news_canonical_url(url, &out), 0);
  assert_string_equal((const char *)out.data, expect);
  sp_buf_free(&out);
}

static void test_canonical_url(void **state) {
  (void)state;
  canonical_is("HTTPS://WWW.Example.COM/News/Story?id=5#comments",
               "https://www.example.com/News/Story?id=5");
  canonical_is("https://example.com:443/a?utm_source=x&b=2&UTM_Medium=y&c=3&utm_campaign=z",
               "https://example.com/a?b=2&c=3");
  canonical_is("http://example.com:80/a?utm_source=feed", "http://example.com/a");
  canonical_is("http://example.com:8080/a", "http://example.com:8080/a");
  canonical_is("https://example.com:80/a", "https://example.com:80/a"); /* not the default for https */
  canonical_is("https://example.com", "https://example.com");
  canonical_is("https://example.com?utm_x=1#top", "https://example.com");
  canonical_is("https://Example.com/Path%20With/Case?z=1&a=2", "https://example.com/Path%20With/Case?z=1&a=2");
  canonical_is("https://example.com/a?utmost=1&utm_=2", "https://example.com/a?utmost=1");
  canonical_is("https://[2001:DB8::1]:443/x", "https://[2001:db8::1]/x");
  sp_buf out = SP_BUF_INIT;
  assert_int_equal(sp_news_canonical_url("not a url", &out), SP_ERR_INVALID);
  assert_int_equal(sp_news_canonical_url("://host/x", &out), SP_ERR_INVALID);
  assert_int_equal(sp_news_canonical_url("https:///path", &out), SP_ERR_INVALID);
  sp_buf_free(&out);

  /* the same story from two providers gets one id */
  char id1[SP_SHA256_HEX_LEN + 1], id2[SP_SHA256_HEX_LEN + 1];
  assert_int_equal(sp_news_article_id("https://www.reuters.com/x?utm_source=finnhub", id1), 0);
  assert_int_equal(sp_news_article_id("HTTPS://WWW.REUTERS.COM/x#frag", id2), 0);
  assert_string_equal(id1, id2);
  char direct[SP_SHA256_HEX_LEN + 1];
  sp_sha256_hex("https://www.reuters.com/x", strlen("https://www.reuters.com/x"), direct);
  assert_string_equal(id1, direct);
}

static int add_symbol(void *arg, const char *symbol) {
  char *list = arg;
  strcat(list, symbol);
  strcat(list, " ");
  return 0;
}

static void test_company_matching(void **state) {
  (void)state;
  const sp_source_company companies[] = {
      {"AAPL", "Apple Inc."},           {"GOOGL", "Alphabet Inc. (Class A)"},
      {"BRK-B", "Berkshire Hathaway"},  {"F", "Ford Motor Company"},
      {"META", "Meta Platforms, Inc."}, {"HD", "Home Depot (The)"},
      {"FOX", "Fox Corporation (Class A)"}, {"NWSA", "News Corp (Class A)"}};
  char found[128] = "";
  sp_news_match_companies("Apple and Alphabet beat; Ford Motor slips; Pineapple up", companies, 7,
                          add_symbol, found);
  assert_string_equal(found, "AAPL GOOGL F ");
  found[0] = '\0';
  sp_news_match_companies("Berkshire Hathaway buys Home Depot stake; Meta Platforms news", companies,
                          7, add_symbol, found);
  assert_string_equal(found, "BRK-B META HD ");
  found[0] = '\0';
  /* "Fox" is too short to match by name; word boundaries are respected */
  sp_news_match_companies("Fox News on Snapple and Applesauce", companies, 8, add_symbol, found);
  assert_string_equal(found, "");
  sp_news_match_companies(NULL, companies, 7, add_symbol, found);
  assert_string_equal(found, "");
}

static void test_seen_set(void **state) {
  (void)state;
  struct sp_source_news_seen *seen;
  assert_int_equal(sp_news_seen_new(&seen), 0);
  bool fresh;
  char id[16];
  for (int i = 0; i < 1000; i++) {
    snprintf(id, sizeof id, "id%d", i);
    assert_int_equal(sp_news_seen_add(seen, id, "AAPL", &fresh), 0);
    assert_true(fresh);
  }
  assert_int_equal(sp_news_seen_add(seen, "id7", "AAPL", &fresh), 0);
  assert_false(fresh);
  assert_int_equal(sp_news_seen_add(seen, "id7", "MSFT", &fresh), 0);
  assert_true(fresh);
  sp_news_seen_free(seen);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_sha256_vectors),
      cmocka_unit_test(test_canonical_url),
      cmocka_unit_test(test_company_matching),
      cmocka_unit_test(test_seen_set),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
