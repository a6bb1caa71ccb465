/*
 * config.c — loading and validating stockpipe.yaml (see config.h).
 *
 * libyaml's document API gives a node tree with line/column marks.  Values are
 * stored through the option tables of config_schema.c (one generic setter per
 * value type), then cross-references are checked against the same tree so every
 * message can point at the offending text.  Problems are collected, not fatal:
 * the loader keeps going and reports up to SP_CONFIG_MAX_ERRORS of them.
 */
#include "core/config.h"

#include "core/array.h"
#include "core/config_schema.h"
#include "core/log.h"
#include "sources/source.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <yaml.h>

static const char builtin_name[] = "<built-in defaults>";

_Static_assert(sizeof(sp_dataset_id) == sizeof(int), "enums are stored through int pointers");
_Static_assert(sizeof(sp_channel_type) == sizeof(int), "enums are stored through int pointers");
_Static_assert(sizeof(sp_log_level) == sizeof(int), "enums are stored through int pointers");

/* ---- small helpers ------------------------------------------------------------- */

static void strlist_free(sp_strlist *l) {
  for (size_t i = 0; i < l->count; i++) free(l->items[i]);
  free(l->items);
  l->items = NULL;
  l->count = 0;
}

static int strlist_push(sp_strlist *l, const char *s) {
  char *copy = strdup(s);
  char **items = copy ? realloc(l->items, (l->count + 1) * sizeof *items) : NULL;
  if (!items) {
    free(copy);
    return SP_ERR_NOMEM;
  }
  items[l->count++] = copy;
  l->items = items;
  return SP_OK;
}

static bool strlist_contains(const sp_strlist *l, const char *s) {
  for (size_t i = 0; i < l->count; i++)
    if (strcmp(l->items[i], s) == 0) return true;
  return false;
}

/* Replace *slot with a copy of s (NULL stays NULL). */
static int set_string(char **slot, const char *s) {
  char *copy = NULL;
  if (s && !(copy = strdup(s))) return SP_ERR_NOMEM;
  free(*slot);
  *slot = copy;
  return SP_OK;
}

static size_t edit_distance(const char *a, const char *b) {
  size_t la = strlen(a), lb = strlen(b);
  if (la > 63 || lb > 63) return 64;
  size_t row[64];
  for (size_t j = 0; j <= lb; j++) row[j] = j;
  for (size_t i = 1; i <= la; i++) {
    size_t diag = row[0];
    row[0] = i;
    for (size_t j = 1; j <= lb; j++) {
      size_t up = row[j];
      size_t cost = tolower((unsigned char)a[i - 1]) == tolower((unsigned char)b[j - 1]) ? 0 : 1;
      size_t best = diag + cost;
      if (row[j] + 1 < best) best = row[j] + 1;
      if (row[j - 1] + 1 < best) best = row[j - 1] + 1;
      row[j] = best;
      diag = up;
    }
  }
  return row[lb];
}

/* The candidate closest to `word` when close enough to be a likely typo, else NULL. */
typedef struct suggester {
  const char *word;
  const char *best;
  size_t best_distance;
} suggester;

static void suggest_consider(suggester *s, const char *candidate) {
  size_t d = edit_distance(s->word, candidate);
  size_t limit = strlen(s->word) / 3 + 1;
  if (limit < 2) limit = 2;
  if (d <= limit && (!s->best || d < s->best_distance)) {
    s->best = candidate;
    s->best_distance = d;
  }
}

/* " (did you mean 'x'?)" or "" into buf. */
static const char *suggestion_text(const suggester *s, char *buf, size_t len) {
  if (s->best)
    snprintf(buf, len, " (did you mean '%s'?)", s->best);
  else
    buf[0] = '\0';
  return buf;
}

static void join_words(const char *const *words, char *buf, size_t len) {
  size_t used = 0;
  buf[0] = '\0';
  for (int i = 0; words[i] && used < len; i++)
    used += (size_t)snprintf(buf + used, len - used, "%s%s", i ? ", " : "", words[i]);
}

/* ---- diagnostics ----------------------------------------------------------------- */

/* The four kinds of named components, in the order they are read. */
typedef enum component_kind { KIND_SOURCE, KIND_CHANNEL, KIND_SINK, KIND_AGENT } component_kind;
#define KIND_COUNT 4

typedef struct loader {
  sp_config *cfg;
  sp_config_diag diag;
  int errors;                /* all problems found, kept or not */
  bool nomem;
  yaml_document_t *doc;      /* the document being read */
  const char *file;          /* its name in messages (owned by cfg or static) */
  /* The YAML mapping of each component, by kind and index in the config's array. */
  yaml_node_t **nodes[KIND_COUNT];
} loader;

static void diag_vadd(sp_config_diag *d, const char *file, int line, int column, const char *fmt, va_list ap) {
  if (d->count >= SP_CONFIG_MAX_ERRORS) {
    d->dropped++;
    return;
  }
  char *m = d->messages[d->count++];
  int n = line > 0 ? snprintf(m, SP_ERROR_MSG_MAX, "%s:%d:%d: ", file, line, column)
                   : snprintf(m, SP_ERROR_MSG_MAX, "%s: ", file);
  if (n > 0 && n < SP_ERROR_MSG_MAX) vsnprintf(m + n, (size_t)(SP_ERROR_MSG_MAX - n), fmt, ap);
}

static void diag_add(sp_config_diag *d, const char *file, int line, int column, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));
static void diag_add(sp_config_diag *d, const char *file, int line, int column, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  diag_vadd(d, file, line, column, fmt, ap);
  va_end(ap);
}

