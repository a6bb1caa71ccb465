/*
 * xml_lib.c — loading and unloading libxml2 around its uses (see xml_lib.h).
 */
#include "sources/xml_lib.h"

#include <dlfcn.h>
#include <pthread.h>

#define XML_LIB_SONAME "libxml2.so.2" /* the ABI stockpipe is compiled against */

static pthread_mutex_t xml_mutex = PTHREAD_MUTEX_INITIALIZER;
static void *xml_handle; /* while xml_users > 0 */
static int xml_users;
static sp_xml_lib xml_lib;
static __typeof__(xmlCleanupParser) *xml_cleanup;

const sp_xml_lib *const sp_xml = &xml_lib;

/* dlsym `name` into *out; false (and the error set) when it is missing. */
static bool resolve(void *handle, const char *name, void **out, sp_error *err) {
  dlerror();
  *out = dlsym(handle, name);
  if (*out) return true;
  const char *why = dlerror();
  sp_error_set(err, SP_ERR_UNSUPPORTED, "%s has no %s: %s", XML_LIB_SONAME, name, why ? why : "null symbol");
  return false;
}

/* Load libxml2 into xml_lib and initialise its parser (caller holds xml_mutex). */
static int load(sp_error *err) {
  void *h = dlopen(XML_LIB_SONAME, RTLD_NOW | RTLD_LOCAL);
  if (!h) return sp_error_set(err, SP_ERR_UNSUPPORTED, "cannot load %s: %s", XML_LIB_SONAME, dlerror());
  static const char *const names[] = {"xmlReadMemory",   "htmlReadMemory", "xmlDocGetRootElement",
                                      "xmlNodeGetContent", "xmlGetProp",   "xmlFreeDoc",
                                      "xmlFree",         "xmlInitParser",  "xmlCleanupParser",
                                      "xmlBufferCreate", "xmlNodeDump",    "xmlBufferContent",
                                      "xmlBufferFree"};
  enum { NSYMS = sizeof names / sizeof names[0] };
  void *sym[NSYMS];
  for (int i = 0; i < NSYMS; i++)
    if (!resolve(h, names[i], &sym[i], err)) {
      dlclose(h);
      return SP_ERR_UNSUPPORTED;
    }
  xml_lib.read_xml = (__typeof__(xml_lib.read_xml))sym[0];
  xml_lib.read_html = (__typeof__(xml_lib.read_html))sym[1];
  xml_lib.root_element = (__typeof__(xml_lib.root_element))sym[2];
  xml_lib.node_content = (__typeof__(xml_lib.node_content))sym[3];
  xml_lib.get_prop = (__typeof__(xml_lib.get_prop))sym[4];
  xml_lib.free_doc = (__typeof__(xml_lib.free_doc))sym[5];
  xml_lib.free_string = *(xmlFreeFunc *)sym[6]; /* a variable: the deallocator in use */
  ((__typeof__(xmlInitParser) *)sym[7])();
  xml_cleanup = (__typeof__(xml_cleanup))sym[8];
  xml_lib.buffer_create = (__typeof__(xml_lib.buffer_create))sym[9];
  xml_lib.node_dump = (__typeof__(xml_lib.node_dump))sym[10];
  xml_lib.buffer_content = (__typeof__(xml_lib.buffer_content))sym[11];
  xml_lib.buffer_free = (__typeof__(xml_lib.buffer_free))sym[12];
  xml_handle = h;
  return SP_OK;
}

int sp_xml_lib_open(sp_error *err) {
  pthread_mutex_lock(&xml_mutex);
  int rc = xml_users > 0 ? SP_OK : load(err);
  if (rc == SP_OK) xml_users++;
  pthread_mutex_unlock(&xml_mutex);
  return rc;
}

void sp_xml_lib_close(void) {
  pthread_mutex_lock(&xml_mutex);
  if (xml_users > 0 && --xml_users == 0) {
    xml_cleanup(); /* frees libxml2's global state before its code goes */
    dlclose(xml_handle);
    xml_handle = NULL;
  }
  pthread_mutex_unlock(&xml_mutex);
}
