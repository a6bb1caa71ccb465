/*
 * shape.c — response shape checks against the providers' field tables, and the
 * round-side reporting of a change: one warning per distinct change per process,
 * the shape-change metric, and the failure of responses missing a required field
 * (see shape.h).
 */
#include "sources/shape.h"

#include "core/log.h"
#include "core/metrics.h"

#include <cJSON.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SHAPE_PATH_MAX 256

static const char *const type_names[] = {"number", "string", "boolean", "array", "object", "text", "object"};

static const char *json_type_name(const cJSON *node) {
  if (cJSON_IsNumber(node)) return "number";
  if (cJSON_IsString(node)) return "string";
  if (cJSON_IsBool(node)) return "boolean";
  if (cJSON_IsArray(node)) return "array";
  if (cJSON_IsObject(node)) return "object";
  return "null";
}

static bool type_matches(const cJSON *node, sp_shape_type type) {
  switch (type) {
  case SP_SHAPE_NUMBER: return cJSON_IsNumber(node);
  case SP_SHAPE_STRING:
  case SP_SHAPE_TEXT: return cJSON_IsString(node);
  case SP_SHAPE_BOOL: return cJSON_IsBool(node);
  case SP_SHAPE_ARRAY: return cJSON_IsArray(node);
  case SP_SHAPE_OBJECT:
  case SP_SHAPE_RECORD: return cJSON_IsObject(node);
  }
  return false;
}

/* ---- the report ------------------------------------------------------------------ */

void sp_shape_report_init(sp_shape_report *report, const sp_shape_spec *spec) {
  memset(report, 0, sizeof *report);
  report->provider = spec->provider;
  report->endpoint = spec->endpoint;
}

/* Append one change unless `path` was reported already. */
static void report_add(sp_shape_report *report, const char *path, sp_shape_need need, const char *fmt,
                       const char *a, const char *b) {
  char quoted[SHAPE_PATH_MAX + 2];
  snprintf(quoted, sizeof quoted, "\"%s\"", path[0] ? path : "(body)");
  if (strstr(report->text, quoted)) return;
  size_t used = strlen(report->text);
  char item[SHAPE_PATH_MAX + 64];
  snprintf(item, sizeof item, fmt, quoted, a, b);
  int n = snprintf(report->text + used, sizeof report->text - used, "%s%s", used ? "; " : "", item);
  if (n < 0 || (size_t)n >= sizeof report->text - used) /* cut: say so */
    memcpy(report->text + sizeof report->text - 4, "\xe2\x80\xa6", 4);
  report->nchanges++;
  if (need == SP_SHAPE_REQUIRED) report->required_changed = true;
}

void sp_shape_report_missing(sp_shape_report *report, const char *path, sp_shape_need need) {
  report_add(report, path, need, "missing field %s%s%s", "", "");
}

void sp_shape_report_type(sp_shape_report *report, const char *path, const char *found,
                          const char *expected, sp_shape_need need) {
  report_add(report, path, need, "%s is %s, expected %s", found, expected);
}

/* ---- the JSON walk ------------------------------------------------------------------ */

typedef struct walk_state {
  const sp_shape_field *field;
  sp_shape_report *report;
  int reached;                      /* places the path led to, present or absent */
  int absent;                       /* of which absent */
  char absent_path[SHAPE_PATH_MAX]; /* the first absent one, up to the missing member */
  char shown[SHAPE_PATH_MAX];       /* the path walked so far, as reported */
} walk_state;

static void note_absent(walk_state *w) {
  if (w->absent++ == 0) snprintf(w->absent_path, sizeof w->absent_path, "%s", w->shown);
  w->reached++;
}

static void wrong_type(walk_state *w, const cJSON *node, const char *expected) {
  sp_shape_report_type(w->report, w->shown, json_type_name(node), expected, w->field->need);
}

/* Follow `rest` (the path left, e.g. ".meta.regularMarketPrice" or "[*].url") from `node`. */
static void walk(const cJSON *node, const char *rest, walk_state *w) {
  if (*rest == '.') rest++;
  if (*rest == '\0') {
    w->reached++;
    if (!cJSON_IsNull(node) && !type_matches(node, w->field->type))
      wrong_type(w, node, type_names[w->field->type]);
    return;
  }
  if (cJSON_IsNull(node)) return; /* no value: nothing below to check */
  size_t shown_len = strlen(w->shown);
  if (*rest == '[') {
    const char *close = strchr(rest, ']');
    if (!close) return; /* malformed spec path */
    if (!cJSON_IsArray(node)) {
      wrong_type(w, node, "array");
      return;
    }
    snprintf(w->shown + shown_len, sizeof w->shown - shown_len, "%.*s", (int)(close - rest + 1), rest);
    if (rest[1] == '*') {
      const cJSON *element;
      cJSON_ArrayForEach(element, node) walk(element, close + 1, w);
    } else {
      const cJSON *element = cJSON_GetArrayItem(node, atoi(rest + 1));
      if (element) walk(element, close + 1, w);
      else note_absent(w);
    }
  } else {
    size_t n = strcspn(rest, ".[");
    if (!cJSON_IsObject(node)) {
      wrong_type(w, node, "object");
      return;
    }
    char name[SHAPE_PATH_MAX];
    snprintf(name, sizeof name, "%.*s", (int)n, rest);
    snprintf(w->shown + shown_len, sizeof w->shown - shown_len, "%s%s", shown_len ? "." : "", name);
    const cJSON *member = cJSON_GetObjectItemCaseSensitive(node, name);
    if (member) walk(member, rest + n, w);
    else note_absent(w);
  }
  w->shown[shown_len] = '\0';
}

