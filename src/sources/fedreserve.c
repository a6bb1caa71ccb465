/*
 * fedreserve.c — www.federalreserve.gov (no key).
 *
 *   GET /feeds/press_all.xml                  press releases (RSS 2.0) → press_release
 *   GET /feeds/press_monetary.xml             monetary policy releases → monetary_policy
 *   GET /monetarypolicy/fomccalendars.htm     the FOMC calendar (HTML) → fomc_meeting
 *
 * XML and HTML are parsed with libxml2 (loaded only while a parser runs:
 * sources/xml_lib.h) from memory with XML_PARSE_NONET (nothing is
 * fetched) and without XML_PARSE_NOENT/DTDLOAD (no entity substitution from DTDs); a
 * feed declaring DTD entities is refused outright.
 * When the calendar page cannot be fetched or yields no meeting, the shipped
 * config/fomc_calendar.csv is used instead (a warning, not a failure).
 */
#include "sources/fedreserve.h"

#include "core/market_calendar.h"
#include "core/timeutil.h"
#include "sources/xml_lib.h"

#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#define FOMC_PAGE "https://www.federalreserve.gov/monetarypolicy/fomccalendars.htm"
#define STATEMENT_MINUTE (14 * 60) /* 14:00 New York time */

/* ---- RFC 822 dates ------------------------------------------------------------------- */

static int month_number(const char *name) {
  static const char *const months[] = {"jan", "feb", "mar", "apr", "may", "jun",
                                       "jul", "aug", "sep", "oct", "nov", "dec"};
  for (int i = 0; i < 12; i++)
    if (strncasecmp(name, months[i], 3) == 0) return i + 1;
  return 0;
}

/* Zone offset in minutes east of UTC, or false. */
static bool zone_offset(const char *zone, int *minutes) {
  static const struct {
    const char *name;
    int offset;
  } zones[] = {{"GMT", 0},    {"UT", 0},     {"UTC", 0},    {"Z", 0},      {"EST", -300},
               {"EDT", -240}, {"CST", -360}, {"CDT", -300}, {"MST", -420}, {"MDT", -360},
               {"PST", -480}, {"PDT", -420}};
  if ((zone[0] == '+' || zone[0] == '-') && strlen(zone) >= 5) {
    for (int i = 1; i <= 4; i++)
      if (!isdigit((unsigned char)zone[i])) return false;
    int hh = (zone[1] - '0') * 10 + (zone[2] - '0'), mm = (zone[3] - '0') * 10 + (zone[4] - '0');
    *minutes = (zone[0] == '-' ? -1 : 1) * (hh * 60 + mm);
    return true;
  }
  for (size_t i = 0; i < sizeof zones / sizeof zones[0]; i++)
    if (strcasecmp(zone, zones[i].name) == 0) {
      *minutes = zones[i].offset;
      return true;
    }
  return false;
}

int sp_parse_rfc822_date(const char *text, int64_t *us) {
  if (!text) return SP_ERR_INVALID;
  while (isspace((unsigned char)*text)) text++;
  const char *comma = strchr(text, ',');
  if (comma) text = comma + 1; /* day name */
  int day, year, hh, mm, ss = 0, consumed = 0;
  char month[16], zone[16] = "GMT";
  if (sscanf(text, " %d %15s %d %d:%d%n", &day, month, &year, &hh, &mm, &consumed) != 5)
    return SP_ERR_INVALID;
  const char *rest = text + consumed;
  if (*rest == ':') {
    int n = 0;
    if (sscanf(rest, ":%d%n", &ss, &n) != 1) return SP_ERR_INVALID;
    rest += n;
  }
  if (sscanf(rest, " %15s", zone) != 1) snprintf(zone, sizeof zone, "GMT");
  int mon = month_number(month), offset;
  if (year < 100) year += year < 70 ? 2000 : 1900;
  if (year < 1000 || year > 9999) return SP_ERR_INVALID;
  if (!mon || !sp_is_valid_date(year, (unsigned)mon, (unsigned)day) || hh > 23 || mm > 59 ||
      ss > 60 || hh < 0 || mm < 0 || ss < 0 || !zone_offset(zone, &offset))
    return SP_ERR_INVALID;
  int64_t seconds = (int64_t)sp_days_from_civil(year, (unsigned)mon, (unsigned)day) * 86400 +
                    hh * 3600 + mm * 60 + ss - (int64_t)offset * 60;
  *us = seconds * SP_US_PER_SEC;
  return SP_OK;
}

