/*
 * validate.h — every row is checked before it enters a channel (issue 10).
 *
 * Two kinds of rules, one table per dataset (validate.c):
 *   - reject rules: the row breaks its schema (a required column null, a key column
 *     missing) or a sanity rule (a bar with low > high, a price <= 0, a quote from
 *     the future, a news URL that does not parse, an implausible date…).  The row is
 *     not stored: the caller writes it to the quarantine (core/quarantine.h) with the
 *     rule's name — never a silent drop;
 *   - flag rules: the value is suspicious but possible (a close ~100× or ~1/100× its
 *     neighbour — Yahoo's known currency-unit errors —, a split-like jump, volume 0
 *     inside a session).  The row is stored with the rule names in `quality_flags`
 *     (comma-separated, null when clean).
 *
 * Rule names are stable identifiers (they appear in files, summaries and metrics);
 * sp_validate_rules lists them with their meaning.
 *
 * Pure functions: no I/O, no allocation except the quality_flags string; thread-safe.
 */
#ifndef STOCKPIPE_CORE_VALIDATE_H
#define STOCKPIPE_CORE_VALIDATE_H

#include "core/row.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef enum sp_rule_kind { SP_RULE_REJECT, SP_RULE_FLAG } sp_rule_kind;

/* Traits of a rule (bits of sp_rule_info.traits). */
#define SP_RULE_MARKED 1u        /* set by a provider's parser in quality_flags, on rows it
                                    emits only so that they reach the quarantine (a bar
                                    outside the requested window, an all-null bar); it
                                    wins over every other rule */
#define SP_RULE_NOT_REQUESTED 2u /* the row lies outside what the request asked for: its
                                    watermark does not advance (a later request for its
                                    window brings it again) */
#define SP_RULE_ITEM 4u          /* given by a provider's parser to an item of a response it
                                    could not turn into a row at all (no row to check: the
                                    quarantine record carries the item's raw text;
                                    sources/source.h, sp_source_reject) */

typedef struct sp_rule_info {
  const char *name;        /* "ohlc_order", "price_jump_100x", ... */
  sp_rule_kind kind;
  int dataset;             /* sp_dataset_id, or -1 for every dataset */
  const char *description; /* one line, for docs and `summary` */
  unsigned traits;         /* SP_RULE_* bits */
} sp_rule_info;

/* Every rule, in table order; *count receives their number. */
const sp_rule_info *sp_validate_rules(size_t *count);
/* The rule named `name` that applies to dataset `dataset` (rule names repeat across
 * datasets), or NULL. */
const sp_rule_info *sp_validate_rule(const char *name, int dataset);

/* What the caller knows beyond the row itself. */
typedef struct sp_validate_context {
  int64_t now_us;          /* the round's clock */
  bool has_previous_close; /* stock_movements: the close of the series' previous bar */
  double previous_close;
} sp_validate_context;

/* Check the reject rules.  Returns NULL when the row may be stored, else the name of
 * the first rule it breaks (static string) and, in detail[cap], what was wrong
 * ("low 101.5 > high 100.2"). */
const char *sp_validate_reject(const sp_row *row, const sp_validate_context *ctx, char *detail, size_t cap);

/* Check the flag rules and store their names in the row's quality_flags column
 * (datasets that have one; others are left untouched).  A value already present
 * (a provider-side flag) is kept and the new names appended.  Returns 0 or
 * SP_ERR_NOMEM. */
int sp_validate_flag(sp_row *row, const sp_validate_context *ctx);

#endif
