/*
 * news.c — article identity, ticker tagging, round de-duplication and news rows
 * (see news.h).
 */
#include "sources/news.h"

#include "analytics/sentiment.h"

#include <cJSON.h>
#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* ---- canonical URL ------------------------------------------------------------------- */

static int append_lower(sp_buf *out, const char *s, size_t n) {
  for (size_t i = 0; i < n; i++)
    if (sp_buf_append_byte(out, (uint8_t)tolower((unsigned char)s[i])) != 0) return SP_ERR_NOMEM;
  return SP_OK;
}

int sp_news_canonical_url(const char *url, sp_buf *out) {
  sp_buf_reset(out);
  if (!url) return SP_ERR_INVALID;
  const char *sep = strstr(url, "://");
  if (!sep || sep == url) return SP_ERR_INVALID;
  for (const char *c = url; c < sep; c++)
    if (!isalnum((unsigned char)*c) && *c != '+' && *c != '-' && *c != '.') return SP_ERR_INVALID;
  size_t scheme_len = (size_t)(sep - url);
  const char *auth = sep + 3;
  size_t auth_len = strcspn(auth, "/?#");
  if (auth_len == 0) return SP_ERR_INVALID;

  /* host[:port], possibly with userinfo@ and [IPv6] */
  const char *host = auth;
  const char *at = memchr(auth, '@', auth_len);
  if (at) host = at + 1;
  size_t host_part = auth_len - (size_t)(host - auth);
  const char *port = NULL;
  const char *close_bracket = (host_part && host[0] == '[') ? memchr(host, ']', host_part) : NULL;
  const char *colon_from = close_bracket ? close_bracket : host;
  const char *colon = memchr(colon_from, ':', host_part - (size_t)(colon_from - host));
  size_t host_len = host_part;
  if (colon) {
    port = colon + 1;
    host_len = (size_t)(colon - host);
  }
  size_t port_len = port ? host_part - (size_t)(port - host) : 0;
  bool default_port =
      port && ((scheme_len == 4 && strncasecmp(url, "http", 4) == 0 && port_len == 2 &&
                memcmp(port, "80", 2) == 0) ||
               (scheme_len == 5 && strncasecmp(url, "https", 5) == 0 && port_len == 3 &&
                memcmp(port, "443", 3) == 0));

  if (append_lower(out, url, scheme_len) || sp_buf_append(out, "://", 3) ||
      (at && sp_buf_append(out, auth, (size_t)(at - auth) + 1)) ||
      append_lower(out, host, host_len))
    return SP_ERR_NOMEM;
  if (port && !default_port &&
      (sp_buf_append_byte(out, ':') || sp_buf_append(out, port, port_len)))
    return SP_ERR_NOMEM;

  const char *rest = auth + auth_len;
  size_t path_len = strcspn(rest, "?#");
  if (sp_buf_append(out, rest, path_len)) return SP_ERR_NOMEM;
  rest += path_len;
  if (*rest == '?') {
    rest++;
    size_t query_len = strcspn(rest, "#");
    bool first = true;
    const char *end = rest + query_len;
    while (rest < end) {
      const char *amp = memchr(rest, '&', (size_t)(end - rest));
      size_t n = amp ? (size_t)(amp - rest) : (size_t)(end - rest);
      if (n > 0 && !(n >= 4 && strncasecmp(rest, "utm_", 4) == 0)) {
        if (sp_buf_append_byte(out, first ? '?' : '&') || sp_buf_append(out, rest, n))
          return SP_ERR_NOMEM;
        first = false;
      }
      rest += n + (amp ? 1 : 0);
    }
  }
  if (out->len == 0 && sp_buf_reserve(out, 0)) return SP_ERR_NOMEM;
  return SP_OK;
}

int sp_news_article_id(const char *url, char id[SP_SHA256_HEX_LEN + 1]) {
  sp_buf canon = SP_BUF_INIT;
  int rc = sp_news_canonical_url(url, &canon);
  if (rc == SP_OK) sp_sha256_hex(canon.data, canon.len, id);
  sp_buf_free(&canon);
  return rc;
}

/* ---- the (article_id, ticker) set ------------------------------------------------------- */

struct sp_source_news_seen {
  char **slots; /* open addressing; NULL = empty */
  size_t cap, count;
};

int sp_news_seen_new(struct sp_source_news_seen **out) {
  *out = calloc(1, sizeof **out);
  return *out ? SP_OK : SP_ERR_NOMEM;
}

void sp_news_seen_free(struct sp_source_news_seen *seen) {
  if (!seen) return;
  for (size_t i = 0; i < seen->cap; i++) free(seen->slots[i]);
  free(seen->slots);
  free(seen);
}