/* ---- RSS --------------------------------------------------------------------------------- */

static const sp_shape_field rss_fields[] = {
    {"rss.channel", SP_SHAPE_TEXT, SP_SHAPE_REQUIRED, NULL},
    {"rss.channel.item.title", SP_SHAPE_TEXT, SP_SHAPE_REQUIRED, NULL},
    {"rss.channel.item.link", SP_SHAPE_TEXT, SP_SHAPE_REQUIRED, NULL},
    {"rss.channel.item.pubDate", SP_SHAPE_TEXT, SP_SHAPE_REQUIRED, NULL},
    {"rss.channel.item.description", SP_SHAPE_TEXT, SP_SHAPE_OPTIONAL, NULL},
    {"rss.channel.item.category", SP_SHAPE_TEXT, SP_SHAPE_IF_PRESENT, NULL},
};
const sp_shape_spec sp_fedreserve_rss_shape = SP_SHAPE_SPEC("fedreserve", "rss", rss_fields);

#define RSS_ITEM_PREFIX "rss.channel.item."

/* Text content of the first child element `name` of `parent` (caller frees), or NULL. */
static char *child_text(xmlNode *parent, const char *name) {
  for (xmlNode *c = parent->children; c; c = c->next)
    if (c->type == XML_ELEMENT_NODE && strcmp((const char *)c->name, name) == 0) {
      xmlChar *content = sp_xml->node_content(c);
      if (!content) return NULL;
      /* trim */
      char *s = (char *)content;
      size_t start = 0, end = strlen(s);
      while (start < end && isspace((unsigned char)s[start])) start++;
      while (end > start && isspace((unsigned char)s[end - 1])) end--;
      char *copy = strndup(s + start, end - start);
      sp_xml->free_string(content);
      return copy;
    }
  return NULL;
}

static xmlNode *find_element(xmlNode *node, const char *name) {
  for (; node; node = node->next) {
    if (node->type == XML_ELEMENT_NODE && strcmp((const char *)node->name, name) == 0) return node;
    xmlNode *inner = find_element(node->children, name);
    if (inner) return inner;
  }
  return NULL;
}

/* One JSON string value with escaping, appended to `out`. */
static int append_json_string(sp_buf *out, const char *s) {
  int rc = sp_buf_append_byte(out, '"');
  for (; *s && rc == SP_OK; s++) {
    unsigned char c = (unsigned char)*s;
    if (c == '"' || c == '\\') rc = sp_buf_printf(out, "\\%c", c);
    else if (c < 0x20) rc = sp_buf_printf(out, "\\u%04x", c);
    else rc = sp_buf_append_byte(out, c);
  }
  return rc == SP_OK ? sp_buf_append_byte(out, '"') : rc;
}

typedef struct rss_item {
  char *title, *link, *description, *date, *category, *guid;
} rss_item;

static void rss_item_free(rss_item *it) {
  free(it->title), free(it->link), free(it->description), free(it->date), free(it->category),
      free(it->guid);
}

/* Hand `node` (an <item> of `doc`, or a calendar cell) to `bad` as its XML text. */
static int reject_node(xmlDoc *doc, xmlNode *node, const char *detail, sp_source_bad_item_fn bad, void *arg,
                       sp_error *err) {
  if (!bad) return SP_OK;
  xmlBuffer *text = sp_xml->buffer_create();
  if (!text || sp_xml->node_dump(text, doc, node, 0, 0) < 0) {
    if (text) sp_xml->buffer_free(text);
    return sp_error_set(err, SP_ERR_NOMEM, "out of memory");
  }
  int rc = bad(arg, &(sp_source_bad_item){"item_unparseable", detail, NULL,
                                          (const char *)sp_xml->buffer_content(text), NULL}, err);
  sp_xml->buffer_free(text);
  return rc;
}

