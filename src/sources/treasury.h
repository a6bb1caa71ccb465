/*
 * treasury.h — U.S. Treasury Fiscal Data `debt_to_penny` (no key) → policy
 * treasury_debt events.  Pure parser plus `sp_source_treasury`.
 */
#ifndef STOCKPIPE_SOURCES_TREASURY_H
#define STOCKPIPE_SOURCES_TREASURY_H

#include "sources/shape.h"
#include "sources/source.h"

extern const sp_source_provider sp_source_treasury;

/* The fields the parser reads (sources/shape.h): endpoint "debt_to_penny". */
extern const sp_shape_spec sp_treasury_debt_shape;

/* policy rows from one debt_to_penny page: one treasury_debt event per record_date
 * (00:00 UTC), value = debt held by the public in USD, details = total public debt
 * outstanding and intragovernmental holdings; a record whose debt held by the public
 * is "null" is skipped and counted (sp_source_count_skip "no_value").  Fills *page (page from the request is
 * not known to the body: pages = meta "total-pages").  Errors: SP_ERR_HTTP for
 * Fiscal Data's `{"error","message"}` body, SP_ERR_PARSE, emit's error. */
int sp_treasury_parse_debt_to_penny(const char *body, size_t len, sp_source_page *page,
                                    sp_source_row_fn emit, void *arg, sp_error *err);

#endif