static size_t hash_text(const char *s) {
  size_t h = 1469598103934665603u; /* FNV-1a */
  for (; *s; s++) h = (h ^ (unsigned char)*s) * 1099511628211u;
  return h;
}

static int seen_grow(struct sp_source_news_seen *seen) {
  size_t cap = seen->cap ? seen->cap * 2 : 256;
  char **slots = calloc(cap, sizeof *slots);
  if (!slots) return SP_ERR_NOMEM;
  for (size_t i = 0; i < seen->cap; i++) {
    if (!seen->slots[i]) continue;
    size_t j = hash_text(seen->slots[i]) & (cap - 1);
    while (slots[j]) j = (j + 1) & (cap - 1);
    slots[j] = seen->slots[i];
  }
  free(seen->slots);
  seen->slots = slots;
  seen->cap = cap;
  return SP_OK;
}

int sp_news_seen_add(struct sp_source_news_seen *seen, const char *article_id,
                     const char *ticker, bool *fresh) {
  if ((seen->count + 1) * 2 > seen->cap && seen_grow(seen) != SP_OK) return SP_ERR_NOMEM;
  size_t alen = strlen(article_id), tlen = strlen(ticker);
  char *pair = malloc(alen + tlen + 2);
  if (!pair) return SP_ERR_NOMEM;
  memcpy(pair, article_id, alen);
  pair[alen] = '/';
  memcpy(pair + alen + 1, ticker, tlen + 1);
  size_t j = hash_text(pair) & (seen->cap - 1);
  while (seen->slots[j]) {
    if (strcmp(seen->slots[j], pair) == 0) {
      free(pair);
      *fresh = false;
      return SP_OK;
    }
    j = (j + 1) & (seen->cap - 1);
  }
  seen->slots[j] = pair;
  seen->count++;
  *fresh = true;
  return SP_OK;
}

/* ---- company-name matching ---------------------------------------------------------------- */

static const char *const legal_suffixes[] = {
    "Inc.", "Inc", "Incorporated", "Corporation", "Corp.", "Corp", "Co.", "Company", "plc",
    "PLC", "Ltd.", "Ltd", "Limited", "N.V.", "S.A.", "SE", "AG", "L.P.", "LP", "Holdings",
    "Group", "&", "Class", "A", "B", "C"};

static bool is_legal_suffix(const char *word, size_t n) {
  for (size_t i = 0; i < sizeof legal_suffixes / sizeof legal_suffixes[0]; i++)
    if (strlen(legal_suffixes[i]) == n && memcmp(legal_suffixes[i], word, n) == 0) return true;
  return false;
}

/* The matchable part of a company name: up to a '(' or ',', then without trailing
 * legal-form words ("Apple Inc." -> "Apple").  Returns its length (from `name`). */
size_t sp_news_company_core_length(const char *name) {
  size_t n = strcspn(name, "(,");
  for (;;) {
    while (n > 0 && name[n - 1] == ' ') n--;
    size_t start = n;
    while (start > 0 && name[start - 1] != ' ') start--;
    if (start == 0 || !is_legal_suffix(name + start, n - start)) return n;
    n = start;
  }
}

/* Single words too common in headlines to identify a company on their own ("News
 * Corp" → "News", "General Mills" is fine). */
static const char *const generic_words[] = {"News",    "General", "Global", "United", "American",
                                            "First",   "National", "International", "Public",
                                            "Southern", "Digital", "Federal", "Universal", "Match"};

static bool is_generic_name(const char *name, size_t n) {
  for (size_t i = 0; i < sizeof generic_words / sizeof generic_words[0]; i++)
    if (strlen(generic_words[i]) == n && memcmp(generic_words[i], name, n) == 0) return true;
  return false;
}

static bool word_boundary(const char *text, const char *pos, size_t len) {
  bool before = pos == text || !isalnum((unsigned char)pos[-1]);
  bool after = !isalnum((unsigned char)pos[len]);
  return before && after;
}

int sp_news_match_companies(const char *text, const sp_source_company *companies,
                            size_t ncompanies, int (*fn)(void *arg, const char *symbol),
                            void *arg) {
  if (!text) return SP_OK;
  for (size_t i = 0; i < ncompanies; i++) {
    const char *name = companies[i].name;
    if (!name) continue;
    size_t n = sp_news_company_core_length(name);
    if (n < 4 || is_generic_name(name, n)) continue;
    size_t text_len = strlen(text);
    for (const char *p = text; (p = memmem(p, text_len - (size_t)(p - text), name, n)); p++) {
      if (word_boundary(text, p, n)) {
        int rc = fn(arg, companies[i].symbol);
        if (rc != 0) return rc;
        break;
      }
    }
  }
  return SP_OK;
}