/* What makes `it` unusable ("pubDate missing"...), or NULL; *when gets its time. */
static const char *rss_item_problem(const rss_item *it, int64_t *when, char *buf, size_t cap) {
  if (!it->title || !*it->title) return it->title ? "title empty" : "title missing";
  if (!it->link || !*it->link) return it->link ? "link empty" : "link missing";
  if (!it->date) return "pubDate missing";
  if (sp_parse_rfc822_date(it->date, when) == SP_OK) return NULL;
  snprintf(buf, cap, "pubDate \"%.80s\" is not an RFC 822 date", it->date);
  return buf;
}

static int emit_rss_item(const rss_item *it, int64_t when, const char *default_type, sp_row *row,
                         sp_source_row_fn emit, void *arg, sp_error *err) {
  const char *type = (it->category && strcasecmp(it->category, "Monetary Policy") == 0)
                         ? "monetary_policy"
                         : default_type;
  sp_buf details = SP_BUF_INIT;
  int rc = sp_buf_append_str(&details, "{\"category\":");
  if (rc == SP_OK) rc = it->category ? append_json_string(&details, it->category)
                                     : sp_buf_append_str(&details, "null");
  if (rc == SP_OK && it->guid) {
    rc = sp_buf_append_str(&details, ",\"guid\":");
    if (rc == SP_OK) rc = append_json_string(&details, it->guid);
  }
  if (rc == SP_OK) rc = sp_buf_append_byte(&details, '}');
  if (rc == SP_OK)
    rc = sp_source_policy_row(row, "fedreserve", type, it->link, when, it->title,
                              it->description && *it->description ? it->description : NULL,
                              it->link, NAN, (const char *)details.data);
  sp_buf_free(&details);
  if (rc != SP_OK) return sp_error_set(err, SP_ERR_NOMEM, "out of memory");
  return emit(arg, row, err);
}

/* Read a feed: *doc (free with xmlFreeDoc) and its <channel>.  SP_ERR_PARSE (with
 * nothing to free) for a body that is not XML; SP_ERR_NOT_FOUND (*doc set) for XML
 * that is not an RSS document. */
static int open_feed(const char *body, size_t len, xmlDoc **doc, xmlNode **channel, sp_error *err) {
  *doc = NULL;
  if (len > (size_t)INT32_MAX) return sp_error_set(err, SP_ERR_PARSE, "fed feed: too large");
  /* RSS has no use for DTD entities; refusing them rules out expansion attacks */
  if (memmem(body, len, "<!ENTITY", 8))
    return sp_error_set(err, SP_ERR_PARSE, "fed feed: declares DTD entities; refused");
  *doc = sp_xml->read_xml(body, (int)len, "feed.xml", NULL, XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING);
  if (!*doc) return sp_error_set(err, SP_ERR_PARSE, "fed feed: not well-formed XML");
  xmlNode *root = sp_xml->root_element(*doc);
  *channel = root ? find_element(root, "channel") : NULL;
  if (!root || strcmp((const char *)root->name, "rss") != 0 || !*channel)
    return sp_error_set(err, SP_ERR_NOT_FOUND, "fed feed: not an RSS document (root <%.40s>)",
                        root ? (const char *)root->name : "none");
  return SP_OK;
}

static bool is_item(const xmlNode *n) {
  return n->type == XML_ELEMENT_NODE && strcmp((const char *)n->name, "item") == 0;
}

static bool has_child(const xmlNode *parent, const char *name) {
  for (const xmlNode *c = parent->children; c; c = c->next)
    if (c->type == XML_ELEMENT_NODE && strcmp((const char *)c->name, name) == 0) return true;
  return false;
}

