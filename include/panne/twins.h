/* \summary: both sides of a gateway: the same packet (a SYN, a DNS query)
 * seen entering on one interface and, or not, leaving on another. What NAT
 * leaves alone identifies it: destination, port, and the TCP ISN or the
 * DNS id and question. */
#ifndef PANNE_TWINS_H
#define PANNE_TWINS_H

#include "panne/types.h"

#define TWIN_UNKNOWN -1   /* one interface only: nothing to pair with */
#define TWIN_DROPPED 0    /* seen on its interface only: the gateway kept it */
#define TWIN_FORWARDED 1  /* seen on another interface too: it left the gateway */
#define TWIN_INSIDE 0     /* the side analysed (cap_pkt.side) */

/* How many interfaces (live -i) the run reads at once; pairing needs two. */
void twins_init(u16 ninterfaces);
void twins_reset(void);
/* Notes that the packet identified by (proto, dst, dport, key) crossed iface. */
void twins_note(u8 proto, const struct addr *dst, u16 dport, u32 key, u16 iface);
/* Whether that packet, first seen on iface, was also seen on another one. */
int twins_fate(u8 proto, const struct addr *dst, u16 dport, u32 key, u16 iface);
/* "dropped by the gateway" etc., for a finding's detail; NULL if unknown. */
const char *twins_word(int fate);
/* 1 if packets of iface serve only for pairing (the far side of the gateway:
 * every -i after the first), not for analysis. */
int twins_far_side(u16 iface);

#endif