/* The value at `path` (indexes only, no [*]), or NULL. */
static const cJSON *resolve(const cJSON *node, const char *path) {
  while (node && *path) {
    if (*path == '.') path++;
    if (*path == '[') {
      node = cJSON_IsArray(node) ? cJSON_GetArrayItem(node, atoi(path + 1)) : NULL;
      const char *close = strchr(path, ']');
      path = close ? close + 1 : "";
    } else {
      size_t n = strcspn(path, ".[");
      char name[SHAPE_PATH_MAX];
      snprintf(name, sizeof name, "%.*s", (int)n, path);
      node = cJSON_IsObject(node) ? cJSON_GetObjectItemCaseSensitive(node, name) : NULL;
      path += n;
    }
  }
  return node;
}

/* ---- new fields ------------------------------------------------------------------------ */

/* Whether `spec` lists `member` of the record at `record`: a field at record.member or
 * below it. */
static bool listed(const sp_shape_spec *spec, const char *record, const char *member) {
  size_t rl = strlen(record), ml = strlen(member);
  for (size_t i = 0; i < spec->nfields; i++) {
    const char *p = spec->fields[i].path;
    if (strncmp(p, record, rl) != 0) continue;
    p += rl;
    if (rl && *p++ != '.') continue;
    if (strncmp(p, member, ml) == 0 && (p[ml] == '\0' || p[ml] == '.' || p[ml] == '[')) return true;
  }
  return false;
}

static void report_new(sp_shape_report *report, const char *record, const char *member) {
  char path[SP_SHAPE_PATH_MAX];
  snprintf(path, sizeof path, "%s%s%s", record, record[0] ? "." : "", member);
  for (int i = 0; i < report->nnew; i++)
    if (strcmp(report->new_fields[i], path) == 0) return;
  if (report->nnew < SP_SHAPE_NEW_MAX) memcpy(report->new_fields[report->nnew++], path, sizeof path);
}

/* Follow `rest` from `node` to the objects of record field `f` and report their
 * members the spec does not list. */
static void scan_new(const cJSON *node, const char *rest, const sp_shape_spec *spec, const sp_shape_field *f,
                     sp_shape_report *report) {
  if (*rest == '.') rest++;
  if (*rest == '\0') {
    const cJSON *member;
    if (cJSON_IsObject(node))
      cJSON_ArrayForEach(member, node) if (member->string && !listed(spec, f->path, member->string))
          report_new(report, f->path, member->string);
    return;
  }
  if (*rest == '[') {
    const char *close = strchr(rest, ']');
    if (!close || !cJSON_IsArray(node)) return;
    if (rest[1] == '*') {
      const cJSON *element;
      cJSON_ArrayForEach(element, node) scan_new(element, close + 1, spec, f, report);
    } else {
      const cJSON *element = cJSON_GetArrayItem(node, atoi(rest + 1));
      if (element) scan_new(element, close + 1, spec, f, report);
    }
    return;
  }
  size_t n = strcspn(rest, ".[");
  char name[SHAPE_PATH_MAX];
  snprintf(name, sizeof name, "%.*s", (int)n, rest);
  const cJSON *member = cJSON_IsObject(node) ? cJSON_GetObjectItemCaseSensitive(node, name) : NULL;
  if (member) scan_new(member, rest + n, spec, f, report);
}