static void check_rss(const char *body, size_t len, sp_shape_report *report) {
  sp_shape_report_init(report, &sp_fedreserve_rss_shape);
  xmlDoc *doc;
  xmlNode *channel;
  int rc = open_feed(body, len, &doc, &channel, NULL);
  xmlNode *root = rc == SP_ERR_NOT_FOUND ? sp_xml->root_element(doc) : NULL;
  if (root && strcmp((const char *)root->name, "rss") == 0) /* (an HTML page is no feed at all) */
    sp_shape_report_missing(report, "rss.channel", SP_SHAPE_REQUIRED);
  for (size_t i = 0; rc == SP_OK && i < sp_fedreserve_rss_shape.nfields; i++) {
    const sp_shape_field *f = &sp_fedreserve_rss_shape.fields[i];
    if (f->need == SP_SHAPE_IF_PRESENT || strncmp(f->path, RSS_ITEM_PREFIX, strlen(RSS_ITEM_PREFIX)) != 0)
      continue;
    int items = 0, without = 0;
    for (const xmlNode *n = channel->children; n; n = n->next)
      if (is_item(n)) {
        items++;
        without += !has_child(n, f->path + strlen(RSS_ITEM_PREFIX));
      }
    if (items > 0 && without == items) sp_shape_report_missing(report, f->path, f->need);
  }
  sp_xml->free_doc(doc);
}

static int parse_rss(const char *body, size_t len, const char *default_type, sp_source_row_fn emit,
                     sp_source_bad_item_fn bad, void *arg, sp_error *err) {
  xmlDoc *doc;
  xmlNode *channel;
  int rc = open_feed(body, len, &doc, &channel, err);
  if (rc != SP_OK) { /* not XML, or XML that is not RSS: both unparseable here */
    sp_xml->free_doc(doc);
    if (err) err->code = SP_ERR_PARSE;
    return SP_ERR_PARSE;
  }
  sp_row row;
  if (sp_row_init(&row, sp_dataset_get(SP_DS_POLICY)) != SP_OK) {
    sp_xml->free_doc(doc);
    return sp_error_set(err, SP_ERR_NOMEM, "out of memory");
  }
  for (xmlNode *n = channel->children; n && rc == SP_OK; n = n->next) {
    if (!is_item(n)) continue;
    rss_item it = {child_text(n, "title"), child_text(n, "link"), child_text(n, "description"),
                   child_text(n, "pubDate"), child_text(n, "category"), child_text(n, "guid")};
    int64_t when = 0;
    char buf[160];
    const char *problem = rss_item_problem(&it, &when, buf, sizeof buf);
    rc = problem ? reject_node(doc, n, problem, bad, arg, err) : emit_rss_item(&it, when, default_type, &row, emit, arg, err);
    rss_item_free(&it);
  }
  sp_row_clear(&row);
  sp_xml->free_doc(doc);
  return rc;
}

/* ---- the FOMC calendar ------------------------------------------------------------------- */

typedef struct fomc_meeting {
  int32_t start, end;
  bool sep;
} fomc_meeting;

static int emit_meeting(const fomc_meeting *m, sp_row *row, sp_source_row_fn emit, void *arg,
                        sp_error *err) {
  char start[SP_DATE_TEXT_MAX], end[SP_DATE_TEXT_MAX], title[96], natural[32], details[128];
  sp_format_date(m->start, start);
  sp_format_date(m->end, end);
  if (m->start == m->end) snprintf(title, sizeof title, "FOMC meeting %s", end);
  else snprintf(title, sizeof title, "FOMC meeting %s to %s", start, end);
  snprintf(natural, sizeof natural, "fomc:%s", end);
  snprintf(details, sizeof details, "{\"start\":\"%s\",\"end\":\"%s\",\"projections\":%s}", start,
           end, m->sep ? "true" : "false");
  int rc = sp_source_policy_row(row, "fedreserve", "fomc_meeting", natural,
                                sp_ny_local_to_utc(m->end, STATEMENT_MINUTE), title, NULL,
                                FOMC_PAGE, NAN, details);
  if (rc != SP_OK) return sp_error_set(err, SP_ERR_NOMEM, "out of memory");
  return emit(arg, row, err);
}

