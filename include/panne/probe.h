/* \summary: panne probe: active checks of names (DNS through several
 * resolvers, TCP, TLS, HTTP) while panne captures its own traffic. probe.c
 * runs the command (options, capture, workers, findings); probe_net.c does
 * the network side of one name and shares nothing with other threads. */
#ifndef PANNE_PROBE_H
#define PANNE_PROBE_H

#include <openssl/ssl.h>
#include "panne/cert.h"
#include "panne/config.h"
#include "panne/types.h"

#define PROBE_RESOLVERS_MAX 8 /* system resolver plus --resolver addresses */
#define PROBE_ANSWER_ADDRS 8  /* addresses kept per DNS answer */
#define PROBE_CONNS_MAX 4     /* addresses of one name connected to, at most */
#define PROBE_HEAD_MAX 4096   /* bytes of an HTTP response head read */

enum { PQ_A = 0, PQ_AAAA, PQ_NTYPES };
enum { PQ_UDP = 0, PQ_TCP, PQ_NTRANS };

/* The outcome of one DNS query (one resolver, type and transport). */
struct probe_answer {
	u8 done;                 /* the query was made */
	u8 answered;             /* a response came (any rcode) */
	u8 rcode;
	u8 naddr;                /* addresses of the answer (CNAMEs followed) */
	u16 id;                  /* DNS id of the response, to find its frames */
	u32 ttl;
	struct addr addr[PROBE_ANSWER_ADDRS];
	u64 ts_us;               /* when the answer (or the failure) came */
	char err[96];            /* why there is no answer */
};

enum { PT_NONE = 0, PT_OK, PT_REFUSED, PT_TIMEOUT, PT_UNREACH, PT_ERROR };

/* One address of a name: TCP connect, TLS handshake, HTTP request. */
struct probe_conn {
	struct addr srv;
	struct addr cli;         /* the probe's local address and port (0 if none was bound) */
	u16 cport;
	u8 tcp;                  /* PT_* */
	u8 tls;                  /* PT_* (PT_NONE: not tried) */
	u8 http;                 /* PT_* */
	u8 verified;             /* OpenSSL verified chain and name during the handshake */
	int sys_errno;           /* of a failed connect */
	u64 tcp_us, tls_us, http_us; /* when each step ended */
	char tls_version[16];
	char tls_err[160];
	u8 nchain;               /* the peer's chain, leaf first, DER (malloc'd) */
	u8 *der[CERT_CHAIN_MAX];
	u32 derlen[CERT_CHAIN_MAX];
	int status;              /* HTTP status, 0 if none */
	char reason[64], server[96], http_err[96];
};

/* One name and everything the probe saw of it. */
struct probe_target {
	char name[NAME_MAX_LEN + 1];
	struct probe_answer ans[PROBE_RESOLVERS_MAX][PQ_NTYPES][PQ_NTRANS];
	struct probe_conn conn[PROBE_CONNS_MAX];
	u8 nconn;
};

/* What every worker reads (never writes). */
struct probe_cfg {
	struct addr res[PROBE_RESOLVERS_MAX];
	u8 nres;
	u64 timeout_us;          /* per query, connect, handshake and request */
	SSL_CTX *ssl;            /* client context: CA store loaded, verification on */
	/* Called with each address before the probe connects to it, so that the
	 * capture keeps its packets; may be NULL. */
	void (*will_connect)(const struct addr *a);
};

/* Asks every resolver of c for t->name (A and AAAA, over UDP and TCP). */
void probe_resolve(struct probe_target *t, const struct probe_cfg *c);
/* Connects to at most PROBE_CONNS_MAX of the non-bogus addresses the
 * resolvers gave, port 443: TLS with SNI, then HEAD / over it when the
 * certificate verified. */
void probe_connect(struct probe_target *t, const struct probe_cfg *c);
/* Frees what probe_connect allocated (the chains). */
void probe_target_free(struct probe_target *t);

/* panne probe [NAME|SERVICE ...] [options]: argv[0] is "probe". Returns the
 * exit status. */
int probe_main(int argc, char **argv);

#endif
