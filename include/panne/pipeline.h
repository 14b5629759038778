/* \summary: wiring of capture -> decode -> flow -> analyzers for one run;
 * owns the flow table and the run's counters. */
#ifndef PANNE_PIPELINE_H
#define PANNE_PIPELINE_H

#include "panne/types.h"
#include "panne/capture.h"
#include "panne/decode.h"

#define UNSUPP_KEYS_MAX 32 /* distinct undecoded (class, value) pairs named in the summary */

struct unsupp_count {
	u8 cls;  /* enum unsupp_class */
	u32 val; /* ethertype, DLT, PPP protocol... */
	u64 n;   /* frames */
};

struct run_stats {
	u64 packets, bytes;          /* records handed to the pipeline */
	u64 first_us, last_us;
	u64 dec[5];                  /* per dec_status */
	u64 flows;                   /* created */
	u64 flows_evicted;
	u64 findings_dropped;
	u64 dropped;                 /* live: kernel drops */
	u64 tcp_syn, tcp_synack, tcp_rst; /* packets, for comparison with tshark */
	u64 ipv6_frames, vlan_frames;     /* frames with an IPv6 header, with a VLAN tag */
	u64 inner_ip_frames;              /* frames whose IP packet was inside an encapsulation */
	u64 tun_frames[TUN_N];            /* frames in which each encapsulation (TUN_*) occurs */
	struct unsupp_count unsupp[UNSUPP_KEYS_MAX]; /* DEC_UNSUPP frames by what stopped them */
	u32 n_unsupp;
	u64 unsupp_other;                 /* ... once unsupp[] is full */
};

/* Initialises every analyzer from g_opts. 0, or -1 with err. */
int pipeline_init(char *err, size_t errlen);
/* The capture callback: one packet through every stage. */
void pipeline_packet(void *user, const struct cap_pkt *cp);
/* Live: housekeeping at wall time now_us (timeouts while no packet comes). */
void pipeline_tick(u64 now_us);
/* End of one input file: flush flows (frames are per file). */
void pipeline_file_end(void);
/* End of all input: final timeouts. */
void pipeline_finish(void);
const struct run_stats *pipeline_stats(void);
/* Frees everything (tests, fuzzing). */
void pipeline_reset(void);

#endif
