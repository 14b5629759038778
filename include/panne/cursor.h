/* \summary: bounds-checked reads over a byte buffer; the error flag sticks.
 *
 * Every read from packet data goes through a cursor. A failed read sets
 * c->err, returns -1 and leaves the output untouched; later reads fail too,
 * so a parser may check once at the end of a run of reads. */
#ifndef PANNE_CURSOR_H
#define PANNE_CURSOR_H

#include "panne/types.h"

struct cur {
	const u8 *p; /* next byte */
	size_t left; /* bytes remaining */
	int err;     /* sticky: a read ran past the end */
};

static inline void cur_init(struct cur *c, const u8 *p, size_t n)
{
	c->p = p;
	c->left = p ? n : 0;
	c->err = 0;
}

static inline size_t cur_left(const struct cur *c) { return c->err ? 0 : c->left; }

static inline int cur_need(struct cur *c, size_t n)
{
	if (c->err || c->left < n) {
		c->err = 1;
		return -1;
	}
	return 0;
}

static inline int cur_u8(struct cur *c, u8 *v)
{
	if (cur_need(c, 1) < 0)
		return -1;
	*v = c->p[0];
	c->p++, c->left--;
	return 0;
}

static inline int cur_be16(struct cur *c, u16 *v)
{
	if (cur_need(c, 2) < 0)
		return -1;
	*v = (u16)((c->p[0] << 8) | c->p[1]);
	c->p += 2, c->left -= 2;
	return 0;
}

static inline int cur_be24(struct cur *c, u32 *v)
{
	if (cur_need(c, 3) < 0)
		return -1;
	*v = ((u32)c->p[0] << 16) | ((u32)c->p[1] << 8) | c->p[2];
	c->p += 3, c->left -= 3;
	return 0;
}

static inline int cur_be32(struct cur *c, u32 *v)
{
	if (cur_need(c, 4) < 0)
		return -1;
	*v = ((u32)c->p[0] << 24) | ((u32)c->p[1] << 16) | ((u32)c->p[2] << 8) | c->p[3];
	c->p += 4, c->left -= 4;
	return 0;
}

static inline int cur_le16(struct cur *c, u16 *v)
{
	if (cur_need(c, 2) < 0)
		return -1;
	*v = (u16)(c->p[0] | (c->p[1] << 8));
	c->p += 2, c->left -= 2;
	return 0;
}

static inline int cur_le32(struct cur *c, u32 *v)
{
	if (cur_need(c, 4) < 0)
		return -1;
	*v = (u32)c->p[0] | ((u32)c->p[1] << 8) | ((u32)c->p[2] << 16) | ((u32)c->p[3] << 24);
	c->p += 4, c->left -= 4;
	return 0;
}

static inline int cur_skip(struct cur *c, size_t n)
{
	if (cur_need(c, n) < 0)
		return -1;
	c->p += n, c->left -= n;
	return 0;
}

/* Hands out a pointer to the next n bytes and advances past them. */
static inline int cur_ptr(struct cur *c, size_t n, const u8 **out)
{
	if (cur_need(c, n) < 0)
		return -1;
	*out = c->p;
	c->p += n, c->left -= n;
	return 0;
}

/* A sub-cursor over the next n bytes (a length-prefixed field), advancing c. */
static inline int cur_sub(struct cur *c, size_t n, struct cur *sub)
{
	const u8 *p;
	if (cur_ptr(c, n, &p) < 0) {
		cur_init(sub, NULL, 0);
		sub->err = 1;
		return -1;
	}
	cur_init(sub, p, n);
	return 0;
}

#endif
