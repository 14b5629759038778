/* \summary: the finding record (one failed exchange or anomaly), the closed
 * vocabulary of kinds, and the store every analyzer emits into; plus the
 * per-group exchange counters that diagnose reads. */
#ifndef PANNE_FINDINGS_H
#define PANNE_FINDINGS_H

#include <jansson.h>
#include "panne/types.h"
#include "panne/config.h"

struct flow;

enum category { CAT_DNS = 0, CAT_TCP, CAT_TLS, CAT_HTTP, CAT_QUIC, CAT_N };

enum kind {
	K_NXDOMAIN = 0,
	K_SERVFAIL,
	K_DNS_REFUSED,      /* "refused" in category dns */
	K_DNS_ERROR,
	K_DNS_TIMEOUT,
	K_DNS_BOGUS_ANSWER,
	K_DNS_INJECTION,
	K_TCP_REFUSED,      /* "refused" in category tcp */
	K_SYN_TIMEOUT,
	K_RST,
	K_RST_INJECTION,
	K_ICMP_UNREACHABLE,
	K_SYN_FLOOD,
	K_TLS_ALERT,
	K_CERT_UNTRUSTED,
	K_CERT_MISMATCH,
	K_CERT_EXPIRED,
	K_TLS_TIMEOUT,
	K_HTTP_5XX,
	K_SNI_FILTERED,     /* handshake cut after the ClientHello, other names work on that server */
	K_DNS_REFLECTION,   /* many large or fragmented answers to queries nobody here sent */
	K_SCAN,             /* one source probing many ports or addresses */
	K_QUIC_TIMEOUT,     /* QUIC client Initials never answered with a hello */
	K_QUIC_CLOSE,       /* QUIC handshake closed with an error (CONNECTION_CLOSE) */
	K_QUIC_VERSION,     /* QUIC Version Negotiation the client could not use */
	K_N
};

enum origin { O_UNKNOWN = 0, O_SERVER, O_RESOLVER, O_LOCAL, O_ONPATH, O_N };

struct finding {
	u64 ts_us;
	u16 file;
	u32 frame;                 /* = ev[0] */
	u32 ev[FIND_EV_MAX];       /* evidence frames, ev[0] first */
	u8 n_ev;
	u8 cat, kind, origin;      /* enum category, kind, origin */
	u8 proto;                  /* 6 or 17; 0 if none */
	struct addr cli, srv;
	u16 cport, sport;
	char name[NAME_MAX_LEN + 1];    /* "" means null */
	char group[SERVICE_KEY_LEN];    /* filled by findings_emit */
	const char *iface;         /* interface of frame when the input has several (OUTPUT.md
	                            * interface), else NULL; set by main, storage main's */
	json_t *detail;            /* kind's facts, owned by the finding until findings_emit */
	char *detail_s;            /* in the store: the facts as compact JSON text, a quarter of
	                            * the tree's memory; read through finding_detail() */
	u8 facts;                  /* FACT_*: what diagnose asks of the detail of many findings */
};

/* Facts of a detail that diagnose tests on many findings, set by findings_emit. */
#define FACT_SENDER_CLIENT 1u   /* "sender": "client" (a reset or close the client sent) */
#define FACT_RESOLVER_LOCAL 2u  /* "resolver_local": true */
#define FACT_GATEWAY 4u         /* has "gateway" (a gateway twin's word on a silence) */
#define FACT_FLOOD 8u           /* has "flood" */

const char *kind_name(int kind);        /* "refused", "rst_injection"... */
const char *category_name(int cat);     /* "dns", "tcp", "tls", "http", "quic" */
const char *origin_name(int origin);    /* "server", "on-path"... */
/* Default category of a kind (icmp_unreachable: the flow's, set by caller). */
int kind_category(int kind);
/* Kind by name and category (for --explain and tests); -1 if unknown. */
int kind_lookup(const char *name);

/* Starts a finding: zeroes f, sets kind, category, time, file and frame
 * (as the first evidence frame), and copies the tuple of fl when not NULL.
 * detail starts as an empty object. */
void finding_init(struct finding *f, int kind, const struct flow *fl,
                  u64 ts_us, u16 file, u32 frame);
/* {"kind":"gre","outer_src":..,"outer_dst":..,"key":N,"layers":[..]}: what
 * carried a flow, for detail.tunnel (a new object, owned by the caller). */
struct pkt_tunnel;
json_t *findings_tunnel_json(const struct pkt_tunnel *t);
/* Adds an evidence frame (ignored when full or already present). */
void finding_add_ev(struct finding *f, u32 frame);
/* Sets name from a wire string (escaped) or a C string. */
void finding_set_name(struct finding *f, const char *name);

/* A finding's detail, stored or not: a new reference (an empty object when
 * it has none) that the caller releases with json_decref. */
