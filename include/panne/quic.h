/* \summary: QUIC handshakes (RFC 9000, RFC 9369 version 2): long headers,
 * Version Negotiation, Retry, coalesced packets; the Initial packets opened
 * with the keys anyone can derive from the client's first Destination
 * Connection ID (RFC 9001 section 5.2), their CRYPTO frames reassembled and
 * read by the TLS parser, CONNECTION_CLOSE read. Only the first packets of
 * a connection are looked at; nothing past the Initial space is decrypted. */
#ifndef PANNE_QUIC_H
#define PANNE_QUIC_H

#include "panne/types.h"
#include "panne/decode.h"
#include "panne/flow.h"

#define QUIC_V1 0x00000001u /* RFC 9000 */
#define QUIC_V2 0x6b3343cfu /* RFC 9369 */

/* Fetches the KDF and ciphers. 0, or -1 with err. */
int quic_init(char *err, size_t errlen);
/* 1 if a client's first UDP payload p[n] to port dport is a QUIC long
 * header of version 1 or 2 (Initial or 0-RTT), or an Initial-sized long
 * header of another version toward port 443 (it asks for Version
 * Negotiation). */
int quic_detect(const u8 *p, u32 n, u16 dport);
/* A datagram of a QUIC flow. Allocates the flow's state at its first one;
 * sets f->name_id from the SNI, f->app_done past the handshake. */
void quic_feed(struct flow *f, int dir, const struct packet *pk);
/* The flow leaves the table: quic_timeout and quic_version decided, the
 * handshake counted; frees f->app_state. */
void quic_flow_end(struct flow *f, u64 now_us);
void quic_reset(void);

/* Long-header packets and handshake messages seen, for the summary
 * (counters.quic) and the comparison with tshark's figures. */
#define QUIC_STATS_VERSIONS 8
struct quic_stats {
	u64 client_initials, server_initials; /* Initial packets per side */
	u64 handshakes;                        /* Handshake packets, both sides */
	u64 zero_rtt;                          /* 0-RTT packets */
	u64 retries, version_negotiations;
	u64 connection_closes;                 /* CONNECTION_CLOSE frames read */
	u64 client_hellos, server_hellos;      /* read from CRYPTO frames */
	u64 connections;                       /* flows whose ClientHello was read (a Retry makes two hellos) */
	u64 server_names;                      /* distinct ClientHello server names */
	u64 opened, open_failed;               /* Initial packets decrypted, or not */
	u64 reasm_full;                        /* CRYPTO frames not kept: QUIC_REASM_MAX hellos in reassembly */
	struct { u32 version; u64 n; } versions[QUIC_STATS_VERSIONS]; /* long headers per version */
	u8 n_versions;
	/* The first distinct server names (interned ids) and first offered ALPN
	 * protocols of the ClientHellos, with how often each came. */
	struct { u32 name_id; u64 n; } names[QUIC_STATS_VERSIONS];
	u8 n_names;
	struct { char alpn[32]; u64 n; } alpns[QUIC_STATS_VERSIONS];
	u8 n_alpns;
};
const struct quic_stats *quic_stats(void);

/* ---- the primitives, for the tests ---- */

struct quic_keys {
	u8 key[16]; /* AEAD_AES_128_GCM */
	u8 iv[12];
	u8 hp[16];  /* header protection, AES-128-ECB */
};
/* The client's and the server's Initial keys of version for the client's
 * Destination Connection ID dcid[n] (RFC 9001 section 5.2; RFC 9369
 * section 3.3.1 for version 2). 0, or -1 for an unknown version or a KDF
 * failure. */
int quic_initial_keys(u32 version, const u8 *dcid, size_t n, struct quic_keys *client,
                      struct quic_keys *server);
/* Opens one long-header packet held in buf[n] (the packet alone, as the
 * datagram's Length field bounds it), in place: header protection removed
 * (RFC 9001 section 5.4), payload decrypted and authenticated. pn_off is
 * the offset of the packet number; largest is the largest packet number
 * opened before in that space (-1 for none). On success returns the
 * plaintext length and sets *payload (inside buf) and *pn; -1 when it does
 * not authenticate or is too short. */
int quic_open(const struct quic_keys *k, u8 *buf, size_t n, size_t pn_off, i64 largest,
              const u8 **payload, u64 *pn);
/* 1 if the Retry packet p[n] (integrity tag last) verifies for the
 * client's original Destination Connection ID odcid[odn] (RFC 9001 section
 * 5.8, RFC 9369 section 3.3.3), else 0. */
int quic_retry_valid(u32 version, const u8 *p, size_t n, const u8 *odcid, size_t odn);
/* RFC 9000 section 20.1 name of a transport error code, or NULL. */
const char *quic_error_name(u64 code);

#endif
