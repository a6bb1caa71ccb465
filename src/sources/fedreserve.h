/*
 * fedreserve.h — the Federal Reserve Board (no key): press-release RSS feeds and the
 * FOMC meeting calendar for context/policy.  Pure parsers (libxml2, no network
 * access, no entity substitution) plus `sp_source_fedreserve`.
 */
#ifndef STOCKPIPE_SOURCES_FEDRESERVE_H
#define STOCKPIPE_SOURCES_FEDRESERVE_H

#include "sources/shape.h"
#include "sources/source.h"

extern const sp_source_provider sp_source_fedreserve;

/* The RSS elements sp_fedreserve_parse_rss reads (sources/shape.h), endpoint "rss":
 * paths "rss.channel.item.<element>". */
extern const sp_shape_spec sp_fedreserve_rss_shape;

/* Check an RSS body against sp_fedreserve_rss_shape into `report` (initialised by the
 * call): an element is missing when no <item> has it; an <rss> without <channel>
 * reports "rss.channel" missing; a body that is not XML or not RSS (an HTML error
 * page) gives an empty report (the parser reports it).  Pure. */
void sp_fedreserve_check_rss(const char *body, size_t len, sp_shape_report *report);

/* Parse an RFC 822 / RFC 1123 date as RSS uses it ("Wed, 20 Nov 2024 14:00:00 GMT",
 * day name optional, seconds optional, 2- or 4-digit year, zone GMT/UT/UTC/Z, the US
 * zone names or ±hhmm).  Returns 0 or SP_ERR_INVALID. */
int sp_parse_rfc822_date(const char *text, int64_t *us);

/* policy rows from an RSS 2.0 feed: one per <item> with a title, link and valid
 * pubDate.  Items of `default_type` ("press_release" or "monetary_policy"); an item
 * whose <category> is "Monetary Policy" is monetary_policy.  event_id hashes
 * "fedreserve:" + the item's link, so the same release in two feeds is one event.
 * Handles a UTF-8 BOM, CDATA sections and entities (never loaded from the network,
 * never expanded from a DTD).  An <item> without title, link or a valid pubDate goes
 * to `bad` (item_unparseable, its XML text; may be NULL).  Errors: SP_ERR_PARSE (not
 * XML, not RSS), emit's and bad's. */
int sp_fedreserve_parse_rss(const char *body, size_t len, const char *default_type,
                            sp_source_row_fn emit, sp_source_bad_item_fn bad, void *arg, sp_error *err);

/* fomc_meeting rows from the Federal Reserve's calendar page (HTML): each
 * "fomc-meeting" entry under a "YYYY FOMC Meetings" heading, the event dated 14:00 New
 * York time on the meeting's last day (when the statement is released); details give
 * start, end and whether projections (the page's "*") accompany it.  Notation votes are
 * skipped and counted (sp_source_count_skip "notation_vote"); a meeting date cell that
 * cannot be read goes to `bad` (item_unparseable, the cell's HTML; may be NULL).
 * *meetings receives how many were found (0 means the page was not understood: use the
 * fallback file).  Errors: SP_ERR_PARSE, emit's and bad's. */
int sp_fedreserve_parse_fomc_page(const char *body, size_t len, sp_source_row_fn emit, sp_source_bad_item_fn bad,
                                  void *arg, int *meetings, sp_error *err);

/* The same rows from the shipped calendar file (config/fomc_calendar.csv: `start,end,sep`
 * lines, '#' comments).  Errors: SP_ERR_IO (cannot read), SP_ERR_PARSE naming the line. */
int sp_fedreserve_parse_fomc_file(const char *path, sp_source_row_fn emit, void *arg,
                                  int *meetings, sp_error *err);

#endif
