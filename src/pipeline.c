/* \summary: one packet through every stage: decode, flow, then the analyzer
 * the flow belongs to. Owns the flow table and the run's counters. */
#include <string.h>

#include "panne/decode.h"
#include "panne/dns.h"
#include "panne/findings.h"
#include "panne/flow.h"
#include "panne/hops.h"
#include "panne/http.h"
#include "panne/opts.h"
#include "panne/pipeline.h"
#include "panne/quic.h"
#include "panne/tcp.h"
#include "panne/tls.h"
#include "panne/twins.h"
#include "panne/util.h"

#define EXPIRE_EVERY_US 1000000u /* housekeeping once per second of capture time */

static struct flow_table *ft;
static struct run_stats st;
static u64 file_last_us; /* newest packet time of the current file */
static u64 next_expire_us;

/* Flow end: analyzers first (they may still name the flow), then tcp, which
 * counts the connection under that name. */
static void on_flow_end(void *user, struct flow *f, int why)
{
	(void)user;
	(void)why;
	switch (f->app) {
	case APP_TLS:
		tls_flow_end(f, file_last_us);
		break;
	case APP_HTTP:
		http_flow_end(f, file_last_us);
		break;
	case APP_DNS:
		dns_flow_end(f);
		break;
	case APP_QUIC:
		quic_flow_end(f, file_last_us);
		break;
	default:
		break;
	}
	f->app_state = NULL;
	if (f->proto == IPPROTO_TCP_) {
		struct capture_quality *q = findings_quality();
		if (f->syn_count) {
			q->tcp_conns++;
			/* Data or acks from the client after its SYN, never a packet back. */
			q->tcp_one_way += !f->side[DIR_S2C].pkts && f->side[DIR_C2S].pkts > f->syn_count;
		} else if (!f->side[DIR_C2S].pkts && f->side[DIR_S2C].pkts &&
		           (f->synack_us || f->rst_count)) {
			q->backscatter++;
		}
		tcp_flow_end(f, file_last_us);
	} else {
		tcp_note_flow(f);
	}
}

int pipeline_init(char *err, size_t errlen)
{
	memset(&st, 0, sizeof st);
	findings_init();
	hops_reset();
	dns_init();
	tcp_init();
	http_init();
	if (tls_init(g_opts.ca_file, err, errlen) < 0 || quic_init(err, errlen) < 0)
		return -1;
	ft = flow_table_new(g_opts.flow_cap, g_opts.flow_idle_us, on_flow_end, NULL);
	file_last_us = next_expire_us = 0;
	return 0;
}

/* Counts what carried a frame, and names what stopped its decoding. */
__attribute__((noinline, cold)) static void count_encapsulation(const struct packet *pk, int rc)
{
	for (int k = 1; k < TUN_N; k++)
		st.tun_frames[k] += (pk->tun.seen >> k) & 1;
	st.inner_ip_frames += pk->tun.inner_ip;
	if (rc != DEC_UNSUPP)
		return;
	for (u32 i = 0; i < st.n_unsupp; i++)
		if (st.unsupp[i].cls == pk->unsupp && st.unsupp[i].val == pk->unsupp_val) {
			st.unsupp[i].n++;
			return;
		}
	if (st.n_unsupp == UNSUPP_KEYS_MAX) {
		st.unsupp_other++;
		return;
	}
	st.unsupp[st.n_unsupp++] = (struct unsupp_count){ pk->unsupp, pk->unsupp_val, 1 };
}

/* Picks the analyzer of a flow from its port or its first client bytes. */
static void classify(struct flow *f, int dir, const struct packet *pk)
{
	if (f->sport == 53 || (f->picked_up && f->cport == 53)) {
		f->app = APP_DNS;
		return;
	}
	if (pk->proto == IPPROTO_TCP_ && dir == DIR_C2S) {
		if (tls_detect(pk->pl, pk->pl_len))
			f->app = APP_TLS;
		else if (http_detect(pk->pl, pk->pl_len))
			f->app = APP_HTTP;
		else
			f->app = APP_OTHER;
	} else if (pk->proto == IPPROTO_UDP_ && dir == DIR_C2S && quic_detect(pk->pl, pk->pl_len, pk->dport)) {
		f->app = APP_QUIC;
	} else {
		f->app = APP_OTHER; /* other UDP, or a server that speaks first */
	}
	if (f->app == APP_OTHER)
		f->app_done = 1;
}