/* ---- rows ------------------------------------------------------------------------------------ */

typedef struct ticker_list {
  const char *symbols[SP_NEWS_MAX_TICKERS * 2];
  double provider_sentiment[SP_NEWS_MAX_TICKERS * 2];
  int count;
} ticker_list;

static void ticker_list_add(ticker_list *list, const char *symbol, double sentiment) {
  for (int i = 0; i < list->count; i++)
    if (strcmp(list->symbols[i], symbol) == 0) {
      if (isnan(list->provider_sentiment[i])) list->provider_sentiment[i] = sentiment;
      return;
    }
  if (list->count < SP_NEWS_MAX_TICKERS * 2) {
    list->symbols[list->count] = symbol;
    list->provider_sentiment[list->count++] = sentiment;
  }
}

static int add_matched(void *arg, const char *symbol) {
  ticker_list_add(arg, symbol, NAN);
  return 0;
}

/* The round's own spelling of `symbol` (provider symbols may use BRK.B), or NULL
 * when the round has a ticker list and the symbol is not in it. */
static const char *universe_symbol(const sp_source_round *r, const char *symbol) {
  if (!r->tickers || r->ntickers == 0) return symbol;
  for (size_t i = 0; i < r->ntickers; i++) {
    const char *t = r->tickers[i];
    size_t n = strlen(t);
    if (strlen(symbol) != n) continue;
    size_t k = 0;
    while (k < n && (t[k] == symbol[k] || (t[k] == '-' && symbol[k] == '.'))) k++;
    if (k == n) return t;
  }
  return NULL;
}

/* Sentiment of headline + summary: the round's scorer when it has one, else the
 * analytics scorer (analytics/sentiment.h). */
static int score_article(const sp_source_round *r, const sp_news_article *article,
                         sp_source_sentiment *out, sp_error *err) {
  if (r->sentiment) {
    sp_buf text = SP_BUF_INIT;
    int rc = sp_buf_append_str(&text, article->headline);
    if (rc == SP_OK && article->summary) rc = sp_buf_printf(&text, ". %s", article->summary);
    if (rc == SP_OK) rc = r->sentiment(r->arg, (const char *)text.data, out);
    sp_buf_free(&text);
    return rc == SP_OK ? SP_OK
                       : sp_error_set(err, rc, "sentiment scoring of %s failed", article->url);
  }
  sp_sentiment s;
  int rc = sp_sentiment_score_article(NULL, article->headline, strlen(article->headline),
                                      article->summary,
                                      article->summary ? strlen(article->summary) : 0, &s, err);
  if (rc != SP_OK) return rc;
  out->score = s.score;
  out->label = sp_sentiment_label_name(s.label);
  out->subjectivity = s.subjectivity;
  return SP_OK;
}

void sp_news_unreadable(sp_news_article *article, const cJSON *item, const char *name) {
  const cJSON *value = cJSON_GetObjectItemCaseSensitive(item, name);
  char *text = value && !cJSON_IsNull(value) ? cJSON_PrintUnformatted(value) : NULL;
  if (!value) snprintf(article->unreadable, sizeof article->unreadable, "%s missing", name);
  else if (cJSON_IsNull(value)) snprintf(article->unreadable, sizeof article->unreadable, "%s is null", name);
  else snprintf(article->unreadable, sizeof article->unreadable, "%s %.80s unreadable", name, text ? text : "?");
  cJSON_free(text);
}

static bool blank(const char *s) {
  while (s && isspace((unsigned char)*s)) s++;
  return !s || !*s;
}

/* What could be read of an article that makes no rows, to the quarantine. */
static int reject_article(sp_source_ctx *ctx, const sp_news_article *article, const char *query_ticker,
                          const char *rule, const char *detail, const char *request, sp_error *err) {
  sp_row row;
  if (sp_row_init(&row, sp_dataset_get(SP_DS_NEWS)) != SP_OK) return sp_error_set(err, SP_ERR_NOMEM, "out of memory");
  char id[SP_SHA256_HEX_LEN + 1];
  int rc = SP_OK;
  if (article->url && sp_news_article_id(article->url, id) == SP_OK)
    rc = sp_row_set_cstr(&row, sp_row_col(&row, "article_id"), id);
  if (!rc) rc = sp_row_set_cstr(&row, sp_row_col(&row, "ticker"), query_ticker);
  if (!rc && !article->unreadable[0])
    rc = sp_row_set_i64(&row, sp_row_col(&row, "published_at"), article->published_at);
  if (!rc) rc = sp_row_set_cstr(&row, sp_row_col(&row, "headline"), article->headline);
  if (!rc) rc = sp_row_set_cstr(&row, sp_row_col(&row, "summary"), article->summary);
  if (!rc) rc = sp_row_set_cstr(&row, sp_row_col(&row, "publisher"), article->publisher);
  if (!rc) rc = sp_row_set_cstr(&row, sp_row_col(&row, "url"), article->url);
  if (rc) rc = sp_error_set(err, SP_ERR_NOMEM, "out of memory");
  else rc = sp_source_reject(ctx, &(sp_source_bad_item){rule, detail, article->raw, NULL, &row}, request, err);
  sp_row_clear(&row);
  return rc;
}