/* "January" / "Apr/May" and "30-31" / "18-19*" / "30-1" / "16 (unscheduled)" for `year`. */
static bool meeting_from_text(int year, const char *month_text, const char *date_text,
                              fomc_meeting *m) {
  while (isspace((unsigned char)*month_text)) month_text++;
  int month1 = month_number(month_text), month2 = month1;
  const char *slash = strchr(month_text, '/');
  if (slash) month2 = month_number(slash + 1);
  if (!month1 || !month2 || strcasestr(date_text, "notation vote")) return false;
  int d1 = 0, d2 = 0;
  const char *p = date_text;
  while (*p && !isdigit((unsigned char)*p)) p++;
  if (sscanf(p, "%d-%d", &d1, &d2) < 1) return false;
  if (d2 == 0) d2 = d1, month2 = month1;
  if (!sp_is_valid_date(year, (unsigned)month1, (unsigned)d1) ||
      !sp_is_valid_date(year, (unsigned)month2, (unsigned)d2))
    return false;
  m->start = sp_days_from_civil(year, (unsigned)month1, (unsigned)d1);
  m->end = sp_days_from_civil(year, (unsigned)month2, (unsigned)d2);
  m->sep = strchr(date_text, '*') != NULL;
  return m->end >= m->start && m->end - m->start < 7;
}

typedef struct page_walk {
  int year;
  char month[32];
  int meetings;
  sp_row row;
  sp_source_row_fn emit;
  sp_source_bad_item_fn bad;
  void *arg;
  xmlDoc *doc;
  sp_error *err;
  int rc;
} page_walk;

static bool has_class(xmlNode *node, const char *cls) {
  xmlChar *value = sp_xml->get_prop(node, (const xmlChar *)"class");
  bool found = value && strstr((const char *)value, cls) != NULL;
  sp_xml->free_string(value);
  return found;
}

static void walk_page(xmlNode *node, page_walk *w) {
  for (; node && w->rc == SP_OK; node = node->next) {
    if (node->type != XML_ELEMENT_NODE) continue;
    if (has_class(node, "fomc-meeting__month")) {
      xmlChar *t = sp_xml->node_content(node);
      snprintf(w->month, sizeof w->month, "%s", t ? (const char *)t : "");
      sp_xml->free_string(t);
      continue;
    }
    if (has_class(node, "fomc-meeting__date")) {
      xmlChar *t = sp_xml->node_content(node);
      fomc_meeting m;
      if (t && w->year && w->month[0] && meeting_from_text(w->year, w->month, (const char *)t, &m)) {
        w->meetings++;
        w->rc = emit_meeting(&m, &w->row, w->emit, w->arg, w->err);
      } else if (t && strcasestr((const char *)t, "notation vote")) { /* a vote by notation, no meeting */
        sp_source_count_skip("fedreserve", "notation_vote", (const char *)t);
      } else {
        char detail[160];
        snprintf(detail, sizeof detail, "meeting date \"%.40s\" of month \"%.30s\" %d unreadable",
                 t ? (const char *)t : "", w->month, w->year);
        w->rc = reject_node(w->doc, node, detail, w->bad, w->arg, w->err);
      }
      sp_xml->free_string(t);
      w->month[0] = '\0';
      continue;
    }
    const char *name = (const char *)node->name;
    if (name[0] == 'h' && isdigit((unsigned char)name[1]) && name[2] == '\0') {
      xmlChar *t = sp_xml->node_content(node);
      int year;
      char rest[32];
      if (t && sscanf((const char *)t, " %d %31[^\n]", &year, rest) == 2 &&
          strncmp(rest, "FOMC Meetings", 13) == 0 && year > 1900 && year < 3000)
        w->year = year;
      sp_xml->free_string(t);
    }
    walk_page(node->children, w);
  }
}

