/* \summary: the network side of panne probe for one name: DNS queries with
 * libldns to each resolver (A and AAAA, UDP and TCP), TCP connects, TLS
 * handshakes with OpenSSL (SNI, chain kept), HEAD / over TLS. Runs in
 * worker threads: touches only its own target and the read-only config. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <ldns/ldns.h>
#include <netinet/in.h>
#include <openssl/err.h>
#include <openssl/x509.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include "panne/probe.h"
#include "panne/util.h"

static u64 now_us(void)
{
	struct timeval tv;
	gettimeofday(&tv, NULL);
	return (u64)tv.tv_sec * 1000000u + (u64)tv.tv_usec;
}

/* ---- DNS ---- */

static ldns_rdf *addr_rdf(const struct addr *a)
{
	return ldns_rdf_new_frm_data(a->fam == 4 ? LDNS_RDF_TYPE_A : LDNS_RDF_TYPE_AAAA,
	                             a->fam == 4 ? 4 : 16, a->b);
}

/* One query of name to resolver res; fills pa. */
static void query(struct probe_answer *pa, const struct addr *res, const char *name,
                  ldns_rr_type type, int tcp, u64 timeout_us)
{
	ldns_resolver *r = ldns_resolver_new();
	ldns_rdf *ns = addr_rdf(res), *dn = ldns_dname_new_frm_str(name);
	ldns_pkt *pkt = NULL;
	struct timeval tv = { .tv_sec = (time_t)(timeout_us / 1000000),
		              .tv_usec = (suseconds_t)(timeout_us % 1000000) };

	pa->done = 1;
	if (!r || !ns || !dn) {
		snprintf(pa->err, sizeof pa->err, "cannot build the query");
		goto out;
	}
	ldns_resolver_push_nameserver(r, ns); /* copies ns */
	ldns_resolver_set_usevc(r, tcp != 0);
	ldns_resolver_set_fallback(r, false); /* UDP stays UDP: TCP is asked apart */
	ldns_resolver_set_recursive(r, true);
	ldns_resolver_set_retry(r, 1);
	ldns_resolver_set_retrans(r, (uint8_t)MAX(1, MIN(timeout_us / 1000000, 255)));
	ldns_resolver_set_timeout(r, tv);
	ldns_resolver_set_dnssec(r, false);
	ldns_status st = ldns_resolver_send(&pkt, r, dn, type, LDNS_RR_CLASS_IN, LDNS_RD);
	pa->ts_us = now_us();
	if (st != LDNS_STATUS_OK || !pkt) {
		snprintf(pa->err, sizeof pa->err, "%s", ldns_get_errorstr_by_id(st));
		goto out;
	}
	pa->answered = 1;
	pa->rcode = (u8)ldns_pkt_get_rcode(pkt);
	pa->id = ldns_pkt_id(pkt);
	ldns_rr_list *an = ldns_pkt_answer(pkt);
	for (size_t i = 0; an && i < ldns_rr_list_rr_count(an); i++) {
		ldns_rr *rr = ldns_rr_list_rr(an, i);
		ldns_rdf *rd = ldns_rr_rdf(rr, 0);
		ldns_rr_type t = ldns_rr_get_type(rr);
		if (!rd || (t != LDNS_RR_TYPE_A && t != LDNS_RR_TYPE_AAAA) ||
		    pa->naddr == PROBE_ANSWER_ADDRS)
			continue;
		size_t n = ldns_rdf_size(rd);
		if ((t == LDNS_RR_TYPE_A && n != 4) || (t == LDNS_RR_TYPE_AAAA && n != 16))
			continue;
		struct addr *a = &pa->addr[pa->naddr++];
		memset(a, 0, sizeof *a);
		a->fam = t == LDNS_RR_TYPE_A ? 4 : 6;
		memcpy(a->b, ldns_rdf_data(rd), n);
		pa->ttl = ldns_rr_ttl(rr);
	}
out:
	if (pkt)
		ldns_pkt_free(pkt);
	if (dn)
		ldns_rdf_deep_free(dn);
	if (ns)
		ldns_rdf_deep_free(ns);
	if (r)
		ldns_resolver_deep_free(r);
}

void probe_resolve(struct probe_target *t, const struct probe_cfg *c)
{
	static const ldns_rr_type types[PQ_NTYPES] = { LDNS_RR_TYPE_A, LDNS_RR_TYPE_AAAA };
	for (u8 r = 0; r < c->nres; r++)
		for (int ty = 0; ty < PQ_NTYPES; ty++)
			for (int tr = 0; tr < PQ_NTRANS; tr++)
				query(&t->ans[r][ty][tr], &c->res[r], t->name, types[ty], tr == PQ_TCP,
				      c->timeout_us);
}

/* ---- TCP, TLS, HTTP ---- */