json_t *finding_detail(const struct finding *f);
/* Copies the string value of key in f's detail into out ("" when it is not
 * a string); 1 when the detail has key at all. */
int finding_detail_str(const struct finding *f, const char *key, char *out, size_t n);
/* Sets key of a stored finding's detail to v (the reference is taken). */
void finding_detail_set(struct finding *f, const char *key, json_t *v);

/* Takes ownership of f->detail, which it keeps as JSON text; copies f into
 * the store. Fills f->group
 * from the name, or the server address through the DNS map (services).
 * When the store is full the finding is counted but not kept. */
void findings_emit(struct finding *f);

/* Counts one exchange (DNS transaction, TCP connection, TLS handshake,
 * HTTP response) for the group of name (or srv when name is NULL/""),
 * failed or not, and logs it with its client and its start time ts_us
 * (query, SYN, ClientHello, request) for diagnose's time, client and name
 * reasoning. cli may be NULL. Analyzers call this once per exchange when
 * it ends. */
void findings_exchange(int cat, const char *name, const struct addr *srv,
                       const struct addr *cli, u64 ts_us, int failed);

/* Probe mode: exchanges are counted by the probe (one per query,
 * connection, handshake and request it made), whether or not its traffic
 * could be captured; the analyzers' findings_exchange() calls are then
 * ignored so that nothing is counted twice. */
void findings_exchanges_by_probe(void);
void findings_probe_exchange(int cat, const char *name, const struct addr *srv,
                             const struct addr *cli, u64 ts_us, int failed);

/* Store access for diagnose and report. */
size_t findings_count(void);
const struct finding *findings_get(size_t i);
/* The same, writable: the probe adds its own facts to a finding the capture
 * already made, instead of reporting the fact twice. */
struct finding *findings_get_mut(size_t i);
u64 findings_dropped(void); /* emitted past the cap */

/* The attack checks (OUTPUT.md attack_checks): what was examined for a sign
 * of an attack, and how much of it showed one. */
enum attack_check {
	AC_DNS_ANSWERS = 0, /* answers compared with the other answers to their query / checked for bogus addresses */
	AC_RESETS,          /* resets scored against the purported sender's own packets */
	AC_CHAINS,          /* certificate chains verified */
	AC_FLOODS,          /* servers watched for floods (found: floods) */
	AC_SCANS,           /* sources watched for scans (found: scans) */
	AC_N
};
const char *attack_check_name(int check, int found); /* "dns_answers_compared", "dns_injected"... */

struct group_stats {
	char group[SERVICE_KEY_LEN];
	u32 seen[CAT_N], failed[CAT_N];
	u32 checked[AC_N], found[AC_N]; /* attack checks made on its exchanges */
};

/* Counts one attack check for the group of name (or srv), and whether it
 * found a sign of an attack; name NULL and srv NULL count for the whole
 * capture only. Every check counts in findings_checks() too. */
void findings_attack_check(int check, const char *name, const struct addr *srv, int found);
/* The whole capture's checks: arrays of AC_N. */
const u32 *findings_checks(int found);
size_t findings_groups(void);
const struct group_stats *findings_group(size_t i);
const struct group_stats *findings_group_find(const char *group);
/* Index of a group in findings_group() order, or -1. */
int findings_group_index(const char *group);

/* The exchange log: every counted exchange in the order it ended, up to
 * EXCH_LOG_CAP (then only counted: findings_exchange_lost() says how many).
 * Clients are interned (findings_client()), names are services' ids. */
struct exch_rec {   /* 16 bytes: one per exchange, the log that grows with a capture */
	u64 ts_us;        /* start of the exchange */
	u64 name : 17;    /* names_get() id (at most NAMES_CAP); 0 = none */
	u64 client : 17;  /* findings_client() index + 1 (at most CLIENTS_CAP); 0 = none */
	u64 cat : 3;      /* enum category */
	u64 failed : 1;
	u64 group : 26;   /* findings_group() index; a group past that is not logged */
};
size_t findings_exchanges(void);
const struct exch_rec *findings_exchange_at(size_t i);
u64 findings_exchange_lost(void);
const struct addr *findings_client(u32 idx); /* idx as in exch_rec.client; NULL for 0 */

/* How far the capture itself can be trusted, set by the capture stages and
 * read by diagnose: TCP connections seen in one direction only (a missing
 * direction, asymmetric routing or a mirror port), and kernel drops. */
struct capture_quality {
	u64 tcp_conns;      /* connections that began with a SYN */
	u64 tcp_one_way;    /* ... of which nothing came back nor was answered */
	u64 backscatter;    /* SYN-ACKs or resets to nobody's SYN */
	u64 dropped;        /* packets the kernel dropped (live) */
};
struct capture_quality *findings_quality(void);

void findings_init(void);
void findings_reset(void);  /* frees everything (tests, fuzzing) */

#endif
