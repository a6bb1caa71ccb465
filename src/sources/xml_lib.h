/*
 * xml_lib.h — libxml2, mapped only while something parses XML or HTML (issue 7).
 *
 * Only the Federal Reserve provider (fedreserve.c) reads XML and HTML, a few times a
 * week.  Debian's libxml2 brings ICU and liblzma with it; linked into the program
 * they cost every stockpipe process start-up time and about 1.7 MiB of resident
 * pages for good.  Instead the parsers take a reference here around each use: the
 * first reference dlopens libxml2.so.2 and initialises its parser, the last one
 * cleans the parser up and unloads the library (with ICU).  A caller that parses many
 * documents in a row (a fuzz driver) may hold a reference of its own for the run.
 *
 * Thread-safe.
 */
#ifndef STOCKPIPE_SOURCES_XML_LIB_H
#define STOCKPIPE_SOURCES_XML_LIB_H

#include "stockpipe/error.h"

#include <libxml/HTMLparser.h>
#include <libxml/parser.h>
#include <libxml/tree.h>

/* The libxml2 functions stockpipe calls, by their libxml2 names. */
typedef struct sp_xml_lib {
  __typeof__(xmlReadMemory) *read_xml;
  __typeof__(htmlReadMemory) *read_html;
  __typeof__(xmlDocGetRootElement) *root_element;
  __typeof__(xmlNodeGetContent) *node_content; /* free the result with free_string */
  __typeof__(xmlGetProp) *get_prop;            /* free the result with free_string */
  __typeof__(xmlFreeDoc) *free_doc;
  __typeof__(xmlBufferCreate) *buffer_create;  /* node_dump's output; free with buffer_free */
  __typeof__(xmlNodeDump) *node_dump;          /* an element as XML text (quarantined items) */
  __typeof__(xmlBufferContent) *buffer_content;
  __typeof__(xmlBufferFree) *buffer_free;
  xmlFreeFunc free_string;                     /* libxml2's xmlFree */
} sp_xml_lib;

/* The table; its functions may be called only while holding a reference. */
extern const sp_xml_lib *const sp_xml;

/* Take a reference, loading libxml2 on the first.  Returns 0, or SP_ERR_UNSUPPORTED
 * when libxml2.so.2 cannot be loaded (the message quotes dlerror()).  Every
 * successful call needs one sp_xml_lib_close. */
int sp_xml_lib_open(sp_error *err);

/* Drop a reference; the last one unloads libxml2. */
void sp_xml_lib_close(void);

#endif