int sp_news_emit_article(sp_source_ctx *ctx, const sp_news_article *article,
                         const char *query_ticker, const char *request, sp_error *err) {
  const sp_source_round *r = ctx->round;
  char id[SP_SHA256_HEX_LEN + 1], detail[240];
  if (article->unreadable[0])
    return reject_article(ctx, article, query_ticker, "item_unparseable", article->unreadable, request, err);
  if (!article->url || sp_news_article_id(article->url, id) != SP_OK) {
    snprintf(detail, sizeof detail, article->url ? "url \"%.200s\" is not an absolute URL (scheme://host)" : "url missing",
             article->url);
    return reject_article(ctx, article, query_ticker, "url_invalid", detail, request, err);
  }
  if (blank(article->headline))
    return reject_article(ctx, article, query_ticker, "headline_empty",
                          article->headline ? "headline is blank" : "headline missing", request, err);

  ticker_list tickers = {.count = 0};
  for (int i = 0; i < article->ntickers; i++) {
    const char *t = universe_symbol(r, article->tickers[i]);
    if (t) ticker_list_add(&tickers, t, article->provider_sentiment[i]);
  }
  if (query_ticker) ticker_list_add(&tickers, query_ticker, NAN);
  sp_news_match_companies(article->headline, r->companies, r->ncompanies, add_matched, &tickers);
  sp_news_match_companies(article->summary, r->companies, r->ncompanies, add_matched, &tickers);
  if (tickers.count == 0) { /* not about a company of the round: not ours */
    sp_source_count_skip(ctx->provider->name, "no_tracked_ticker", article->url);
    return SP_OK;
  }

  sp_source_sentiment s;
  int rc = score_article(r, article, &s, err);
  if (rc != SP_OK) return rc;

  sp_row row;
  if (sp_row_init(&row, sp_dataset_get(SP_DS_NEWS)) != SP_OK)
    return sp_error_set(err, SP_ERR_NOMEM, "out of memory");
  for (int i = 0; i < tickers.count && rc == SP_OK; i++) {
    sp_row_reset(&row);
    rc = sp_row_set_cstr(&row, sp_row_col(&row, "article_id"), id);
    if (!rc) rc = sp_row_set_cstr(&row, sp_row_col(&row, "ticker"), tickers.symbols[i]);
    if (!rc) rc = sp_row_set_i64(&row, sp_row_col(&row, "published_at"), article->published_at);
    if (!rc) rc = sp_row_set_cstr(&row, sp_row_col(&row, "headline"), article->headline);
    if (!rc) rc = sp_row_set_cstr(&row, sp_row_col(&row, "summary"), article->summary);
    if (!rc) rc = sp_row_set_cstr(&row, sp_row_col(&row, "publisher"), article->publisher);
    if (!rc) rc = sp_row_set_cstr(&row, sp_row_col(&row, "url"), article->url);
    if (!rc) rc = sp_row_set_double(&row, sp_row_col(&row, "sentiment_score"), s.score);
    if (!rc) rc = sp_row_set_cstr(&row, sp_row_col(&row, "sentiment_label"), s.label);
    if (!rc) rc = sp_row_set_double(&row, sp_row_col(&row, "sentiment_subjectivity"), s.subjectivity);
    if (!rc)
      rc = sp_row_set_double(&row, sp_row_col(&row, "provider_sentiment"),
                             tickers.provider_sentiment[i]);
    if (rc != SP_OK) {
      rc = sp_error_set(err, rc, "building a news row for %s", article->url);
      break;
    }
    rc = sp_source_emit(ctx, &row, request, err);
  }
  sp_row_clear(&row);
  return rc;
}

int sp_news_emit_to_target(void *target, const sp_news_article *article, sp_error *err) {
  sp_news_target *t = target;
  return sp_news_emit_article(t->ctx, article, t->query_ticker, t->request, err);
}
