/* \summary: DNS over UDP and TCP (libldns): query/answer matching, rcode
 * findings, unanswered queries (timeout, the client giving up, many round
 * trips), injection, answers that point nowhere (held until a handshake
 * proves or refuses them, or the input ends), reflection; teaches
 * services the address -> names map with each answer's client and time
 * (CNAME chains included). */
#ifndef PANNE_DNS_H
#define PANNE_DNS_H

#include "panne/types.h"
#include "panne/decode.h"
#include "panne/flow.h"

void dns_init(void);
/* One packet of a DNS flow (port 53, UDP or TCP with payload). */
void dns_feed(struct flow *f, int dir, const struct packet *pk);
/* The flow leaves the table: frees f->app_state (TCP reassembly). */
void dns_flow_end(struct flow *f);
/* Emits dns_timeout for queries unanswered since now_us - timeout; ends
 * answered transactions one timeout after their answer. */
void dns_expire(u64 now_us);
/* End of input at time now_us: the queries still waiting are judged by
 * the rules of dns_timeout (the client gave up, many round trips), the
 * held answers decided (a handshake proved them, refused them, or
 * neither), reflection reported; frees transactions. */
void dns_finish(u64 now_us);
/* An ICMP error quoting a DNS query: the transaction is answered by it. */
int dns_icmp(struct flow *f, const struct packet *pk);
void dns_reset(void);
/* A query seen on a gateway's far side: noted for pairing only (twins). */
void dns_twin_note(const struct packet *pk);

struct dns_stats { u64 queries, responses, unmatched, parse_errors, duplicates, evicted; };
const struct dns_stats *dns_stats(void);

#endif
