/* \summary: TLS handshake: ClientHello (SNI, ALPN, versions), ServerHello,
 * alerts, certificates (TLS <= 1.2) verified with OpenSSL at capture time;
 * only the first records of each flow are parsed. */
#ifndef PANNE_TLS_H
#define PANNE_TLS_H

#include "panne/types.h"
#include "panne/decode.h"
#include "panne/flow.h"

/* Loads the system CA store plus ca_file (may be NULL). 0, or -1 with err. */
int tls_init(const char *ca_file, char *err, size_t errlen);
/* 1 if a client's first payload looks like a TLS handshake record. */
int tls_detect(const u8 *p, u32 n);
/* Payload of a TLS flow. Sets f->name_id from the SNI; f->app_done when
 * the handshake is over (encrypted traffic needs no more parsing). */
void tls_feed(struct flow *f, int dir, const struct packet *pk);
/* The flow leaves the table: tls_timeout decided; frees f->app_state. */
void tls_flow_end(struct flow *f, u64 now_us);
void tls_reset(void);

/* Handshake messages read in clear, for the summary (and comparison with
 * tshark's counts). */
#define TLS_STATS_KEYS 16
/* A few distinct values and how often each came: past TLS_STATS_KEYS
 * distinct ones, new values are not counted (noise by then). */
struct tls_tally {
	struct { u16 key; u64 n; } v[TLS_STATS_KEYS];
	u8 n;
};
struct tls_stats {
	u64 client_hellos, server_hellos;
	u64 certificates;                 /* in Certificate messages */
	u64 server_names;                 /* distinct ClientHello server names */
	struct tls_tally versions;        /* negotiated, per ServerHello */
	struct tls_tally alerts;          /* read in clear, key level << 8 | description */
};
const struct tls_stats *tls_stats(void);

/* A ClientHello's or ServerHello's fields, read by tls_parse_hello(). */
struct tls_hello {
	u16 legacy_version; /* ClientHello.legacy_version (0 for a ServerHello) */
	u16 version;        /* ClientHello: highest offered; ServerHello: negotiated */
	u8 hrr;             /* the ServerHello is a HelloRetryRequest */
	char alpn[32];      /* first ALPN protocol offered, or the server's choice; escaped */
};
/* Reads the one handshake message (RFC 8446 section 4: type(1) length(3)
 * body) at the start of p[n], a handshake byte string reassembled by
 * another transport (QUIC CRYPTO frames), with the parser of TLS over TCP:
 * a ClientHello names f from its SNI (names_intern(); not counted in
 * tls_stats()). Returns the message type (1 or 2) with h filled, 0 when
 * p[n] does not hold the whole message, -1 for another type. Reads only
 * p[n]; keeps nothing. */
int tls_parse_hello(struct flow *f, const u8 *p, size_t n, struct tls_hello *h);

/* RFC 8446 section 6 alert description name, or NULL if unassigned. */
const char *tls_alert_name(u8 desc);

#endif