/* Report a problem at `node` (NULL = no position). */
static void report(loader *L, const yaml_node_t *node, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void report(loader *L, const yaml_node_t *node, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  L->errors++;
  diag_vadd(&L->diag, L->file, node ? (int)node->start_mark.line + 1 : 0, node ? (int)node->start_mark.column + 1 : 0,
            fmt, ap);
  va_end(ap);
}

static void report_mark(loader *L, const sp_config_mark *mark, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void report_mark(loader *L, const sp_config_mark *mark, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  L->errors++;
  diag_vadd(&L->diag, mark->file, mark->line, mark->column, fmt, ap);
  va_end(ap);
}

void sp_config_diag_print(const sp_config_diag *diag, FILE *out) {
  for (int i = 0; i < diag->count; i++) {
    char line[SP_ERROR_MSG_MAX];
    snprintf(line, sizeof line, "%s", diag->messages[i]);
    sp_redact(line);
    fprintf(out, "%s\n", line);
  }
  if (diag->dropped) fprintf(out, "(%d more error%s not shown)\n", diag->dropped, diag->dropped == 1 ? "" : "s");
}

/* ---- YAML node helpers -------------------------------------------------------------- */

static yaml_node_t *node_at(loader *L, int id) { return yaml_document_get_node(L->doc, id); }

static const char *scalar(const yaml_node_t *n) { return (const char *)n->data.scalar.value; }

static bool is_null(const yaml_node_t *n) {
  if (n->type != YAML_SCALAR_NODE || n->data.scalar.style != YAML_PLAIN_SCALAR_STYLE) return false;
  const char *s = scalar(n);
  return !*s || strcmp(s, "~") == 0 || strcmp(s, "null") == 0 || strcmp(s, "Null") == 0 || strcmp(s, "NULL") == 0;
}

static const char *node_kind(const yaml_node_t *n) {
  if (n->type == YAML_SEQUENCE_NODE) return "a list";
  if (n->type == YAML_MAPPING_NODE) return "a mapping";
  if (is_null(n)) return "nothing (null)";
  return "a scalar";
}

static sp_config_mark mark_of(loader *L, const yaml_node_t *n) {
  sp_config_mark m = {L->file, (int)n->start_mark.line + 1, (int)n->start_mark.column + 1};
  return m;
}

/* Value node of `key` in mapping `map`, or NULL. */
static yaml_node_t *map_get(loader *L, yaml_node_t *map, const char *key) {
  if (!map || map->type != YAML_MAPPING_NODE) return NULL;
  for (yaml_node_pair_t *p = map->data.mapping.pairs.start; p < map->data.mapping.pairs.top; p++) {
    yaml_node_t *k = node_at(L, p->key);
    if (k && k->type == YAML_SCALAR_NODE && strcmp(scalar(k), key) == 0) return node_at(L, p->value);
  }
  return NULL;
}

/* Report keys that are not scalars or appear twice; returns false if any. */
static bool check_keys(loader *L, yaml_node_t *map, const char *ctx) {
  bool ok = true;
  for (yaml_node_pair_t *p = map->data.mapping.pairs.start; p < map->data.mapping.pairs.top; p++) {
    yaml_node_t *k = node_at(L, p->key);
    if (k->type != YAML_SCALAR_NODE) {
      report(L, k, "%skeys must be plain names, found %s", ctx, node_kind(k));
      ok = false;
      continue;
    }
    for (yaml_node_pair_t *q = map->data.mapping.pairs.start; q < p; q++) {
      yaml_node_t *first = node_at(L, q->key);
      if (first->type == YAML_SCALAR_NODE && strcmp(scalar(first), scalar(k)) == 0) {
        report(L, k, "%sduplicate key '%s' (first given at line %d)", ctx, scalar(k),
               (int)first->start_mark.line + 1);
        ok = false;
        break;
      }
    }
  }
  return ok;
}

static int parse_document(const char *text, size_t len, yaml_document_t *doc, const char *file,
                          sp_config_diag *diag) {
  yaml_parser_t parser;
  if (!yaml_parser_initialize(&parser)) return SP_ERR_NOMEM;
  yaml_parser_set_input_string(&parser, (const unsigned char *)text, len);
  int rc = SP_OK;
  if (!yaml_parser_load(&parser, doc)) {
    if (parser.error == YAML_MEMORY_ERROR) {
      rc = SP_ERR_NOMEM;
    } else {
      diag_add(diag, file, (int)parser.problem_mark.line + 1, (int)parser.problem_mark.column + 1,
               "YAML syntax error: %s%s%s", parser.problem ? parser.problem : "malformed document",
               parser.context ? " " : "", parser.context ? parser.context : "");
      rc = SP_ERR_CONFIG;
    }
  }
  yaml_parser_delete(&parser);
  return rc;
}

/* ---- typed value setters ----------------------------------------------------------- */

/* ctx: "sink 'x': " or "pipeline."; path: the key path inside ("compression", "log.level"). */
#define WHERE "%s%s: "

static bool expect_scalar(loader *L, const yaml_node_t *n, const char *ctx, const char *path, const char *what) {
  if (n->type == YAML_SCALAR_NODE && !is_null(n)) return true;
  report(L, n, WHERE "expected %s, found %s", ctx, path, what, node_kind(n));
  return false;
}

static bool parse_int_text(const char *s, int64_t *v) {
  if (!*s) return false;
  char *end;
  errno = 0;
  long long x = strtoll(s, &end, 10);
  if (*end || errno == ERANGE) return false;
  *v = x;
  return true;
}

static bool check_range(loader *L, const yaml_node_t *n, const char *ctx, const char *path, const sp_option *opt,
                        double v) {
  if (v >= opt->min && v <= opt->max) return true;
  report(L, n, WHERE "%s is out of range (%.15g to %.15g)", ctx, path, scalar(n), opt->min, opt->max);
  return false;
}

static bool valid_symbol(const char *s) {
  size_t n = strlen(s);
  if (n == 0 || n > 20) return false;
  for (; *s; s++)
    if (!isalnum((unsigned char)*s) && !strchr(".-^=", *s)) return false;
  return true;
}

/* A sequence of scalars into `out` (replacing it).  allowed: element values or NULL;
 * symbols: validate as ticker symbols. */
static bool set_list(loader *L, yaml_node_t *n, const char *ctx, const char *path, const char *const *allowed,
                     bool symbols, size_t min_items, sp_strlist *out) {
  if (n->type != YAML_SEQUENCE_NODE) {
    report(L, n, WHERE "expected a list, found %s", ctx, path, node_kind(n));
    return false;
  }
  sp_strlist list = {NULL, 0};
  bool ok = true;
  for (yaml_node_item_t *it = n->data.sequence.items.start; it < n->data.sequence.items.top; it++) {
    yaml_node_t *item = node_at(L, *it);
    if (!expect_scalar(L, item, ctx, path, "a name in the list")) {
      ok = false;
      continue;
    }
    const char *v = scalar(item);
    if (allowed) {
      bool found = false;
      for (int i = 0; allowed[i]; i++) found |= strcmp(allowed[i], v) == 0;
      if (!found) {
        char words[512], hint[128];
        suggester s = {v, NULL, 0};
        for (int i = 0; allowed[i]; i++) suggest_consider(&s, allowed[i]);
        join_words(allowed, words, sizeof words);
        report(L, item, WHERE "unknown value '%s'%s (allowed: %s)", ctx, path, v, suggestion_text(&s, hint, sizeof hint),
               words);
        ok = false;
        continue;
      }
    }
    if (symbols && !valid_symbol(v)) {
      report(L, item, WHERE "'%s' is not a ticker symbol (letters, digits, '.', '-', '^', '=')", ctx, path, v);
      ok = false;
      continue;
    }
    if (strlist_contains(&list, v)) {
      report(L, item, WHERE "'%s' is listed twice", ctx, path, v);
      ok = false;
      continue;
    }
    if (strlist_push(&list, v)) L->nomem = true;
  }
  if (ok && list.count < min_items) {
    report(L, n, WHERE "the list must not be empty", ctx, path);
    ok = false;
  }
  if (!ok) {
    strlist_free(&list);
    return false;
  }
  strlist_free(out);
  *out = list;
  return true;
}

static bool valid_listen(const char *s) {
  if (!*s) return true;
  const char *colon = strrchr(s, ':');
  if (!colon || colon == s) return false;
  if (s[0] == '[' && colon[-1] != ']') return false;
  int64_t port;
  return parse_int_text(colon + 1, &port) && port >= 1 && port <= 65535;
}

static bool apply_table(loader *L, const sp_option_table *table, void *base, yaml_node_t *map, const char *ctx,
                        const char *path_prefix, const char *variant, const char *variant_label, bool *given);

/* Store the value `n` of option `opt` into the struct at `base`. */
static bool set_option(loader *L, const sp_option *opt, void *base, yaml_node_t *n, const char *ctx,
                       const char *path) {
  void *field = (char *)base + opt->offset;
  switch (opt->type) {
    case SP_OPT_STRING:
    case SP_OPT_LISTEN: {
      if (n->type != YAML_SCALAR_NODE || is_null(n)) {
        report(L, n, WHERE "expected a string, found %s%s", ctx, path, node_kind(n),
               is_null(n) ? " (write \"\" for an empty string)" : "");
        return false;
      }
      if ((opt->flags & SP_OPT_NONEMPTY) && !*scalar(n)) {
        report(L, n, WHERE "must not be empty", ctx, path);
        return false;
      }
      if (opt->type == SP_OPT_LISTEN && !valid_listen(scalar(n))) {
        report(L, n, WHERE "expected \"host:port\" (port 1-65535) or \"\" for off, found '%s'", ctx, path, scalar(n));
        return false;
      }
      if (set_string((char **)field, scalar(n))) L->nomem = true;
      return true;
    }
    case SP_OPT_INT:
    case SP_OPT_DAYS: {
      if (!expect_scalar(L, n, ctx, path, opt->type == SP_OPT_INT ? "an integer" : "a period (<N>d, <N>w, <N>y)"))
        return false;
      const char *s = scalar(n);
      int64_t v;
      bool ok = n->data.scalar.style == YAML_PLAIN_SCALAR_STYLE;
      if (ok && opt->type == SP_OPT_DAYS) {
        size_t len = strlen(s);
        char num[32];
        int mult = 1;
        if (len > 1 && len < sizeof num && strchr("dwy", s[len - 1])) {
          mult = s[len - 1] == 'd' ? 1 : s[len - 1] == 'w' ? 7 : 365;
          memcpy(num, s, len - 1);
          num[len - 1] = '\0';
          ok = parse_int_text(num, &v) && v >= 0 && v <= INT32_MAX;
          v *= mult;
        } else {
          ok = false;
        }
      } else if (ok) {
        ok = parse_int_text(s, &v);
      }
      if (!ok) {
        report(L, n, WHERE "expected %s, found '%s'", ctx, path,
               opt->type == SP_OPT_INT ? "an integer" : "a period like 60d, 8w or 2y", s);
        return false;
      }
      if (!check_range(L, n, ctx, path, opt, (double)v)) return false;
      *(int64_t *)field = v;
      return true;
    }
    case SP_OPT_NUMBER: {
      if (!expect_scalar(L, n, ctx, path, "a number")) return false;
      char *end;
      double v = strtod(scalar(n), &end);
      if (n->data.scalar.style != YAML_PLAIN_SCALAR_STYLE || *end || end == scalar(n) || !isfinite(v)) {
        report(L, n, WHERE "expected a number, found '%s'", ctx, path, scalar(n));
        return false;
      }
      if (!check_range(L, n, ctx, path, opt, v)) return false;
      *(double *)field = v;
      return true;
    }
    case SP_OPT_BOOL: {
      if (!expect_scalar(L, n, ctx, path, "true or false")) return false;
      const char *s = scalar(n);
      bool t = strcasecmp(s, "true") == 0, f = strcasecmp(s, "false") == 0;
      if ((!t && !f) || n->data.scalar.style != YAML_PLAIN_SCALAR_STYLE) {
        report(L, n, WHERE "expected true or false, found '%s'", ctx, path, s);
        return false;
      }
      *(bool *)field = t;
      return true;
    }
    case SP_OPT_ENUM: {
      char words[512];
      join_words(opt->allowed, words, sizeof words);
      if (n->type != YAML_SCALAR_NODE || is_null(n)) {
        report(L, n, WHERE "expected one of %s, found %s", ctx, path, words, node_kind(n));
        return false;
      }
      for (int i = 0; opt->allowed[i]; i++) {
        if (strcmp(opt->allowed[i], scalar(n)) == 0) {
          *(int *)field = i;
          return true;
        }
      }
      char hint[128];
      suggester s = {scalar(n), NULL, 0};
      for (int i = 0; opt->allowed[i]; i++) suggest_consider(&s, opt->allowed[i]);
      report(L, n, WHERE "unknown value '%s'%s (allowed: %s)", ctx, path, scalar(n),
             suggestion_text(&s, hint, sizeof hint), words);
      return false;
    }
    case SP_OPT_LIST:
      return set_list(L, n, ctx, path, opt->allowed, false, (size_t)opt->min, (sp_strlist *)field);
    case SP_OPT_SYMBOLS:
      return set_list(L, n, ctx, path, NULL, true, (size_t)opt->min, (sp_strlist *)field);
    case SP_OPT_TICKERS: {
      sp_tickers *t = field;
      if (n->type == YAML_SEQUENCE_NODE) {
        if (!set_list(L, n, ctx, path, NULL, true, 1, &t->list)) return false;
        t->kind = SP_TICKERS_LIST;
        return true;
      }
      if (n->type == YAML_SCALAR_NODE && (strcmp(scalar(n), "mag7") == 0 || strcmp(scalar(n), "sp500") == 0)) {
        strlist_free(&t->list);
        t->kind = strcmp(scalar(n), "mag7") == 0 ? SP_TICKERS_MAG7 : SP_TICKERS_SP500;
        return true;
      }
      report(L, n, WHERE "expected mag7, sp500 or a list of symbols, found %s%s%s%s", ctx, path, node_kind(n),
             n->type == YAML_SCALAR_NODE ? " '" : "", n->type == YAML_SCALAR_NODE ? scalar(n) : "",
             n->type == YAML_SCALAR_NODE ? "'" : "");
      return false;
    }
    case SP_OPT_SCHEDULE: {
      if (!expect_scalar(L, n, ctx, path, "a schedule (30m, 1h, 1d, 1w or a cron expression)")) return false;
      sp_error err;
      if (sp_schedule_parse(scalar(n), (sp_schedule *)field, &err)) {
        report(L, n, WHERE "%s", ctx, path, err.msg);
        return false;
      }
      return true;
    }
    case SP_OPT_SECTION: {
      if (n->type != YAML_MAPPING_NODE) {
        report(L, n, WHERE "expected a mapping of %s settings, found %s", ctx, path, opt->key, node_kind(n));
        return false;
      }
      char prefix[256];
      snprintf(prefix, sizeof prefix, "%s.", path);
      return apply_table(L, opt->section, base, n, ctx, prefix, NULL, NULL, NULL);
    }
  }
  return false;
}

/* Apply the table's default text to every option that applies to `variant` and has
 * a non-derived default (sections recurse). */
static void apply_defaults(loader *L, const sp_option_table *table, void *base, const char *variant) {
  for (size_t i = 0; i < table->count; i++) {
    const sp_option *opt = &table->options[i];
    if (!sp_option_applies(opt, variant)) continue;
    if (opt->type == SP_OPT_SECTION) {
      apply_defaults(L, opt->section, base, NULL);
      continue;
    }
    if (!opt->def || (opt->flags & SP_OPT_DERIVED)) continue;
    yaml_document_t doc;
    sp_config_diag scratch = {0};
    int rc = parse_document(opt->def, strlen(opt->def), &doc, "<option table>", &scratch);
    if (rc) {
      if (rc == SP_ERR_NOMEM) L->nomem = true;
      continue;
    }
    yaml_document_t *saved_doc = L->doc;
    const char *saved_file = L->file;
    L->doc = &doc;
    L->file = "<option table>";
    yaml_node_t *root = yaml_document_get_root_node(&doc);
    if (root) set_option(L, opt, base, root, table->name, opt->key);
    L->doc = saved_doc;
    L->file = saved_file;
    yaml_document_delete(&doc);
  }
}

/* Apply the mapping `map` through `table` onto `base`.  `variant` is the value of
 * the table's discriminator (NULL when unknown); given[i] is set for each option
 * row written.  Returns false if anything was wrong. */
static bool apply_table(loader *L, const sp_option_table *table, void *base, yaml_node_t *map, const char *ctx,
                        const char *path_prefix, const char *variant, const char *variant_label, bool *given) {
  bool ok = check_keys(L, map, ctx);
  for (yaml_node_pair_t *p = map->data.mapping.pairs.start; p < map->data.mapping.pairs.top; p++) {
    yaml_node_t *k = node_at(L, p->key), *v = node_at(L, p->value);
    if (k->type != YAML_SCALAR_NODE) continue;
    const char *key = scalar(k);
    if (map_get(L, map, key) != v) continue; /* a repeated key, reported by check_keys */
    char path[256];
    snprintf(path, sizeof path, "%s%s", path_prefix, key);
    const sp_option *match = NULL;
    const sp_option *named = NULL;
    for (size_t i = 0; i < table->count; i++) {
      if (strcmp(table->options[i].key, key) != 0) continue;
      named = &table->options[i];
      if (sp_option_applies(named, variant)) {
        match = named;
        break;
      }
    }
    if (!named) {
      char hint[128];
      suggester s = {key, NULL, 0};
      for (size_t i = 0; i < table->count; i++) suggest_consider(&s, table->options[i].key);
      report(L, k, "%sunknown key '%s'%s", ctx, path, suggestion_text(&s, hint, sizeof hint));
      ok = false;
      continue;
    }
    if (!match) {
      if (variant) {
        char users[256] = "";
        size_t used = 0;
        for (size_t i = 0; i < table->count; i++)
          if (strcmp(table->options[i].key, key) == 0 && table->options[i].applies_to && used < sizeof users)
            used += (size_t)snprintf(users + used, sizeof users - used, "%s%s", used ? " " : "",
                                     table->options[i].applies_to);
        report(L, k, "%skey '%s' does not apply to %s '%s' (only to: %s)", ctx, path, variant_label, variant, users);
        ok = false;
      }
      continue;
    }
    if (!set_option(L, match, base, v, ctx, path)) {
      ok = false;
      continue;
    }
    if (given) {
      /* every row with this key shares the field: mark them all given */
      for (size_t i = 0; i < table->count; i++)
        if (strcmp(table->options[i].key, key) == 0) given[i] = true;
    }
  }
  return ok;
}

/* Free everything the table's options own inside `base`. */
static void free_table_fields(const sp_option_table *table, void *base) {
  for (size_t i = 0; i < table->count; i++) {
    const sp_option *opt = &table->options[i];
    void *field = (char *)base + opt->offset;
    switch (opt->type) {
      case SP_OPT_STRING:
      case SP_OPT_LISTEN:
        free(*(char **)field);
        *(char **)field = NULL;
        break;
      case SP_OPT_LIST:
      case SP_OPT_SYMBOLS:
        strlist_free(field);
        break;
      case SP_OPT_TICKERS:
        strlist_free(&((sp_tickers *)field)->list);
        break;
      case SP_OPT_SECTION:
        free_table_fields(opt->section, base);
        break;
      default:
        break;
    }
  }
}

/* ---- names ------------------------------------------------------------------------- */

int sp_provider_id_from_name(const char *name) {
  for (int i = 0; i < SP_PROVIDER_COUNT; i++)
    if (strcmp(sp_provider_names[i], name) == 0) return i;
  return -1;
}

const char *sp_provider_name(sp_provider_id id) {
  return (unsigned)id < SP_PROVIDER_COUNT ? sp_provider_names[id] : "?";
}

static const char *enum_name(const sp_option_table *table, const char *key, int value) {
  for (size_t i = 0; i < table->count; i++)
    if (strcmp(table->options[i].key, key) == 0 && table->options[i].allowed) {
      for (int j = 0; table->options[i].allowed[j]; j++)
        if (j == value) return table->options[i].allowed[j];
    }
  return "?";
}

const char *sp_channel_type_name(sp_channel_type t) { return enum_name(&sp_channel_options, "type", (int)t); }
const char *sp_sink_type_name(sp_sink_type t) { return enum_name(&sp_sink_options, "type", (int)t); }
const char *sp_file_format_name(sp_file_format f) { return enum_name(&sp_sink_options, "format", (int)f); }
const char *sp_compression_name(sp_compression c) { return enum_name(&sp_sink_options, "compression", (int)c); }
const char *sp_bar_interval_name(sp_bar_interval b) { return enum_name(&sp_source_options, "bar_interval", (int)b); }

/* ---- paths ------------------------------------------------------------------------- */

char *sp_path_join(const char *base, const char *relative) {
  if (relative[0] == '/' || !base || !*base || strcmp(base, ".") == 0) return strdup(relative);
  char *out;
  size_t bl = strlen(base);
  bool slash = base[bl - 1] == '/';
  if (asprintf(&out, "%s%s%s", base, slash ? "" : "/", relative) < 0) return NULL;
  return out;
}

/* The project layout keeps the config in config/ and SPEC §3 spells paths from the
 * project folder ("config/credentials.json"), so a relative path starting with the
 * config folder's own name is taken from that folder's parent:
 * config/stockpipe.yaml + config/sp500.csv = config/sp500.csv, not config/config/. */
char *sp_config_resolve_path(const sp_config *cfg, const char *relative) {
  const char *base = cfg->base_dir;
  if (relative[0] == '/' || strcmp(base, ".") == 0) return strdup(relative);
  const char *slash = strrchr(base, '/');
  const char *folder = slash ? slash + 1 : base;
  size_t fl = strlen(folder);
  if (fl && strcmp(folder, "..") != 0 && strncmp(relative, folder, fl) == 0 && relative[fl] == '/') {
    char *parent = slash ? strndup(base, (size_t)(slash - base) + (slash == base)) : strdup(".");
    if (!parent) return NULL;
    char *out = sp_path_join(parent, relative);
    free(parent);
    return out;
  }
  return sp_path_join(base, relative);
}

static int replace_owned(char **slot, char *value) {
  if (!value) return SP_ERR_NOMEM;
  free(*slot);
  *slot = value;
  return SP_OK;
}

static int resolve_paths(sp_config *cfg) {
  sp_config_pipeline *p = &cfg->pipeline;
  int rc = replace_owned(&p->credentials_path, sp_config_resolve_path(cfg, p->credentials));
  if (!rc) rc = replace_owned(&p->sp500_path, sp_config_resolve_path(cfg, p->sp500_file));
  if (!rc) rc = replace_owned(&p->log_path, *p->log_file ? sp_config_resolve_path(cfg, p->log_file) : strdup(""));
  for (size_t i = 0; !rc && i < cfg->nchannels; i++) {
    sp_config_channel *c = &cfg->channels[i];
    if (c->type != SP_CHANNEL_FILE || !c->checkpoint_dir || !c->data_dir) continue;
    rc = replace_owned(&c->checkpoint_path, sp_path_join(p->data_dir, c->checkpoint_dir));
    if (!rc) rc = replace_owned(&c->data_path, sp_path_join(p->data_dir, c->data_dir));
  }
  for (size_t i = 0; !rc && i < cfg->nsinks; i++) {
    sp_config_sink *s = &cfg->sinks[i];
    if (s->type == SP_SINK_FILE && s->path) rc = replace_owned(&s->path_template, sp_path_join(p->data_dir, s->path));
  }
  return rc;
}

int sp_config_set_data_dir(sp_config *cfg, const char *data_dir, sp_error *err) {
  if (!data_dir || !*data_dir) return sp_error_set(err, SP_ERR_INVALID, "data directory must not be empty");
  if (set_string(&cfg->pipeline.data_dir, data_dir) || resolve_paths(cfg))
    return sp_error_set(err, SP_ERR_NOMEM, "out of memory setting the data directory");
  return SP_OK;
}

int sp_config_set_credentials_path(sp_config *cfg, const char *path, sp_error *err) {
  if (!path || !*path) return sp_error_set(err, SP_ERR_INVALID, "credentials path must not be empty");
  if (set_string(&cfg->pipeline.credentials, path) || set_string(&cfg->pipeline.credentials_path, path))
    return sp_error_set(err, SP_ERR_NOMEM, "out of memory setting the credentials path");
  return SP_OK;
}

/* ---- components -------------------------------------------------------------------- */

typedef struct component_kind_def {
  const char *name;             /* "source" */
  const char *section;          /* "sources": the top-level key and the agent list key */
  const sp_option_table *table;
  size_t size;                  /* of its struct */
} component_kind_def;

static const component_kind_def kinds[KIND_COUNT] = {
    {"source", "sources", &sp_source_options, sizeof(sp_config_source)},
    {"channel", "channels", &sp_channel_options, sizeof(sp_config_channel)},
    {"sink", "sinks", &sp_sink_options, sizeof(sp_config_sink)},
    {"agent", "agents", &sp_agent_options, sizeof(sp_config_agent)},
};

/* Every component struct starts with `char *name`: generic code reads it there. */
_Static_assert(offsetof(sp_config_source, name) == 0 && offsetof(sp_config_channel, name) == 0 &&
                   offsetof(sp_config_sink, name) == 0 && offsetof(sp_config_agent, name) == 0,
               "component structs start with their name");

static void *component_array(const sp_config *c, component_kind k) {
  switch (k) {
    case KIND_SOURCE: return c->sources;
    case KIND_CHANNEL: return c->channels;
    case KIND_SINK: return c->sinks;
    case KIND_AGENT: return c->agents;
  }
  return NULL;
}

static size_t *component_count_slot(sp_config *c, component_kind k) {
  switch (k) {
    case KIND_SOURCE: return &c->nsources;
    case KIND_CHANNEL: return &c->nchannels;
    case KIND_SINK: return &c->nsinks;
    case KIND_AGENT: return &c->nagents;
  }
  return NULL;
}

/* Give kind k an array of n zeroed structs (count 0); false when out of memory. */
static bool component_array_new(sp_config *c, component_kind k, size_t n) {
  void *array = calloc(n ? n : 1, kinds[k].size);
  if (!array) return false;
  switch (k) {
    case KIND_SOURCE: c->sources = array; break;
    case KIND_CHANNEL: c->channels = array; break;
    case KIND_SINK: c->sinks = array; break;
    case KIND_AGENT: c->agents = array; break;
  }
  return true;
}

static void *component_at(loader *L, component_kind k, size_t i) {
  return (char *)component_array(L->cfg, k) + i * kinds[k].size;
}

static size_t component_count(loader *L, component_kind k) { return *component_count_slot(L->cfg, k); }

static const char **agent_slot(loader *L, component_kind k, size_t i) {
  switch (k) {
    case KIND_SOURCE: return &L->cfg->sources[i].agent;
    case KIND_CHANNEL: return &L->cfg->channels[i].agent;
    case KIND_SINK: return &L->cfg->sinks[i].agent;
    case KIND_AGENT: break;
  }
  return NULL;
}

static sp_config_mark *component_mark(loader *L, component_kind k, size_t i) {
  switch (k) {
    case KIND_SOURCE: return &L->cfg->sources[i].mark;
    case KIND_CHANNEL: return &L->cfg->channels[i].mark;
    case KIND_SINK: return &L->cfg->sinks[i].mark;
    case KIND_AGENT: return &L->cfg->agents[i].mark;
  }
  return NULL;
}

static ssize_t find_component(loader *L, component_kind k, const char *name) {
  size_t n = component_count(L, k);
  for (size_t i = 0; i < n; i++)
    if (strcmp(*(char **)component_at(L, k, i), name) == 0) return (ssize_t)i;
  return -1;
}

static bool valid_name(const char *s) {
  if (!*s) return false;
  for (; *s; s++)
    if (!isalnum((unsigned char)*s) && !strchr("_-.", *s)) return false;
  return true;
}

/* Derived defaults and checks of one component that need only itself. */
static void finish_source(loader *L, sp_config_source *s, yaml_node_t *node) {
  if (s->initial_history_days < 0)
    s->initial_history_days = s->dataset == SP_DS_STOCK_MOVEMENTS ? (s->bar_interval == SP_BAR_1D ? 730 : 60) : 0;
  for (size_t i = 0; i < s->providers.count; i++) {
    int id = sp_provider_id_from_name(s->providers.items[i]);
    if (id < 0 || (sp_provider_module(id)->datasets & SP_SOURCE_DATASET_BIT(s->dataset))) continue;
    char serving[256] = "";
    size_t used = 0;
    for (int p = 0; p < SP_PROVIDER_COUNT; p++)
      if (sp_provider_module(p)->datasets & SP_SOURCE_DATASET_BIT(s->dataset))
        used += (size_t)snprintf(serving + used, sizeof serving - used, "%s%s", used ? ", " : "", sp_provider_names[p]);
    yaml_node_t *list = map_get(L, node, "providers");
    yaml_node_t *at = list && list->type == YAML_SEQUENCE_NODE && (size_t)(list->data.sequence.items.top -
                                                                           list->data.sequence.items.start) > i
                          ? node_at(L, list->data.sequence.items.start[i])
                          : node;
    report(L, at, "source '%s': provider '%s' does not serve dataset '%s' (providers for it: %s)", s->name,
           s->providers.items[i], sp_dataset_names[s->dataset], serving);
  }
}

static bool valid_path_template(const char *p, char *bad) {
  for (; *p; p++) {
    if (*p != '%') continue;
    p++;
    if (!*p || !strchr("YmdH%", *p)) {
      *bad = *p ? *p : '?';
      return false;
    }
  }
  return true;
}

static void finish_channel(loader *L, sp_config_channel *c, yaml_node_t *node) {
  if (c->type != SP_CHANNEL_KAFKA && c->transaction_capacity > c->capacity) {
    yaml_node_t *at = map_get(L, node, "transactionCapacity");
    report(L, at ? at : node, "channel '%s': transactionCapacity %lld exceeds capacity %lld", c->name,
           (long long)c->transaction_capacity, (long long)c->capacity);
  }
  if (c->type == SP_CHANNEL_KAFKA && c->max_poll_interval_ms < c->session_timeout_ms) {
    yaml_node_t *at = map_get(L, node, "max_poll_interval_ms");
    report(L, at ? at : node, "channel '%s': max_poll_interval_ms %lld is below session_timeout_ms %lld", c->name,
           (long long)c->max_poll_interval_ms, (long long)c->session_timeout_ms);
  }
  if (c->type == SP_CHANNEL_FILE) {
    char dflt[512];
    if (!c->checkpoint_dir) {
      snprintf(dflt, sizeof dflt, ".channels/%s/checkpoint", c->name);
      if (set_string(&c->checkpoint_dir, dflt)) L->nomem = true;
    }
    if (!c->data_dir) {
      snprintf(dflt, sizeof dflt, ".channels/%s/data", c->name);
      if (set_string(&c->data_dir, dflt)) L->nomem = true;
    }
    if (c->checkpoint_dir && c->data_dir && strcmp(c->checkpoint_dir, c->data_dir) == 0) {
      yaml_node_t *at = map_get(L, node, "data_dir");
      report(L, at ? at : node, "channel '%s': checkpoint_dir and data_dir must differ", c->name);
    }
  }
}

static void finish_sink(loader *L, sp_config_sink *s, yaml_node_t *node) {
  s->dataset = -1;
  if (s->type == SP_SINK_FILE) {
    char bad;
    if (s->path && !valid_path_template(s->path, &bad)) {
      yaml_node_t *at = map_get(L, node, "path");
      report(L, at ? at : node, "sink '%s': path: unknown escape '%%%c' (allowed: %%Y %%m %%d %%H %%%%)", s->name, bad);
    }
    if ((int)s->compression == SP_COMPRESSION_SNAPPY && s->format != SP_FORMAT_PARQUET) {
      yaml_node_t *at = map_get(L, node, "compression");
      report(L, at ? at : node, "sink '%s': compression snappy is for parquet only (use zstd, gzip or uncompressed with %s)",
             s->name, sp_file_format_name(s->format));
    }
  }
}

/* Read one component section (`sources:` ...) into the config. */
static void load_components(loader *L, component_kind kind, yaml_node_t *section) {
  if (!section || is_null(section)) return;
  if (section->type != YAML_MAPPING_NODE) {
    report(L, section, "%s: expected a mapping of %s names to settings, found %s", kinds[kind].section,
           kinds[kind].name, node_kind(section));
    return;
  }
  char section_ctx[32];
  snprintf(section_ctx, sizeof section_ctx, "%s: ", kinds[kind].section);
  check_keys(L, section, section_ctx);
  size_t n = (size_t)(section->data.mapping.pairs.top - section->data.mapping.pairs.start);
  L->nodes[kind] = calloc(n ? n : 1, sizeof *L->nodes[kind]);
  if (!L->nodes[kind] || !component_array_new(L->cfg, kind, n)) {
    L->nomem = true;
    return;
  }
  size_t *count = component_count_slot(L->cfg, kind);
  const sp_option_table *table = kinds[kind].table;
  for (yaml_node_pair_t *p = section->data.mapping.pairs.start; p < section->data.mapping.pairs.top; p++) {
    yaml_node_t *k = node_at(L, p->key), *v = node_at(L, p->value);
    if (k->type != YAML_SCALAR_NODE) continue;
    const char *name = scalar(k);
    if (find_component(L, kind, name) >= 0) continue; /* duplicate, reported */
    if (!valid_name(name)) {
      report(L, k, "%s name '%s' may hold only letters, digits, '_', '-' and '.'", kinds[kind].name, name);
      continue;
    }
    void *comp = component_at(L, kind, *count);
    L->nodes[kind][*count] = v;
    (*count)++;
    if (set_string((char **)comp, name)) {
      L->nomem = true;
      continue;
    }
    sp_config_mark mark = mark_of(L, k);
    char ctx[300];
    snprintf(ctx, sizeof ctx, "%s '%s': ", kinds[kind].name, name);
    /* `name:` with nothing after it is a component with every default */
    bool settings_ok = v->type == YAML_MAPPING_NODE || is_null(v);
    if (!settings_ok) report(L, v, "%sexpected a mapping of settings, found %s", ctx, node_kind(v));
    /* discriminator first: it decides which rows apply */
    const char *variant = NULL;
    const char *variant_label = table->discriminator;
    if (table->discriminator) {
      yaml_node_t *d = v->type == YAML_MAPPING_NODE ? map_get(L, v, table->discriminator) : NULL;
      const sp_option *dopt = NULL;
      for (size_t i = 0; i < table->count; i++)
        if (strcmp(table->options[i].key, table->discriminator) == 0) dopt = &table->options[i];
      if (d) {
        if (set_option(L, dopt, comp, d, ctx, dopt->key)) variant = dopt->allowed[*(int *)((char *)comp + dopt->offset)];
      } else if (dopt->flags & SP_OPT_REQUIRED) {
        char words[512];
        join_words(dopt->allowed, words, sizeof words);
        report(L, k, "%smissing required key '%s' (one of: %s)", ctx, dopt->key, words);
      } else {
        variant = dopt->def;
      }
    }
    bool given[SP_OPTION_TABLE_MAX] = {false};
    /* defaults first; apply_table then sets the discriminator again from the file */
    apply_defaults(L, table, comp, variant);
    *component_mark(L, kind, *count - 1) = mark;
    /* "not given" markers for defaults derived once the whole graph is known */
    if (kind == KIND_SOURCE) ((sp_config_source *)comp)->initial_history_days = -1;
    if (kind == KIND_SINK) ((sp_config_sink *)comp)->compression = (sp_compression)-1;
    if (kind == KIND_CHANNEL) ((sp_config_channel *)comp)->dataset = -1; /* kafka `dataset`, else from sources */
    if (v->type == YAML_MAPPING_NODE && (variant || !table->discriminator))
      apply_table(L, table, comp, v, ctx, "", variant, variant_label, given);
    if (settings_ok && (variant || !table->discriminator)) {
      for (size_t i = 0; i < table->count; i++) {
        const sp_option *opt = &table->options[i];
        if ((opt->flags & SP_OPT_REQUIRED) && sp_option_applies(opt, variant) && !given[i])
          report(L, k, "%smissing required key '%s'%s%s%s%s", ctx, opt->key, variant ? " for " : "",
                 variant ? variant_label : "", variant ? " " : "", variant ? variant : "");
      }
    }
    switch (kind) {
      case KIND_SOURCE: finish_source(L, comp, v); break;
      case KIND_CHANNEL: finish_channel(L, comp, v); break;
      case KIND_SINK: finish_sink(L, comp, v); break;
      case KIND_AGENT: break;
    }
  }
}

/* ---- agents and bindings ---------------------------------------------------------------- */

/* Report a name that is not a component of `kind`: another kind's, a typo, or unknown. */
static void report_unknown_name(loader *L, yaml_node_t *at, const char *ctx, component_kind kind, const char *name) {
  for (int other = KIND_SOURCE; other <= KIND_SINK; other++) {
    if ((component_kind)other != kind && find_component(L, (component_kind)other, name) >= 0) {
      report(L, at, "%s'%s' is a %s, not a %s", ctx, name, kinds[other].name, kinds[kind].name);
      return;
    }
  }
  char hint[128];
  suggester s = {name, NULL, 0};
  for (size_t i = 0; i < component_count(L, kind); i++) suggest_consider(&s, *(char **)component_at(L, kind, i));
  report(L, at, "%sno %s named '%s'%s", ctx, kinds[kind].name, name, suggestion_text(&s, hint, sizeof hint));
}

/* Give each source/channel/sink its agent; every one must be in exactly one. */
static void check_agents(loader *L) {
  for (size_t a = 0; a < L->cfg->nagents; a++) {
    sp_config_agent *agent = &L->cfg->agents[a];
    yaml_node_t *node = L->nodes[KIND_AGENT][a];
    for (int k = KIND_SOURCE; k <= KIND_SINK; k++) {
      yaml_node_t *list = map_get(L, node, kinds[k].section);
      if (!list || list->type != YAML_SEQUENCE_NODE) continue;
      char ctx[300];
      snprintf(ctx, sizeof ctx, "agent '%s': %s: ", agent->name, kinds[k].section);
      for (yaml_node_item_t *it = list->data.sequence.items.start; it < list->data.sequence.items.top; it++) {
        yaml_node_t *item = node_at(L, *it);
        if (item->type != YAML_SCALAR_NODE) continue; /* reported by the list setter */
        ssize_t idx = find_component(L, (component_kind)k, scalar(item));
        if (idx < 0) {
          report_unknown_name(L, item, ctx, (component_kind)k, scalar(item));
          continue;
        }
        const char **owner = agent_slot(L, (component_kind)k, (size_t)idx);
        if (*owner && *owner != agent->name)
          report(L, item, "%s '%s' belongs to two agents: '%s' and '%s'", kinds[k].name, scalar(item), *owner,
                 agent->name);
        else
          *owner = agent->name;
      }
    }
  }
  for (int k = KIND_SOURCE; k <= KIND_SINK; k++)
    for (size_t i = 0; i < component_count(L, (component_kind)k); i++)
      if (!*agent_slot(L, (component_kind)k, i))
        report_mark(L, component_mark(L, (component_kind)k, i),
                    "%s '%s' belongs to no agent (list it under an agent's %s)", kinds[k].name,
                    *(char **)component_at(L, (component_kind)k, i), kinds[k].section);
}

static void bind_source(loader *L, sp_config_source *src, yaml_node_t *value) {
  char ctx[300];
  snprintf(ctx, sizeof ctx, "bindings: source '%s': ", src->name);
  if (value->type != YAML_SEQUENCE_NODE) {
    report(L, value, "%sexpected a list of channel names, found %s", ctx, node_kind(value));
    return;
  }
  if (value->data.sequence.items.start == value->data.sequence.items.top)
    report(L, value, "%sthe list of channels is empty", ctx);
  for (yaml_node_item_t *it = value->data.sequence.items.start; it < value->data.sequence.items.top; it++) {
    yaml_node_t *item = node_at(L, *it);
    if (item->type != YAML_SCALAR_NODE || is_null(item)) {
      report(L, item, "%sexpected a channel name, found %s", ctx, node_kind(item));
      continue;
    }
    ssize_t idx = find_component(L, KIND_CHANNEL, scalar(item));
    if (idx < 0) {
      report_unknown_name(L, item, ctx, KIND_CHANNEL, scalar(item));
      continue;
    }
    sp_config_channel *ch = &L->cfg->channels[idx];
    if (strlist_contains(&src->channels, ch->name)) {
      report(L, item, "%schannel '%s' is listed twice", ctx, ch->name);
      continue;
    }
    if (strlist_push(&src->channels, ch->name)) L->nomem = true;
    if (src->agent && ch->agent && src->agent != ch->agent)
      report(L, item, "%schannel '%s' belongs to agent '%s', the source to agent '%s'", ctx, ch->name, ch->agent,
             src->agent);
    if (ch->dataset < 0) {
      ch->dataset = (int)src->dataset;
    } else if (ch->dataset != (int)src->dataset) {
      report(L, item, "%schannel '%s' would carry two datasets (%s and %s); a channel carries one", ctx, ch->name,
             sp_dataset_names[ch->dataset], sp_dataset_names[src->dataset]);
    }
  }
}

static void bind_channel(loader *L, sp_config_channel *ch, yaml_node_t *value) {
  char ctx[300];
  snprintf(ctx, sizeof ctx, "bindings: channel '%s': ", ch->name);
  if (value->type != YAML_SCALAR_NODE || is_null(value)) {
    report(L, value, "%sexpected one sink name (a channel is drained by exactly one sink), found %s", ctx,
           node_kind(value));
    return;
  }
  ssize_t idx = find_component(L, KIND_SINK, scalar(value));
  if (idx < 0) {
    report_unknown_name(L, value, ctx, KIND_SINK, scalar(value));
    return;
  }
  sp_config_sink *sink = &L->cfg->sinks[idx];
  if (sink->channel) {
    report(L, value, "%ssink '%s' already drains channel '%s'; a sink drains exactly one channel", ctx, sink->name,
           sink->channel);
    return;
  }
  sink->channel = ch->name;
  ch->sink = sink->name;
  if (sink->agent && ch->agent && sink->agent != ch->agent)
    report(L, value, "%ssink '%s' belongs to agent '%s', the channel to agent '%s'", ctx, sink->name, sink->agent,
           ch->agent);
}

static void check_bindings(loader *L, yaml_node_t *bindings) {
  if (bindings && !is_null(bindings)) {
    if (bindings->type != YAML_MAPPING_NODE) {
      report(L, bindings, "bindings: expected a mapping (source: [channels], channel: sink), found %s",
             node_kind(bindings));
    } else {
      /* a channel bound twice is the "drained by two sinks" case: say so */
      for (yaml_node_pair_t *p = bindings->data.mapping.pairs.start; p < bindings->data.mapping.pairs.top; p++) {
        yaml_node_t *k = node_at(L, p->key);
        if (k->type != YAML_SCALAR_NODE) {
          report(L, k, "bindings: keys must be source or channel names, found %s", node_kind(k));
          continue;
        }
        bool repeated = false;
        for (yaml_node_pair_t *q = bindings->data.mapping.pairs.start; q < p && !repeated; q++) {
          yaml_node_t *first = node_at(L, q->key);
          repeated = first->type == YAML_SCALAR_NODE && strcmp(scalar(first), scalar(k)) == 0;
        }
        const char *name = scalar(k);
        ssize_t si = find_component(L, KIND_SOURCE, name), ci = find_component(L, KIND_CHANNEL, name);
        if (repeated) {
          report(L, k, "bindings: '%s' is bound twice%s", name,
                 ci >= 0 ? " (a channel is drained by exactly one sink)" : "; list all its channels in one entry");
          continue;
        }
        if (si >= 0) {
          bind_source(L, &L->cfg->sources[si], node_at(L, p->value));
        } else if (ci >= 0) {
          bind_channel(L, &L->cfg->channels[ci], node_at(L, p->value));
        } else if (find_component(L, KIND_SINK, name) >= 0) {
          report(L, k, "bindings: '%s' is a sink; bindings map sources to channels and channels to sinks", name);
        } else {
          char hint[128];
          suggester s = {name, NULL, 0};
          for (size_t i = 0; i < L->cfg->nsources; i++) suggest_consider(&s, L->cfg->sources[i].name);
          for (size_t i = 0; i < L->cfg->nchannels; i++) suggest_consider(&s, L->cfg->channels[i].name);
          report(L, k, "bindings: dangling binding: no source or channel named '%s'%s", name,
                 suggestion_text(&s, hint, sizeof hint));
        }
      }
    }
  }
  for (size_t i = 0; i < L->cfg->nsources; i++)
    if (L->cfg->sources[i].channels.count == 0)
      report_mark(L, &L->cfg->sources[i].mark, "source '%s' is bound to no channel (add '%s: [channel]' under bindings)",
                  L->cfg->sources[i].name, L->cfg->sources[i].name);
  for (size_t i = 0; i < L->cfg->nchannels; i++) {
    sp_config_channel *ch = &L->cfg->channels[i];
    if (!ch->sink)
      report_mark(L, &ch->mark,
                  "channel '%s' is drained by no sink (a channel is drained by exactly one sink: add '%s: <sink>' "
                  "under bindings)",
                  ch->name, ch->name);
    if (ch->dataset >= 0) continue;
    if (ch->type == SP_CHANNEL_KAFKA)
      report_mark(L, &ch->mark,
                  "kafka channel '%s' receives from no source: give its 'dataset' (a writer agent's channel) or bind "
                  "a source to it",
                  ch->name);
    else
      report_mark(L, &ch->mark, "channel '%s' receives from no source", ch->name);
  }
  for (size_t i = 0; i < L->cfg->nsinks; i++)
    if (!L->cfg->sinks[i].channel)
      report_mark(L, &L->cfg->sinks[i].mark, "sink '%s' drains no channel (add '<channel>: %s' under bindings)",
                  L->cfg->sinks[i].name, L->cfg->sinks[i].name);
}

/* Defaults that depend on the dataset reaching a sink, and sink/channel limits. */
static void finish_sinks(loader *L) {
  for (size_t i = 0; i < L->cfg->nsinks; i++) {
    sp_config_sink *s = &L->cfg->sinks[i];
    ssize_t ci = s->channel ? find_component(L, KIND_CHANNEL, s->channel) : -1;
    const sp_config_channel *ch = ci >= 0 ? &L->cfg->channels[ci] : NULL;
    if (ch) s->dataset = ch->dataset;
    if (ch && s->batch_size > ch->transaction_capacity) {
      yaml_node_t *at = map_get(L, L->nodes[KIND_SINK][i], "batch_size");
      if (at)
        report(L, at, "sink '%s': batch_size %lld exceeds channel '%s' transactionCapacity %lld", s->name,
               (long long)s->batch_size, ch->name, (long long)ch->transaction_capacity);
      else
        report_mark(L, &s->mark, "sink '%s': batch_size %lld exceeds channel '%s' transactionCapacity %lld", s->name,
                    (long long)s->batch_size, ch->name, (long long)ch->transaction_capacity);
    }
    const sp_dataset_def *ds = s->dataset >= 0 ? sp_dataset_get((sp_dataset_id)s->dataset) : NULL;
    const char *dsname = ds ? ds->name : "unknown";
    char text[512];
    if (s->type == SP_SINK_FILE) {
      if (!s->path) {
        snprintf(text, sizeof text, "%s/%s/%%Y-%%m-%%d", ds ? ds->tier : "unknown", dsname);
        if (set_string(&s->path, text)) L->nomem = true;
      }
      if (!s->file_prefix) {
        snprintf(text, sizeof text, "%s_", dsname);
        if (set_string(&s->file_prefix, text)) L->nomem = true;
      }
      if ((int)s->compression < 0)
        s->compression = s->format != SP_FORMAT_PARQUET                        ? SP_COMPRESSION_UNCOMPRESSED
                         : ds && strcmp(ds->default_compression, "zstd") == 0 ? SP_COMPRESSION_ZSTD
                                                                               : SP_COMPRESSION_SNAPPY;
    } else {
      s->compression = SP_COMPRESSION_UNCOMPRESSED;
    }
    if (s->type == SP_SINK_POSTGRESQL && !s->table && set_string(&s->table, dsname)) L->nomem = true;
    if (s->type == SP_SINK_MONGODB && !s->collection && set_string(&s->collection, dsname)) L->nomem = true;
  }
  /* two file channels sharing a folder would corrupt each other */
  for (size_t i = 0; i < L->cfg->nchannels; i++)
    for (size_t j = 0; j < i; j++) {
      sp_config_channel *a = &L->cfg->channels[j], *b = &L->cfg->channels[i];
      if (a->type != SP_CHANNEL_FILE || b->type != SP_CHANNEL_FILE) continue;
      const char *dirs_a[] = {a->checkpoint_dir, a->data_dir}, *dirs_b[] = {b->checkpoint_dir, b->data_dir};
      for (int x = 0; x < 2; x++)
        for (int y = 0; y < 2; y++)
          if (dirs_a[x] && dirs_b[y] && strcmp(dirs_a[x], dirs_b[y]) == 0)
            report_mark(L, &b->mark, "channel '%s' uses folder '%s' already used by channel '%s'", b->name, dirs_b[y],
                        a->name);
    }
}

/* ---- providers and pipeline -------------------------------------------------------- */

static void load_providers(loader *L, yaml_node_t *section) {
  if (!section || is_null(section)) return;
  if (section->type != YAML_MAPPING_NODE) {
    report(L, section, "providers: expected a mapping of provider names to settings, found %s", node_kind(section));
    return;
  }
  check_keys(L, section, "providers: ");
  for (yaml_node_pair_t *p = section->data.mapping.pairs.start; p < section->data.mapping.pairs.top; p++) {
    yaml_node_t *k = node_at(L, p->key), *v = node_at(L, p->value);
    if (k->type != YAML_SCALAR_NODE) continue;
    int id = sp_provider_id_from_name(scalar(k));
    if (id < 0) {
      char words[256], hint[128];
      suggester s = {scalar(k), NULL, 0};
      for (int i = 0; sp_provider_names[i]; i++) suggest_consider(&s, sp_provider_names[i]);
      join_words(sp_provider_names, words, sizeof words);
      report(L, k, "providers: unknown provider '%s'%s (known: %s)", scalar(k), suggestion_text(&s, hint, sizeof hint),
             words);
      continue;
    }
    char ctx[128];
    snprintf(ctx, sizeof ctx, "provider '%s': ", scalar(k));
    if (v->type != YAML_MAPPING_NODE) {
      report(L, v, "providers: %s: expected a mapping of settings, found %s", scalar(k), node_kind(v));
      continue;
    }
    apply_table(L, &sp_provider_options, &L->cfg->providers[id], v, ctx, "", NULL, NULL, NULL);
  }
}

static void load_pipeline(loader *L, yaml_node_t *section) {
  if (!section || is_null(section)) return;
  if (section->type != YAML_MAPPING_NODE) {
    report(L, section, "pipeline: expected a mapping of settings, found %s", node_kind(section));
    return;
  }
  apply_table(L, &sp_pipeline_options, &L->cfg->pipeline, section, "pipeline: ", "", NULL, NULL, NULL);
}

static const char *const top_level_keys[] = {"pipeline", "agents", "sources", "channels", "sinks", "bindings",
                                             "providers", NULL};

static bool has_pipeline_sections(loader *L, yaml_node_t *root) {
  for (int i = 1; i <= 5; i++)
    if (map_get(L, root, top_level_keys[i])) return true;
  return false;
}

/* Report unknown top-level keys; false when the root is not a mapping. */
static bool check_root(loader *L, yaml_node_t *root) {
  if (!root || (root->type == YAML_SCALAR_NODE && is_null(root))) return true;
  if (root->type != YAML_MAPPING_NODE) {
    report(L, root, "expected a mapping with pipeline, agents, sources, channels, sinks, bindings, providers; found %s",
           node_kind(root));
    return false;
  }
  check_keys(L, root, "");
  for (yaml_node_pair_t *p = root->data.mapping.pairs.start; p < root->data.mapping.pairs.top; p++) {
    yaml_node_t *k = node_at(L, p->key);
    if (k->type != YAML_SCALAR_NODE) continue;
    bool known = false;
    for (int i = 0; top_level_keys[i]; i++) known |= strcmp(top_level_keys[i], scalar(k)) == 0;
    if (known) continue;
    char hint[128];
    suggester s = {scalar(k), NULL, 0};
    for (int i = 0; top_level_keys[i]; i++) suggest_consider(&s, top_level_keys[i]);
    report(L, k, "unknown key '%s'%s", scalar(k), suggestion_text(&s, hint, sizeof hint));
  }
  return true;
}

/* ---- loading ---------------------------------------------------------------------------- */

static void free_source(sp_config_source *s) {
  free_table_fields(&sp_source_options, s);
  free(s->name);
  strlist_free(&s->channels);
}

static void free_channel(sp_config_channel *c) {
  free_table_fields(&sp_channel_options, c);
  free(c->name);
  free(c->checkpoint_path);
  free(c->data_path);
}

static void free_sink(sp_config_sink *s) {
  free_table_fields(&sp_sink_options, s);
  free(s->name);
  free(s->path_template);
}

/* ---- passwords inside connection strings ---------------------------------------- */

/* The `user:password@` part of a URI's authority: offset of the password, or -1. */
static long uri_userinfo_password(const char *conn, size_t *len) {
  const char *scheme_end = strstr(conn, "://");
  if (!scheme_end) return -1;
  const char *authority = scheme_end + 3;
  size_t authority_len = strcspn(authority, "/?#");
  const char *at = NULL;
  for (const char *p = authority; p < authority + authority_len; p++)
    if (*p == '@') at = p;
  if (!at) return -1;
  const char *colon = memchr(authority, ':', (size_t)(at - authority));
  if (!colon) return -1;
  *len = (size_t)(at - colon - 1);
  return *len ? (long)(colon + 1 - conn) : -1;
}

long sp_connection_password_next(const char *conn, size_t from, size_t *len) {
  size_t total = strlen(conn);
  if (from >= total) return -1;
  long userinfo = uri_userinfo_password(conn, len);
  if (userinfo >= 0 && (size_t)userinfo >= from) return userinfo;
  bool uri = strstr(conn, "://") != NULL;
  static const char key[] = "password";
  for (size_t i = from; i + sizeof key - 1 <= total; i++) {
    if (i > 0 && !isspace((unsigned char)conn[i - 1]) && conn[i - 1] != '?' && conn[i - 1] != '&') continue;
    if (strncasecmp(conn + i, key, sizeof key - 1) != 0) continue;
    size_t v = i + sizeof key - 1;
    while (conn[v] == ' ' || conn[v] == '\t') v++;
    if (conn[v] != '=') continue;
    v++;
    while (conn[v] == ' ' || conn[v] == '\t') v++;
    size_t end = v;
    if (!uri && conn[v] == '\'') { /* libpq quoted value: \' and \\ are escapes */
      v++;
      for (end = v; conn[end] && conn[end] != '\''; end++)
        if (conn[end] == '\\' && conn[end + 1]) end++;
    } else {
      end = v + (uri ? strcspn(conn + v, "&#") : strcspn(conn + v, " \t\r\n"));
    }
    if (end == v) continue;
    *len = end - v;
    return (long)v;
  }
  return -1;
}

/* Register every password of the config's connection strings as a log secret. */
static void register_connection_secrets(const sp_config *cfg) {
  for (size_t i = 0; i < cfg->nsinks; i++) {
    const char *conns[] = {cfg->sinks[i].connection_string, cfg->sinks[i].uri};
    for (size_t c = 0; c < sizeof conns / sizeof conns[0]; c++) {
      if (!conns[c]) continue;
      size_t len = 0;
      for (long at = sp_connection_password_next(conns[c], 0, &len); at >= 0;
           at = sp_connection_password_next(conns[c], (size_t)at + len, &len)) {
        char *secret = strndup(conns[c] + at, len);
        if (!secret) continue; /* out of memory: the sinks register it again when they open */
        sp_log_add_secret(secret);
        free(secret);
      }
    }
  }
}

void sp_config_free(sp_config *cfg) {
  if (!cfg) return;
  for (size_t i = 0; i < cfg->nsources; i++) free_source(&cfg->sources[i]);
  for (size_t i = 0; i < cfg->nchannels; i++) free_channel(&cfg->channels[i]);
  for (size_t i = 0; i < cfg->nsinks; i++) free_sink(&cfg->sinks[i]);
  for (size_t i = 0; i < cfg->nagents; i++) {
    free_table_fields(&sp_agent_options, &cfg->agents[i]);
    free(cfg->agents[i].name);
  }
  free(cfg->sources);
  free(cfg->channels);
  free(cfg->sinks);
  free(cfg->agents);
  for (int i = 0; i < SP_PROVIDER_COUNT; i++) free_table_fields(&sp_provider_options, &cfg->providers[i]);
  free_table_fields(&sp_pipeline_options, &cfg->pipeline);
  free(cfg->pipeline.credentials_path);
  free(cfg->pipeline.sp500_path);
  free(cfg->pipeline.log_path);
  free(cfg->file);
  free(cfg->base_dir);
  free(cfg);
}

static sp_config *config_new(const char *file) {
  sp_config *cfg = calloc(1, sizeof *cfg);
  if (!cfg) return NULL;
  bool ok = true;
  if (file) {
    ok = (cfg->file = strdup(file)) != NULL;
    const char *slash = strrchr(file, '/');
    cfg->base_dir = slash ? strndup(file, (size_t)(slash - file) + (slash == file)) : strdup(".");
  } else {
    cfg->base_dir = strdup(".");
  }
  ok = ok && cfg->base_dir;
  for (int i = 0; i < SP_PROVIDER_COUNT; i++) {
    const sp_source_provider *module = sp_provider_module(i);
    sp_config_provider *p = &cfg->providers[i];
    p->id = (sp_provider_id)i;
    p->name = sp_provider_names[i];
    p->base_url = strdup(module->http.base_url);
    ok = ok && p->base_url;
    p->rate_limit = module->http.rate_limit;
    p->max_in_flight = module->http.max_in_flight;
    p->timeout = module->http.timeout_ms / 1000;
    p->daily_limit = module->daily_limit;
    p->needs_key = module->credential != NULL;
  }
  if (!ok) {
    sp_config_free(cfg);
    return NULL;
  }
  return cfg;
}

/* Read agents/sources/channels/sinks/bindings from the document in L. */
static void load_pipeline_graph(loader *L, yaml_node_t *root) {
  load_components(L, KIND_SOURCE, map_get(L, root, "sources"));
  load_components(L, KIND_CHANNEL, map_get(L, root, "channels"));
  load_components(L, KIND_SINK, map_get(L, root, "sinks"));
  load_components(L, KIND_AGENT, map_get(L, root, "agents"));
  /* one name, one component: bindings and agents look names up across kinds */
  for (int a = KIND_SOURCE; a <= KIND_SINK; a++)
    for (int b = a + 1; b <= KIND_SINK; b++)
      for (size_t i = 0; i < component_count(L, (component_kind)b); i++) {
        const char *name = *(char **)component_at(L, (component_kind)b, i);
        if (find_component(L, (component_kind)a, name) >= 0)
          report_mark(L, component_mark(L, (component_kind)b, i),
                      "name '%s' is used by a %s and a %s; names must be unique across sources, channels and sinks",
                      name, kinds[a].name, kinds[b].name);
      }
  check_agents(L);
  check_bindings(L, map_get(L, root, "bindings"));
  finish_sinks(L);
}

int sp_config_load_string(const char *yaml, size_t len, const char *name, sp_config **out, sp_config_diag *diag) {
  *out = NULL;
  loader L;
  memset(&L, 0, sizeof L);
  if (diag) memset(diag, 0, sizeof *diag);
  L.cfg = config_new(name);
  if (!L.cfg) return SP_ERR_NOMEM;
  yaml_document_t builtin, file;
  bool have_file = false;
  int rc = parse_document(sp_config_default_yaml, strlen(sp_config_default_yaml), &builtin, builtin_name, &L.diag);
  if (rc == SP_OK && yaml) {
    rc = parse_document(yaml, len, &file, L.cfg->file, &L.diag);
    if (rc) yaml_document_delete(&builtin);
    have_file = rc == SP_OK;
  }
  if (rc) {
    if (diag) *diag = L.diag;
    sp_config_free(L.cfg);
    return rc;
  }

  /* pipeline: table defaults, then the built-in document, then the file */
  apply_defaults(&L, &sp_pipeline_options, &L.cfg->pipeline, NULL);
  L.doc = &builtin;
  L.file = builtin_name;
  yaml_node_t *builtin_root = yaml_document_get_root_node(&builtin);
  load_pipeline(&L, map_get(&L, builtin_root, "pipeline"));
  yaml_node_t *file_root = NULL;
  bool graph_from_file = false;
  if (have_file) {
    L.doc = &file;
    L.file = L.cfg->file;
    file_root = yaml_document_get_root_node(&file);
    if (check_root(&L, file_root) && file_root && file_root->type == YAML_MAPPING_NODE) {
      load_pipeline(&L, map_get(&L, file_root, "pipeline"));
      load_providers(&L, map_get(&L, file_root, "providers"));
      graph_from_file = has_pipeline_sections(&L, file_root);
    }
  }
  if (graph_from_file) {
    load_pipeline_graph(&L, file_root);
  } else {
    L.doc = &builtin;
    L.file = builtin_name;
    load_pipeline_graph(&L, builtin_root);
  }
  for (int k = 0; k < KIND_COUNT; k++) free(L.nodes[k]);
  if (have_file) yaml_document_delete(&file);
  yaml_document_delete(&builtin);

  const char *env_dir = getenv("STOCKPIPE_DATA_DIR");
  if (env_dir && *env_dir && set_string(&L.cfg->pipeline.data_dir, env_dir)) L.nomem = true;
  if (!L.nomem && L.errors == 0 && resolve_paths(L.cfg)) L.nomem = true;

  if (diag) *diag = L.diag;
  if (L.nomem || L.errors) {
    sp_config_free(L.cfg);
    return L.nomem ? SP_ERR_NOMEM : SP_ERR_CONFIG;
  }
  register_connection_secrets(L.cfg);
  *out = L.cfg;
  return SP_OK;
}

int sp_config_load(const char *path, sp_config **out, sp_config_diag *diag) {
  *out = NULL;
  if (diag) memset(diag, 0, sizeof *diag);
  if (!path) return sp_config_load_string(NULL, 0, NULL, out, diag);
  FILE *f = fopen(path, "rb");
  struct stat st;
  if (f && (fstat(fileno(f), &st) != 0 || S_ISDIR(st.st_mode))) {
    fclose(f);
    f = NULL;
    errno = EISDIR;
  }
  if (!f) {
    if (diag) diag_add(diag, path, 0, 0, "cannot read config file: %s", strerror(errno));
    return SP_ERR_IO;
  }
  char *text = NULL;
  size_t len = 0, cap = 0;
  int rc = SP_OK;
  for (;;) {
    if (SP_ARRAY_RESERVE(text, cap, len + 4096, 8192)) {
      rc = SP_ERR_NOMEM;
      break;
    }
    size_t n = fread(text + len, 1, cap - len - 1, f);
    len += n;
    if (n == 0) break;
  }
  if (rc == SP_OK && ferror(f)) {
    if (diag) diag_add(diag, path, 0, 0, "cannot read config file: %s", strerror(errno));
    rc = SP_ERR_IO;
  }
  fclose(f);
  if (rc == SP_OK) rc = sp_config_load_string(text, len, path, out, diag);
  free(text);
  return rc;
}

const char *sp_config_locate(const char *cli_path) {
  if (cli_path) return cli_path;
  const char *env = getenv("STOCKPIPE_CONFIG");
  if (env && *env) return env;
  struct stat st;
  if (stat("config/stockpipe.yaml", &st) == 0 && S_ISREG(st.st_mode)) return "config/stockpipe.yaml";
  return NULL;
}

/* ---- lookups ---------------------------------------------------------------------------- */

#define FIND_BY_NAME(array, count)                                  \
  for (size_t i = 0; name && i < (count); i++)                     \
    if (strcmp((array)[i].name, name) == 0) return &(array)[i];     \
  return NULL

const sp_config_source *sp_config_find_source(const sp_config *cfg, const char *name) {
  FIND_BY_NAME(cfg->sources, cfg->nsources);
}
const sp_config_channel *sp_config_find_channel(const sp_config *cfg, const char *name) {
  FIND_BY_NAME(cfg->channels, cfg->nchannels);
}
const sp_config_sink *sp_config_find_sink(const sp_config *cfg, const char *name) {
  FIND_BY_NAME(cfg->sinks, cfg->nsinks);
}
const sp_config_agent *sp_config_find_agent(const sp_config *cfg, const char *name) {
  FIND_BY_NAME(cfg->agents, cfg->nagents);
}

void sp_config_provider_apply(const sp_config_provider *p, sp_http_provider_settings *settings) {
  settings->base_url = p->base_url;
  settings->rate_limit = p->rate_limit;
  settings->max_in_flight = (int)p->max_in_flight;
  settings->timeout_ms = (int)(p->timeout * 1000);
}

const sp_config_provider *sp_config_find_provider(const sp_config *cfg, const char *name) {
  int id = name ? sp_provider_id_from_name(name) : -1;
  return id < 0 ? NULL : &cfg->providers[id];
}