static socklen_t sockaddr_of(const struct addr *a, u16 port, struct sockaddr_storage *ss)
{
	memset(ss, 0, sizeof *ss);
	if (a->fam == 4) {
		struct sockaddr_in *s4 = (struct sockaddr_in *)ss;
		s4->sin_family = AF_INET;
		s4->sin_port = htons(port);
		memcpy(&s4->sin_addr, a->b, 4);
		return sizeof *s4;
	}
	struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)ss;
	s6->sin6_family = AF_INET6;
	s6->sin6_port = htons(port);
	memcpy(&s6->sin6_addr, a->b, 16);
	return sizeof *s6;
}

/* 1 if the host has a route toward a (a UDP connect sends nothing). */
static int routable(const struct addr *a)
{
	struct sockaddr_storage ss;
	socklen_t n = sockaddr_of(a, 443, &ss);
	int fd = socket(ss.ss_family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return 0;
	int ok = connect(fd, (struct sockaddr *)&ss, n) == 0;
	close(fd);
	return ok;
}

/* Connects to pc->srv port 443 within timeout; returns the socket (blocking,
 * with send and receive timeouts) or -1 with pc->tcp saying why. */
static int tcp_connect(struct probe_conn *pc, u64 timeout_us)
{
	struct sockaddr_storage ss, local;
	socklen_t n = sockaddr_of(&pc->srv, 443, &ss), ln = sizeof local;
	int fd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0) {
		pc->tcp = PT_ERROR;
		pc->sys_errno = errno;
		return -1;
	}
	int rc = connect(fd, (struct sockaddr *)&ss, n), err = rc == 0 ? 0 : errno;
	if (getsockname(fd, (struct sockaddr *)&local, &ln) == 0) {
		if (local.ss_family == AF_INET) {
			const struct sockaddr_in *l4 = (const struct sockaddr_in *)&local;
			pc->cport = ntohs(l4->sin_port);
			pc->cli.fam = 4;
			memcpy(pc->cli.b, &l4->sin_addr, 4);
		} else {
			const struct sockaddr_in6 *l6 = (const struct sockaddr_in6 *)&local;
			pc->cport = ntohs(l6->sin6_port);
			pc->cli.fam = 6;
			memcpy(pc->cli.b, &l6->sin6_addr, 16);
		}
	}
	if (err == EINPROGRESS) {
		struct pollfd pf = { .fd = fd, .events = POLLOUT };
		int pr;
		do
			pr = poll(&pf, 1, (int)(timeout_us / 1000));
		while (pr < 0 && errno == EINTR);
		socklen_t el = sizeof err;
		if (pr == 0)
			err = ETIMEDOUT;
		else if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &el) < 0)
			err = errno;
	}
	pc->tcp_us = now_us();
	pc->sys_errno = err;
	if (err) {
		pc->tcp = err == ECONNREFUSED ? PT_REFUSED : err == ETIMEDOUT ? PT_TIMEOUT
		          : err == EHOSTUNREACH || err == ENETUNREACH ? PT_UNREACH : PT_ERROR;
		close(fd);
		return -1;
	}
	pc->tcp = PT_OK;
	fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK);
	struct timeval tv = { .tv_sec = (time_t)(timeout_us / 1000000),
		              .tv_usec = (suseconds_t)(timeout_us % 1000000) };
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
	return fd;
}

/* Why the last OpenSSL call failed, in words. */
static void ssl_why(char *out, size_t n, SSL *s, int rc)
{
	int e = SSL_get_error(s, rc);
	unsigned long q = ERR_peek_error();
	if (q) {
		ERR_error_string_n(q, out, n);
	} else if (e == SSL_ERROR_SYSCALL || e == SSL_ERROR_ZERO_RETURN) {
		snprintf(out, n, "%s", errno == EAGAIN || errno == EWOULDBLOCK ? "timed out"
		                       : errno ? strerror(errno) : "connection closed by the peer");
	} else {
		snprintf(out, n, "TLS error %d", e);
	}
	ERR_clear_error();
}

static void keep_chain(struct probe_conn *pc, SSL *s)
{
	STACK_OF(X509) *ch = SSL_get_peer_cert_chain(s); /* the client's view holds the leaf */
	for (int i = 0; ch && i < sk_X509_num(ch) && pc->nchain < CERT_CHAIN_MAX; i++) {
		u8 *der = NULL;
		int n = i2d_X509(sk_X509_value(ch, i), &der);
		if (n <= 0)
			continue;
		pc->der[pc->nchain] = der;
		pc->derlen[pc->nchain++] = (u32)n;
	}
}

