/* \summary: TCP outcomes from flow state: refused, syn_timeout, rst,
 * rst_injection, icmp_unreachable (for every flow), syn_flood, scan, and
 * the connection counts. */
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
/* Any flow (TCP or UDP) leaving the table: what its client did, so that
 * an unanswered SYN can be told from a client still waiting. tcp_flow_end
 * calls it for TCP flows. */
void tcp_note_flow(const struct flow *f);
/* The flow leaves the table at time now_us (syn_timeout decided here). */
void tcp_flow_end(struct flow *f, u64 now_us);
void tcp_finish(u64 now_us);
void tcp_reset(void);

#endif
