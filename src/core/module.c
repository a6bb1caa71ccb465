/*
 * module.c — finding and loading stockpipe's shared modules (see module.h): the
 * database and Kafka sinks live in libstockpipe-<name>.so files so that a process
 * whose configuration does not use them never maps libpq, librdkafka or libmongoc.
 */
#include "core/module.h"

#include <dlfcn.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Where `make install` puts modules, relative to the program's folder (CMake passes
 * it so the two cannot drift apart). */
#ifndef STOCKPIPE_MODULE_RELDIR
#define STOCKPIPE_MODULE_RELDIR "../lib/stockpipe"
#endif

#define MODULE_MAX 8       /* distinct modules a process can hold; three exist */
#define MODULE_NAME_MAX 48

typedef struct loaded_module {
  char name[MODULE_NAME_MAX];
  void *handle; /* from dlopen, never closed: code of it may run until exit */
} loaded_module;

static loaded_module loaded[MODULE_MAX];
static size_t nloaded;
static pthread_mutex_t loaded_mutex = PTHREAD_MUTEX_INITIALIZER;

/* The folder of the running program into `out` ("" when /proc is not mounted). */
static void program_dir(char *out, size_t cap) {
  ssize_t n = readlink("/proc/self/exe", out, cap - 1);
  out[n > 0 ? n : 0] = '\0';
  char *slash = strrchr(out, '/');
  if (slash) *slash = '\0';
  else out[0] = '\0';
}

/* dlopen libstockpipe-<module>.so from the first folder (module.h) that has it. */
static void *load_module(const char *module, sp_error *err) {
  char file[MODULE_NAME_MAX + 32];
  snprintf(file, sizeof file, "libstockpipe-%s.so", module);
  char dirs[2][PATH_MAX];
  size_t ndirs = 0;
  const char *env = getenv("STOCKPIPE_MODULE_DIR");
  if (env && *env) {
    snprintf(dirs[ndirs++], PATH_MAX, "%s", env);
  } else {
    char exe_dir[PATH_MAX];
    program_dir(exe_dir, sizeof exe_dir);
    if (exe_dir[0]) {
      snprintf(dirs[ndirs++], PATH_MAX, "%.*s/%s", PATH_MAX - 64, exe_dir, STOCKPIPE_MODULE_RELDIR);
      snprintf(dirs[ndirs++], PATH_MAX, "%s", exe_dir);
    }
  }
  char tried[SP_ERROR_MSG_MAX] = "";
  size_t tried_len = 0;
  for (size_t i = 0; i < ndirs; i++) {
    char path[PATH_MAX];
    int len = snprintf(path, sizeof path, "%s/%s", dirs[i], file);
    if (len > 0 && (size_t)len < sizeof path && access(path, F_OK) == 0) {
      void *handle = dlopen(path, RTLD_NOW | RTLD_LOCAL);
      if (!handle) sp_error_set(err, SP_ERR_UNSUPPORTED, "cannot load module %s: %s", file, dlerror());
      return handle;
    }
    len = snprintf(tried + tried_len, sizeof tried - tried_len, "%s%s", tried_len ? ", " : "", dirs[i]);
    if (len > 0) tried_len = tried_len + (size_t)len < sizeof tried ? tried_len + (size_t)len : sizeof tried - 1;
  }
  sp_error_set(err, SP_ERR_UNSUPPORTED,
               "module %s not found (looked in %s); install it with the program (make install) "
               "or point STOCKPIPE_MODULE_DIR at its folder",
               file, ndirs ? tried : "no folder: /proc/self/exe is unreadable");
  return NULL;
}

int sp_module_symbol(const char *module, const char *symbol, void **address, sp_error *err) {
  *address = NULL;
  if (strlen(module) >= MODULE_NAME_MAX) return sp_error_set(err, SP_ERR_INVALID, "module name %s is too long", module);
  pthread_mutex_lock(&loaded_mutex);
  void *handle = NULL;
  for (size_t i = 0; i < nloaded && !handle; i++)
    if (strcmp(loaded[i].name, module) == 0) handle = loaded[i].handle;
  int rc = SP_OK;
  if (!handle && nloaded == MODULE_MAX) {
    rc = sp_error_set(err, SP_ERR_UNSUPPORTED, "cannot load module %s: %d modules are loaded already", module, MODULE_MAX);
  } else if (!handle) {
    handle = load_module(module, err);
    if (!handle) rc = SP_ERR_UNSUPPORTED;
    else {
      snprintf(loaded[nloaded].name, MODULE_NAME_MAX, "%s", module);
      loaded[nloaded++].handle = handle;
    }
  }
  if (!rc) {
    dlerror(); /* clear a stale message */
    *address = dlsym(handle, symbol);
    if (!*address) {
      const char *why = dlerror();
      rc = sp_error_set(err, SP_ERR_UNSUPPORTED, "module libstockpipe-%s.so has no %s: %s", module, symbol,
                        why ? why : "null symbol");
    }
  }
  pthread_mutex_unlock(&loaded_mutex);
  return rc;
}
