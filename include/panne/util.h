/* \summary: allocators that never return NULL, fatal errors with exit codes,
 * and text forms of addresses and times. */
#ifndef PANNE_UTIL_H
#define PANNE_UTIL_H

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include "panne/types.h"

/* Exit status, as panne.8 EXIT STATUS and OUTPUT.md. */
enum exit_code {
	EXIT_CLEAN = 0,    /* no failure found */
	EXIT_FINDINGS = 1, /* failures or anomalies found */
	EXIT_USAGE = 2,    /* usage error, input cannot be opened */
	EXIT_DAMAGED = 3   /* input damaged; results up to the damage reported */
};

/* Allocators abort with a message naming the size instead of returning NULL. */
void *xmalloc(size_t n);
void *xcalloc(size_t n, size_t sz);
void *xrealloc(void *p, size_t n);
char *xstrdup(const char *s);

/* Prints "panne: <msg>" on stderr and exits with code. */
void die(int code, const char *fmt, ...) __attribute__((noreturn, format(printf, 2, 3)));
/* Prints "panne: <msg>" on stderr. */
void warnx_(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Text form of a; buf holds at least ADDR_STRLEN bytes. Returns buf. */
char *addr_fmt(const struct addr *a, char *buf);
/* Parses text into a; 0 on success, -1 if not an address. */
int addr_parse(const char *s, struct addr *a);
static inline int addr_eq(const struct addr *a, const struct addr *b) /* inline: several per packet */
{
	return a->fam == b->fam && memcmp(a->b, b->b, 16) == 0;
}
/* 1 if a is no answer for a public name: unspecified, loopback, private
 * (RFC 1918, ULA), link-local, or a well-known sinkhole. */
int addr_bogus(const struct addr *a);
/* 1 if q looks like a name of the public DNS (dotted, not .local, .lan, .test...). */
int name_is_public(const char *q);

/* RFC 3339 UTC with microseconds: "2022-03-08T19:03:12.123456Z".
 * buf holds at least TIME_STRLEN bytes. Returns buf. */
#define TIME_STRLEN 64
char *time_fmt(u64 ts_us, char *buf);

/* Copies a wire string into out (size outsz, NUL-terminated), escaping every
 * byte outside printable ASCII as \xNN and cutting at STR_SHOW_MAX. */
void str_escape(const u8 *s, size_t n, char *out, size_t outsz);

#endif
