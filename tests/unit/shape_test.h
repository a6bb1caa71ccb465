/*
 * shape_test.h — for the providers' shape-change tests (sources/shape.h): load a
 * fixture (a real capture where one exists), change its shape the way a provider
 * might (remove or rename a field, give it another JSON type) and check it against
 * the provider's field table.  Paths use the tables' syntax ("a.b[0].c", "[*]" for
 * every element).
 */
#ifndef STOCKPIPE_TESTS_SHAPE_TEST_H
#define STOCKPIPE_TESTS_SHAPE_TEST_H

#include "fake_transport.h"
#include "sources/shape.h"

#include <cJSON.h>

typedef enum shape_action { SHAPE_REMOVE, SHAPE_RENAME, SHAPE_SET } shape_action;

typedef struct shape_edit {
  const char *path;   /* the member to change */
  shape_action action;
  const char *arg;    /* RENAME: the new name; SET: the new value as JSON text */
} shape_edit;

static inline void shape_apply(cJSON *object, const char *name, const shape_edit *e) {
  assert_non_null(cJSON_GetObjectItemCaseSensitive(object, name));
  if (e->action == SHAPE_REMOVE) {
    cJSON_DeleteItemFromObjectCaseSensitive(object, name);
  } else if (e->action == SHAPE_RENAME) {
    cJSON *item = cJSON_DetachItemFromObjectCaseSensitive(object, name);
    cJSON_AddItemToObject(object, e->arg, item);
  } else {
    cJSON *value = cJSON_Parse(e->arg);
    assert_non_null(value);
    cJSON_ReplaceItemInObjectCaseSensitive(object, name, value);
  }
}

static inline void shape_edit_at(cJSON *node, const char *rest, const shape_edit *e) {
  assert_non_null(node);
  if (*rest == '.') rest++;
  if (*rest == '[') {
    const char *close = strchr(rest, ']');
    if (rest[1] == '*') {
      cJSON *element;
      cJSON_ArrayForEach(element, node) shape_edit_at(element, close + 1, e);
    } else {
      shape_edit_at(cJSON_GetArrayItem(node, atoi(rest + 1)), close + 1, e);
    }
    return;
  }
  size_t n = strcspn(rest, ".[");
  char name[128];
  snprintf(name, sizeof name, "%.*s", (int)n, rest);
  if (rest[n] == '\0') shape_apply(node, name, e);
  else shape_edit_at(cJSON_GetObjectItemCaseSensitive(node, name), rest + n, e);
}

/* The body of `fixture` with `edits` applied, into `out` (NUL-terminated). */
static inline void shape_reshaped_body(const char *fixture, const shape_edit *edits, size_t nedits, sp_buf *out) {
  sp_buf body = SP_BUF_INIT;
  read_fixture(fixture, &body);
  cJSON *root = cJSON_ParseWithLength((const char *)body.data, body.len);
  assert_non_null(root);
  sp_buf_free(&body);
  for (size_t i = 0; i < nedits; i++) shape_edit_at(root, edits[i].path, &edits[i]);
  char *text = cJSON_PrintUnformatted(root);
  assert_non_null(text);
  sp_buf_append_str(out, text);
  sp_buf_reserve(out, 0);
  cJSON_free(text);
  cJSON_Delete(root);
}

/* Check `fixture` with `edits` applied against `spec`. */
static inline void shape_check_reshaped(const char *fixture, const shape_edit *edits, size_t nedits,
                                        const sp_shape_spec *spec, sp_shape_report *report) {
  sp_buf body = SP_BUF_INIT;
  shape_reshaped_body(fixture, edits, nedits, &body);
  sp_shape_check_body((const char *)body.data, body.len, spec, report);
  sp_buf_free(&body);
}

/* The unchanged fixture passes its table: nothing missing, no other type, no new field. */
static inline void shape_assert_unchanged(const char *fixture, const sp_shape_spec *spec) {
  sp_shape_report report;
  shape_check_reshaped(fixture, NULL, 0, spec, &report);
  if (report.nchanges) fail_msg("%s: unexpected shape change: %s", fixture, report.text);
  if (report.nnew) fail_msg("%s: unexpected new field \"%s\" (%d in all)", fixture, report.new_fields[0], report.nnew);
}

/* `text` is among the report's changes. */
static inline void shape_assert_reports(const sp_shape_report *report, const char *text) {
  if (!strstr(report->text, text)) fail_msg("want <%s> in <%s>", text, report->text);
}

#endif
