/* \summary: allocators, fatal errors, text forms of addresses and times. */
#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "panne/config.h"
#include "panne/util.h"

static void oom(size_t n)
{
	fprintf(stderr, "panne: out of memory allocating %zu bytes\n", n);
	abort();
}

void *xmalloc(size_t n)
{
	void *p = malloc(n ? n : 1);
	if (!p)
		oom(n);
	return p;
}

void *xcalloc(size_t n, size_t sz)
{
	void *p = calloc(n ? n : 1, sz ? sz : 1);
	if (!p)
		oom(n * sz);
	return p;
}

void *xrealloc(void *p, size_t n)
{
	void *q = realloc(p, n ? n : 1);
	if (!q)
		oom(n);
	return q;
}

char *xstrdup(const char *s)
{
	size_t n = strlen(s) + 1;
	char *p = xmalloc(n);
	memcpy(p, s, n);
	return p;
}

void die(int code, const char *fmt, ...)
{
	va_list ap;
	fputs("panne: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(code);
}

void warnx_(const char *fmt, ...)
{
	va_list ap;
	fputs("panne: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

char *addr_fmt(const struct addr *a, char *buf)
{
	if (a->fam == 4)
		inet_ntop(AF_INET, a->b, buf, ADDR_STRLEN);
	else if (a->fam == 6)
		inet_ntop(AF_INET6, a->b, buf, ADDR_STRLEN);
	else
		strcpy(buf, "-");
	return buf;
}

int addr_parse(const char *s, struct addr *a)
{
	memset(a, 0, sizeof *a);
	if (inet_pton(AF_INET, s, a->b) == 1) {
		a->fam = 4;
		return 0;
	}
	if (inet_pton(AF_INET6, s, a->b) == 1) {
		a->fam = 6;
		return 0;
	}
	memset(a, 0, sizeof *a);
	return -1;
}

char *time_fmt(u64 ts_us, char *buf)
{
	time_t t = (time_t)(ts_us / 1000000);
	struct tm tm;
	if (!gmtime_r(&t, &tm)) {
		strcpy(buf, "1970-01-01T00:00:00.000000Z");
		return buf;
	}
	snprintf(buf, TIME_STRLEN, "%04d-%02d-%02dT%02d:%02d:%02d.%06uZ", tm.tm_year + 1900,
	         tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
	         (unsigned)(ts_us % 1000000));
	return buf;
}

void str_escape(const u8 *s, size_t n, char *out, size_t outsz)
{
	static const char hex[] = "0123456789abcdef";
	size_t o = 0, i;
	if (!outsz)
		return;
	for (i = 0; i < n && i < STR_SHOW_MAX; i++) {
		u8 ch = s[i];
		if (ch >= 0x20 && ch < 0x7f && ch != '\\') {
			if (o + 1 >= outsz)
				break;
			out[o++] = (char)ch;
		} else {
			if (o + 4 >= outsz)
				break;
			out[o++] = '\\';
			out[o++] = 'x';
			out[o++] = hex[ch >> 4];
			out[o++] = hex[ch & 15];
		}
	}
	out[o] = 0;
}

int addr_bogus(const struct addr *a)
{
	static const u8 zero[16];
	const u8 *b = a->b;
	if (a->fam == 4)
		return b[0] == 0 || b[0] == 127 || b[0] == 10 || (b[0] == 172 && (b[1] & 0xf0) == 16) ||
		       (b[0] == 192 && b[1] == 168) || (b[0] == 169 && b[1] == 254) ||
		       /* OpenDNS block pages: a well-known sinkhole */
		       (b[0] == 146 && b[1] == 112 && b[2] == 61 && b[3] >= 104 && b[3] <= 110);
	if (!memcmp(b, zero, 16))
		return 1;
	if (!memcmp(b, zero, 15) && b[15] == 1)
		return 1;
	return (b[0] & 0xfe) == 0xfc || (b[0] == 0xfe && (b[1] & 0xc0) == 0x80);
}

int name_is_public(const char *q)
{
	static const char *local[] = { ".local", ".lan", ".home", ".internal", ".arpa", ".localhost",
		".test", ".invalid", ".corp", ".localdomain", ".intranet", ".private" };
	size_t l = strlen(q);
	if (!l || !strchr(q, '.'))
		return 0;
	for (size_t i = 0; i < sizeof local / sizeof *local; i++) {
		size_t s = strlen(local[i]);
		if (l >= s && strcasecmp(q + l - s, local[i]) == 0)
			return 0;
	}
	return 1;
}