static int parse_fomc_page(const char *body, size_t len, sp_source_row_fn emit, sp_source_bad_item_fn bad,
                           void *arg, int *meetings, sp_error *err) {
  *meetings = 0;
  if (len > (size_t)INT32_MAX) return sp_error_set(err, SP_ERR_PARSE, "fomc page: too large");
  htmlDocPtr doc = sp_xml->read_html(body, (int)len, "fomccalendars.htm", "UTF-8",
                                  HTML_PARSE_NONET | HTML_PARSE_NOERROR | HTML_PARSE_NOWARNING |
                                      HTML_PARSE_RECOVER);
  if (!doc) return sp_error_set(err, SP_ERR_PARSE, "fomc page: not parseable as HTML");
  page_walk w = {.emit = emit, .bad = bad, .arg = arg, .doc = doc, .err = err, .rc = SP_OK};
  if (sp_row_init(&w.row, sp_dataset_get(SP_DS_POLICY)) != SP_OK) {
    sp_xml->free_doc(doc);
    return sp_error_set(err, SP_ERR_NOMEM, "out of memory");
  }
  walk_page(sp_xml->root_element(doc), &w);
  sp_row_clear(&w.row);
  sp_xml->free_doc(doc);
  *meetings = w.meetings;
  return w.rc;
}

/* ---- the parsers, each holding libxml2 while it runs ---------------------------------- */

void sp_fedreserve_check_rss(const char *body, size_t len, sp_shape_report *report) {
  if (sp_xml_lib_open(NULL) != SP_OK) { /* nothing can be checked: the parse will say why */
    sp_shape_report_init(report, &sp_fedreserve_rss_shape);
    return;
  }
  check_rss(body, len, report);
  sp_xml_lib_close();
}

int sp_fedreserve_parse_rss(const char *body, size_t len, const char *default_type,
                            sp_source_row_fn emit, sp_source_bad_item_fn bad, void *arg, sp_error *err) {
  int rc = sp_xml_lib_open(err);
  if (rc) return rc;
  rc = parse_rss(body, len, default_type, emit, bad, arg, err);
  sp_xml_lib_close();
  return rc;
}

int sp_fedreserve_parse_fomc_page(const char *body, size_t len, sp_source_row_fn emit, sp_source_bad_item_fn bad,
                                  void *arg, int *meetings, sp_error *err) {
  *meetings = 0;
  int rc = sp_xml_lib_open(err);
  if (rc) return rc;
  rc = parse_fomc_page(body, len, emit, bad, arg, meetings, err);
  sp_xml_lib_close();
  return rc;
}

int sp_fedreserve_parse_fomc_file(const char *path, sp_source_row_fn emit, void *arg,
                                  int *meetings, sp_error *err) {
  *meetings = 0;
  FILE *fp = fopen(path, "r");
  if (!fp) return sp_error_set(err, SP_ERR_IO, "cannot read the FOMC calendar %s", path);
  sp_row row;
  if (sp_row_init(&row, sp_dataset_get(SP_DS_POLICY)) != SP_OK) {
    fclose(fp);
    return sp_error_set(err, SP_ERR_NOMEM, "out of memory");
  }
  char line[256];
  int lineno = 0, rc = SP_OK;
  bool header = true;
  while (rc == SP_OK && fgets(line, sizeof line, fp)) {
    lineno++;
    line[strcspn(line, "\r\n")] = '\0';
    if (line[0] == '#' || line[0] == '\0') continue;
    if (header) { /* the column names */
      header = false;
      if (strncmp(line, "start,", 6) == 0) continue;
    }
    char start[16], end[16];
    int sep;
    fomc_meeting m;
    if (sscanf(line, "%15[^,],%15[^,],%d", start, end, &sep) != 3 ||
        sp_parse_date(start, &m.start) != SP_OK || sp_parse_date(end, &m.end) != SP_OK ||
        m.end < m.start || (sep != 0 && sep != 1)) {
      rc = sp_error_set(err, SP_ERR_PARSE, "%s:%d: expected start,end,sep (YYYY-MM-DD,YYYY-MM-DD,0|1)",
                        path, lineno);
      break;
    }
    m.sep = sep == 1;
    (*meetings)++;
    rc = emit_meeting(&m, &row, emit, arg, err);
  }
  sp_row_clear(&row);
  fclose(fp);
  return rc;
}

/* ---- collection ------------------------------------------------------------------------- */

typedef struct fed_request {
  char type[24]; /* default event type of the feed */
} fed_request;

