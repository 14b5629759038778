/* \summary: where the capture point is, learnt from the packets: hop
 * distances from initial TTLs, the clients' own distance per address
 * family, and where a sender sits between the clients and a server. */
#ifndef PANNE_HOPS_H
#define PANNE_HOPS_H

#include "panne/types.h"

/* Hops a packet with this TTL/hop limit has crossed since its sender, from
 * the nearest initial value at or above it (32, 64, 128, 255). */
int hops_of(u8 ttl);

/* The first packet of a flow, sent by its client (the side that opened
 * it): teaches how far the clients are from the capture point. */
void hops_note_client(u8 fam, u8 ttl);

/* The same, for a client that then completed an exchange (its handshake,
 * or an answered UDP flow): these votes outweigh the others. */
void hops_note_confirmed(u8 fam, u8 ttl);

/* The clients' usual distance from the capture point for family fam (4 or
 * 6; the other family's when this one has none), or -1 before any client
 * was seen, or when no client completed an exchange and the openings'
 * distances have no majority. 0 means the capture is on the clients' own link or host. */
int hops_lan(u8 fam);

/* Where a sender is, from the TTL of its packet and, when known (>= 0),
 * the hops of the server's own packets: O_SERVER at the server's distance
 * or beyond (within a hop, when that hop does not reach the clients'
 * distance), O_LOCAL when it is no farther than the clients, O_ONPATH
 * between them and the server, O_UNKNOWN when the server's distance is
 * unknown and the sender is not local. Holds for servers 1 or 20 hops
 * away and for a capture on the clients' link (hop 0) or beyond it; the
 * sentence in *why says when the capture point was assumed, not learnt,
 * or is not on the clients' link. */
int hops_place(u8 fam, u8 ttl, int server_hops, const char **why);

void hops_reset(void);

#endif
