/* \summary: pairing of packets across the interfaces of a gateway, in a
 * fixed direct-mapped table: the newest packet wins a slot. */
#include <stdlib.h>
#include <string.h>

#include "panne/twins.h"
#include "panne/util.h"

#define TWINS_CAP 65536

struct twin {
	struct addr dst;
	u32 key;
	u16 dport;
	u8 proto;
	u16 ifaces; /* bit per interface (the first 16) */
};

static struct twin *tab;
static u16 nif;

void twins_init(u16 ninterfaces)
{
	twins_reset();
	nif = ninterfaces;
	if (nif > 1)
		tab = xcalloc(TWINS_CAP, sizeof *tab);
}

void twins_reset(void)
{
	free(tab);
	tab = NULL;
	nif = 0;
}

static struct twin *slot(u8 proto, const struct addr *dst, u16 dport, u32 key)
{
	u32 h = 2166136261u ^ key ^ ((u32)dport << 8) ^ proto;
	for (int i = 0; i < 16; i++)
		h = (h ^ dst->b[i]) * 16777619u;
	return &tab[(h ^ (h >> 16)) % TWINS_CAP];
}

static int same(const struct twin *t, u8 proto, const struct addr *dst, u16 dport, u32 key)
{
	return t->proto == proto && t->dport == dport && t->key == key && addr_eq(&t->dst, dst);
}

void twins_note(u8 proto, const struct addr *dst, u16 dport, u32 key, u16 iface)
{
	if (!tab || iface >= 16)
		return;
	struct twin *t = slot(proto, dst, dport, key);
	if (!same(t, proto, dst, dport, key)) {
		t->dst = *dst;
		t->key = key;
		t->dport = dport;
		t->proto = proto;
		t->ifaces = 0;
	}
	t->ifaces |= (u16)(1u << iface);
}

int twins_fate(u8 proto, const struct addr *dst, u16 dport, u32 key, u16 iface)
{
	if (!tab || iface >= 16)
		return TWIN_UNKNOWN;
	struct twin *t = slot(proto, dst, dport, key);
	if (!same(t, proto, dst, dport, key))
		return TWIN_UNKNOWN; /* forgotten under load */
	return (t->ifaces & ~(1u << iface)) ? TWIN_FORWARDED : TWIN_DROPPED;
}

const char *twins_word(int fate)
{
	return fate == TWIN_DROPPED ? "dropped at the gateway: seen entering, never leaving"
	       : fate == TWIN_FORWARDED ? "forwarded by the gateway, no answer came back from upstream"
	                                : NULL;
}

int twins_far_side(u16 iface)
{
	return tab && iface > 0;
}