void sp_shape_check_json(const cJSON *root, const sp_shape_spec *spec, sp_shape_report *report) {
  sp_shape_report_init(report, spec);
  for (size_t i = 0; i < spec->nfields; i++) {
    const sp_shape_field *f = &spec->fields[i];
    if (f->need == SP_SHAPE_KNOWN) continue;
    if (f->when) { /* present, not null, not an empty object or array */
      const cJSON *gate = resolve(root, f->when);
      if (!gate || cJSON_IsNull(gate) || ((cJSON_IsObject(gate) || cJSON_IsArray(gate)) && !gate->child))
        continue;
    }
    walk_state w = {.field = f, .report = report};
    walk(root, f->path, &w);
    if (f->need != SP_SHAPE_IF_PRESENT && w.absent > 0 && w.absent == w.reached)
      sp_shape_report_missing(report, w.absent_path, f->need);
  }
  for (size_t i = 0; i < spec->nfields; i++)
    if (spec->fields[i].type == SP_SHAPE_RECORD) scan_new(root, spec->fields[i].path, spec, &spec->fields[i], report);
}

void sp_shape_check_body(const char *body, size_t len, const sp_shape_spec *spec, sp_shape_report *report) {
  cJSON *root = cJSON_ParseWithLength(body ? body : "", body ? len : 0);
  if (root) sp_shape_check_json(root, spec, report);
  else sp_shape_report_init(report, spec);
  cJSON_Delete(root);
}

/* ---- reporting during a round ------------------------------------------------------ */

/* Changes already warned about, as "provider\nendpoint\ntext" (kept for the process;
 * at most WARNED_MAX, so a provider answering in ever new shapes cannot grow memory
 * without bound: past that, new changes are only counted, as one warning says). */
#define WARNED_MAX 256
typedef struct warned_change {
  struct warned_change *next;
  char key[];
} warned_change;
static warned_change *warned;
static size_t nwarned;
static pthread_mutex_t warned_mutex = PTHREAD_MUTEX_INITIALIZER;

/* True the first time this (provider, endpoint, changes) is seen in the process (also
 * when memory runs out: better a repeated warning than none). */
static bool first_time(const char *provider, const char *endpoint, const char *changes) {
  size_t len = strlen(provider) + strlen(endpoint) + strlen(changes) + 3;
  warned_change *w = malloc(sizeof *w + len);
  if (!w) return true;
  snprintf(w->key, len, "%s\n%s\n%s", provider, endpoint, changes);
  static bool said_full;
  pthread_mutex_lock(&warned_mutex);
  bool seen = false;
  for (const warned_change *c = warned; c && !seen; c = c->next) seen = strcmp(c->key, w->key) == 0;
  bool full = !seen && nwarned >= WARNED_MAX;
  if (!seen && !full) {
    w->next = warned;
    warned = w;
    nwarned++;
  }
  if (full && !said_full) {
    said_full = true;
    SP_WARN("source", "%d distinct response shape changes warned: further ones are only counted", WARNED_MAX);
  }
  pthread_mutex_unlock(&warned_mutex);
  if (seen || full) free(w);
  return !seen && !full;
}

int sp_source_report_shape(sp_source_ctx *ctx, const sp_shape_report *report, const char *url, sp_error *err) {
  if (report->nchanges == 0 && report->nnew == 0) return SP_OK;
  ctx->report->shape_changes++;
  if (sp_metrics_record_shape_change(report->provider, report->endpoint) != SP_OK)
    SP_WARN("source", "%s %s: out of memory counting a shape change", report->provider, report->endpoint);
  for (int i = 0; i < report->nnew; i++) {
    char change[SP_SHAPE_PATH_MAX + 16];
    snprintf(change, sizeof change, "new field \"%s\"", report->new_fields[i]);
    if (first_time(report->provider, report->endpoint, change))
      SP_WARN("source", "%s %s: response shape changed: %s (not read by the parser; first seen in %s)",
              report->provider, report->endpoint, change, url ? url : "?");
  }
  if (report->nchanges == 0) return SP_OK;
  if (first_time(report->provider, report->endpoint, report->text))
    SP_WARN("source", "%s %s: response shape changed: %s (%s; first seen in %s)", report->provider,
            report->endpoint, report->text,
            report->required_changed ? "such responses are not parsed and count as failed requests"
                                     : "the affected columns are stored as null",
            url ? url : "?");
  if (!report->required_changed) return SP_OK;
  ctx->failure_reported = true; /* the warning above (or an earlier one) said it all */
  return sp_error_set(err, SP_ERR_PARSE, "%s %s: response shape changed: %s", report->provider,
                      report->endpoint, report->text);
}

int sp_source_check_shape(sp_source_ctx *ctx, const sp_shape_spec *spec, const sp_http_response *resp,
                          sp_error *err) {
  const char *body = (const char *)resp->body.data;
  sp_shape_report report;
  sp_shape_check_body(body, resp->body.len, spec, &report);
  if (report.nchanges == 0 && report.nnew == 0) return SP_OK;
  char said[16]; /* an error body is the failure path's business, not a shape change */
  if (ctx->provider->explain_error && ctx->provider->explain_error(body, resp->body.len, said, sizeof said))
    return SP_OK;
  return sp_source_report_shape(ctx, &report, resp->url, err);
}
