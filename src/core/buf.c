/*
 * buf.c — growable byte buffer (see buf.h).
 */
#include "core/buf.h"

#include "stockpipe/error.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int sp_buf_reserve(sp_buf *b, size_t extra) {
  if (extra > SIZE_MAX - b->len - 1) return SP_ERR_NOMEM;
  size_t need = b->len + extra + 1;
  if (need <= b->cap) return SP_OK;
  size_t cap = b->cap ? b->cap : 64;
  while (cap < need) cap = cap > SIZE_MAX / 2 ? need : cap * 2;
  uint8_t *p = realloc(b->data, cap);
  if (!p) return SP_ERR_NOMEM;
  b->data = p;
  b->cap = cap;
  return SP_OK;
}

int sp_buf_append(sp_buf *b, const void *data, size_t len) {
  if (sp_buf_reserve(b, len) != SP_OK) return SP_ERR_NOMEM;
  if (len) memcpy(b->data + b->len, data, len);
  b->len += len;
  b->data[b->len] = '\0';
  return SP_OK;
}

int sp_buf_append_str(sp_buf *b, const char *s) { return sp_buf_append(b, s, strlen(s)); }

int sp_buf_append_byte(sp_buf *b, uint8_t byte) { return sp_buf_append(b, &byte, 1); }

int sp_buf_printf(sp_buf *b, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  char small[256];
  int n = vsnprintf(small, sizeof small, fmt, ap);
  va_end(ap);
  if (n < 0) return SP_ERR_INVALID;
  if ((size_t)n < sizeof small) return sp_buf_append(b, small, (size_t)n);
  if (sp_buf_reserve(b, (size_t)n) != SP_OK) return SP_ERR_NOMEM;
  va_start(ap, fmt);
  vsnprintf((char *)b->data + b->len, (size_t)n + 1, fmt, ap);
  va_end(ap);
  b->len += (size_t)n;
  return SP_OK;
}

int sp_buf_append_u32le(sp_buf *b, uint32_t v) {
  uint8_t x[4] = {(uint8_t)v, (uint8_t)(v >> 8), (uint8_t)(v >> 16), (uint8_t)(v >> 24)};
  return sp_buf_append(b, x, 4);
}

int sp_buf_append_u64le(sp_buf *b, uint64_t v) {
  uint8_t x[8];
  for (int i = 0; i < 8; i++) x[i] = (uint8_t)(v >> (8 * i));
  return sp_buf_append(b, x, 8);
}

void sp_buf_reset(sp_buf *b) {
  b->len = 0;
  if (b->data) b->data[0] = '\0';
}

void sp_buf_free(sp_buf *b) {
  free(b->data);
  b->data = NULL;
  b->len = b->cap = 0;
}

uint8_t *sp_buf_detach(sp_buf *b, size_t *len) {
  uint8_t *p = b->data;
  if (len) *len = b->len;
  b->data = NULL;
  b->len = b->cap = 0;
  return p;
}