static int on_feed(sp_source_ctx *ctx, const sp_http_response *resp, void *data, sp_error *err) {
  fed_request *r = data;
  sp_shape_report shape;
  sp_fedreserve_check_rss((const char *)resp->body.data, resp->body.len, &shape);
  int rc = sp_source_report_shape(ctx, &shape, resp->url, err);
  if (rc != SP_OK) return rc;
  sp_source_emit_target t = {ctx, resp->url};
  return sp_fedreserve_parse_rss((const char *)resp->body.data, resp->body.len, r->type,
                                 sp_source_emit_to_target, sp_source_reject_to_target, &t, err);
}

/* The shipped calendar: in the round's config_dir, else ./config, else the source
 * tree's config/ (a build run from its checkout). */
static int emit_calendar_file(sp_source_ctx *ctx, sp_error *err) {
  char path[1024];
  const char *dir = ctx->round->config_dir ? ctx->round->config_dir : "config";
  snprintf(path, sizeof path, "%s/fomc_calendar.csv", dir);
#ifdef STOCKPIPE_SOURCE_DIR
  if (!ctx->round->config_dir && access(path, R_OK) != 0)
    snprintf(path, sizeof path, "%s/config/fomc_calendar.csv", STOCKPIPE_SOURCE_DIR);
#endif
  sp_source_emit_target t = {ctx, path};
  int meetings;
  return sp_fedreserve_parse_fomc_file(path, sp_source_emit_to_target, &t, &meetings, err);
}

static int on_calendar(sp_source_ctx *ctx, const sp_http_response *resp, void *data,
                       sp_error *err) {
  (void)data;
  sp_source_emit_target t = {ctx, resp->url};
  int meetings;
  int rc = sp_fedreserve_parse_fomc_page((const char *)resp->body.data, resp->body.len,
                                         sp_source_emit_to_target, sp_source_reject_to_target, &t, &meetings, err);
  if (rc == SP_OK && meetings == 0)
    rc = sp_error_set(err, SP_ERR_PARSE, "fomc page: no meeting found (page layout changed?)");
  return rc;
}

/* The calendar page failed or was not understood: the shipped file stands in. */
static bool calendar_fallback(sp_source_ctx *ctx, const sp_error *cause, void *data) {
  (void)cause;
  (void)data;
  sp_error e;
  if (emit_calendar_file(ctx, &e) == SP_OK) return true;
  sp_source_fail(ctx, NULL, 0, NULL, 0, &e);
  return false;
}

static int fedreserve_collect(sp_source_ctx *ctx, sp_error *err) {
  const sp_source_round *round = ctx->round;
  static const struct {
    const char *path, *type;
  } feeds[] = {{"/feeds/press_all.xml", "press_release"},
               {"/feeds/press_monetary.xml", "monetary_policy"}};
  for (size_t i = 0; i < sizeof feeds / sizeof feeds[0]; i++) {
    bool wanted = sp_source_wants(round, feeds[i].type) ||
                  (i == 0 && sp_source_wants(round, "monetary_policy"));
    if (!wanted) continue;
    fed_request r;
    snprintf(r.type, sizeof r.type, "%s", feeds[i].type);
    if (sp_source_submit(ctx, feeds[i].path, NULL, on_feed, &r, sizeof r, err) == SP_ERR_NOMEM)
      return SP_ERR_NOMEM;
  }
  if (sp_source_wants(round, "fomc_meeting")) {
    fed_request r = {.type = "fomc_meeting"};
    if (sp_source_submit_with_fallback(ctx, "/monetarypolicy/fomccalendars.htm", NULL, on_calendar,
                                       calendar_fallback, &r, sizeof r, err) == SP_ERR_NOMEM)
      return SP_ERR_NOMEM;
  }
  return SP_OK;
}

const sp_source_provider sp_source_fedreserve = {
    .name = "fedreserve",
    .datasets = SP_SOURCE_DATASET_BIT(SP_DS_POLICY),
    .credential = NULL,
    .http = {.name = "fedreserve",
             .base_url = "https://www.federalreserve.gov",
             .rate_limit = 1,
             .burst = 2,
             .max_in_flight = 2,
             .timeout_ms = 30000},
    .collect = fedreserve_collect,
    .explain_error = NULL,
};