/* HEAD / over the TLS connection: the status line and Server header. */
static void http_head(struct probe_conn *pc, SSL *s, const char *name)
{
	char req[NAME_MAX_LEN + 128], buf[PROBE_HEAD_MAX + 1];
	int n = snprintf(req, sizeof req,
	                 "HEAD / HTTP/1.1\r\nHost: %s\r\nUser-Agent: panne-probe\r\nAccept: */*\r\n"
	                 "Connection: close\r\n\r\n", name);
	size_t got = 0;
	if (SSL_write(s, req, n) != n) {
		ssl_why(pc->http_err, sizeof pc->http_err, s, -1);
		pc->http = strstr(pc->http_err, "timed out") ? PT_TIMEOUT : PT_ERROR;
		pc->http_us = now_us();
		return;
	}
	buf[0] = 0;
	while (got < PROBE_HEAD_MAX && !strstr(buf, "\r\n\r\n")) {
		int r = SSL_read(s, buf + got, (int)(PROBE_HEAD_MAX - got));
		if (r <= 0) {
			if (!got)
				ssl_why(pc->http_err, sizeof pc->http_err, s, r);
			break;
		}
		got += (size_t)r;
		buf[got] = 0;
	}
	pc->http_us = now_us();
	int major, minor, status = 0, off = 0;
	if (got && sscanf(buf, "HTTP/%d.%d %3d%n", &major, &minor, &status, &off) >= 3 &&
	    status >= 100 && status <= 999) {
		pc->http = PT_OK;
		pc->status = status;
		const char *r = buf + off, *e = strstr(r, "\r\n");
		while (*r == ' ')
			r++;
		str_escape((const u8 *)r, e && e > r ? (size_t)(e - r) : 0, pc->reason, sizeof pc->reason);
		for (const char *h = e; h && *h; h = strstr(h + 2, "\r\n")) {
			if (strncasecmp(h + 2, "Server:", 7) != 0)
				continue;
			const char *v = h + 9, *ve = strstr(v, "\r\n");
			while (*v == ' ')
				v++;
			str_escape((const u8 *)v, ve && ve > v ? (size_t)(ve - v) : strlen(v), pc->server,
			           sizeof pc->server);
			break;
		}
	} else {
		pc->http = strstr(pc->http_err, "timed out") ? PT_TIMEOUT : PT_ERROR;
		if (got && !pc->http_err[0])
			snprintf(pc->http_err, sizeof pc->http_err, "not an HTTP/1.x response");
	}
}

static void probe_one(struct probe_target *t, struct probe_conn *pc, const struct probe_cfg *c)
{
	int fd = tcp_connect(pc, c->timeout_us);
	if (fd < 0)
		return;
	SSL *s = SSL_new(c->ssl);
	if (!s) {
		pc->tls = PT_ERROR;
		snprintf(pc->tls_err, sizeof pc->tls_err, "cannot make a TLS session");
		close(fd);
		return;
	}
	SSL_set_fd(s, fd);
	SSL_set_tlsext_host_name(s, t->name);
	SSL_set1_host(s, t->name); /* the name check is part of the verify result */
	int rc = SSL_connect(s);
	pc->tls_us = now_us();
	if (rc != 1) {
		ssl_why(pc->tls_err, sizeof pc->tls_err, s, rc);
		pc->tls = strstr(pc->tls_err, "timed out") ? PT_TIMEOUT : PT_ERROR;
		keep_chain(pc, s);
	} else {
		pc->tls = PT_OK;
		snprintf(pc->tls_version, sizeof pc->tls_version, "%s", SSL_get_version(s));
		keep_chain(pc, s);
		pc->verified = SSL_get_verify_result(s) == X509_V_OK;
		/* Nothing is asked of a server whose certificate does not verify:
		 * the request would go to whoever holds that certificate. */
		if (pc->verified)
			http_head(pc, s, t->name);
		SSL_shutdown(s);
	}
	ERR_clear_error();
	SSL_free(s);
	close(fd);
}

void probe_connect(struct probe_target *t, const struct probe_cfg *c)
{
	/* Distinct, non-bogus, routable addresses, in resolver order. */
	for (u8 r = 0; r < c->nres; r++)
		for (int ty = 0; ty < PQ_NTYPES; ty++)
			for (int tr = 0; tr < PQ_NTRANS; tr++) {
				const struct probe_answer *pa = &t->ans[r][ty][tr];
				for (u8 i = 0; i < pa->naddr && t->nconn < PROBE_CONNS_MAX; i++) {
					u8 j;
					if (addr_bogus(&pa->addr[i]))
						continue;
					for (j = 0; j < t->nconn && !addr_eq(&t->conn[j].srv, &pa->addr[i]); j++)
						;
					if (j < t->nconn || !routable(&pa->addr[i]))
						continue;
					t->conn[t->nconn++].srv = pa->addr[i];
				}
			}
	for (u8 i = 0; i < t->nconn; i++) {
		if (c->will_connect)
			c->will_connect(&t->conn[i].srv);
		probe_one(t, &t->conn[i], c);
	}
}

void probe_target_free(struct probe_target *t)
{
	for (u8 i = 0; i < t->nconn; i++)
		for (u8 k = 0; k < t->conn[i].nchain; k++)
			OPENSSL_free(t->conn[i].der[k]);
}
