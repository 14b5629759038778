/* \summary: TCP outcomes from flow state: refused, syn_timeout, rst,
 * icmp_unreachable (for every flow), and the connection counts. */
#ifndef PANNE_TCP_H
#define PANNE_TCP_H

#include "panne/types.h"
#include "panne/decode.h"
#include "panne/flow.h"

void tcp_init(void);
/* One TCP packet, after flow_update. */
void tcp_feed(struct flow *f, int dir, const struct packet *pk);
/* An ICMP/ICMPv6 destination unreachable (or similar error) quoting f. */
void tcp_icmp(struct flow *f, int dir, const struct packet *pk);
/* The flow leaves the table at time now_us (syn_timeout decided here). */
void tcp_flow_end(struct flow *f, u64 now_us);
void tcp_finish(u64 now_us);
void tcp_reset(void);

#endif