void pipeline_packet(void *user, const struct cap_pkt *cp)
{
	struct packet pk;
	struct flow *f;
	int dir, rc;

	(void)user;
	st.packets++;
	st.bytes += cp->len;
	if (!st.first_us || cp->ts_us < st.first_us)
		st.first_us = cp->ts_us;
	if (cp->ts_us > st.last_us)
		st.last_us = cp->ts_us;
	if (cp->ts_us > file_last_us)
		file_last_us = cp->ts_us;

	rc = decode_packet(cp, &pk);
	if (rc >= 0 && rc < DEC_NSTATUS)
		st.dec[rc]++;
	st.ipv6_frames += pk.ip6_seen;
	st.vlan_frames += pk.vlan_tags != 0;
	if (pk.tun.seen | (rc == DEC_UNSUPP))
		count_encapsulation(&pk, rc);
	if (rc != DEC_OK)
		return;

	if (file_last_us >= next_expire_us) {
		flow_expire(ft, file_last_us);
		dns_expire(file_last_us);
		next_expire_us = file_last_us + EXPIRE_EVERY_US;
	}

	/* The gateway's far side is only looked at to see what left it. */
	if (twins_far_side(pk.side)) {
		if (pk.l4_ok && pk.proto == IPPROTO_TCP_ && (pk.tcp_flags & (TH_SYN | TH_ACK)) == TH_SYN)
			twins_note(IPPROTO_TCP_, &pk.dst, pk.dport, pk.seq, pk.side);
		else if (pk.l4_ok && pk.proto == IPPROTO_UDP_ && pk.dport == 53 && pk.pl_len)
			dns_twin_note(&pk);
		return;
	}
	if (pk.proto == IPPROTO_ICMP_ || pk.proto == IPPROTO_ICMPV6_) {
		if (!pk.inner.valid)
			return;
		f = flow_find_inner(ft, &pk.inner, &dir);
		/* Only errors about what the client sent say the path failed it; one
		 * quoting a server's packet is the client refusing a late answer. */
		if (!f || dir != DIR_C2S)
			return;
		if (f->app == APP_DNS || f->sport == 53)
			dns_icmp(f, &pk); /* the query it answers carries the name */
		else
			tcp_icmp(f, dir, &pk);
		return;
	}
	if (!pk.l4_ok || (pk.proto != IPPROTO_TCP_ && pk.proto != IPPROTO_UDP_))
		return;
	f = flow_update(ft, &pk, &dir);
	if (!f)
		return;
	/* A flow's opening packet tells how far its client is from here. */
	if (dir == DIR_C2S && f->side[DIR_C2S].pkts == 1 && !f->picked_up &&
	    (pk.proto == IPPROTO_UDP_ || (pk.tcp_flags & (TH_SYN | TH_ACK)) == TH_SYN))
		hops_note_client(pk.ipver, pk.ttl);
	if (pk.proto == IPPROTO_TCP_) {
		st.tcp_syn += (pk.tcp_flags & (TH_SYN | TH_ACK)) == TH_SYN;
		st.tcp_synack += (pk.tcp_flags & (TH_SYN | TH_ACK)) == (TH_SYN | TH_ACK);
		st.tcp_rst += (pk.tcp_flags & TH_RST) != 0;
		tcp_feed(f, dir, &pk);
	}
	if (f->app_done || pk.pl_len == 0)
		return;
	if (f->app == APP_NONE)
		classify(f, dir, &pk);
	switch (f->app) {
	case APP_DNS:
		dns_feed(f, dir, &pk);
		break;
	case APP_TLS:
		tls_feed(f, dir, &pk);
		break;
	case APP_HTTP:
		http_feed(f, dir, &pk);
		break;
	case APP_QUIC:
		quic_feed(f, dir, &pk);
		break;
	default:
		break;
	}
}

void pipeline_tick(u64 now_us)
{
	if (now_us > file_last_us)
		file_last_us = now_us;
	flow_expire(ft, file_last_us);
	dns_expire(file_last_us);
	next_expire_us = file_last_us + EXPIRE_EVERY_US;
}

void pipeline_file_end(void)
{
	/* Frame numbers are per file, so state never crosses a file boundary. */
	flow_flush(ft);
	dns_finish(file_last_us);
	tcp_finish(file_last_us);
	file_last_us = next_expire_us = 0;
}

void pipeline_finish(void)
{
	st.flows = flow_total(ft);
	st.flows_evicted = flow_evicted(ft);
	st.findings_dropped = findings_dropped();
}

const struct run_stats *pipeline_stats(void)
{
	return &st;
}

void pipeline_reset(void)
{
	if (ft)
		flow_table_free(ft);
	ft = NULL;
	dns_reset();
	tcp_reset();
	tls_reset();
	quic_reset();
	http_reset();
	twins_reset();
	hops_reset();
	findings_reset();
	memset(&st, 0, sizeof st);
}
