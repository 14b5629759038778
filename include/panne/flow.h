/* \summary: the flow table: 5-tuple records with client/server direction,
 * TCP handshake state, per-side TTL/IP-ID/sequence profile; fixed capacity,
 * idle timeout and LRU eviction, hashes seeded at random. */
#ifndef PANNE_FLOW_H
#define PANNE_FLOW_H

#include "panne/types.h"
#include "panne/decode.h"

#define DIR_C2S 0 /* client to server */
#define DIR_S2C 1

enum tcp_state {
	TCPS_NONE = 0,    /* UDP, or TCP picked up mid-stream */
	TCPS_SYN,         /* SYN seen, no answer yet */
	TCPS_SYNACK,      /* SYN-ACK seen */
	TCPS_ESTABLISHED, /* final ACK or data after SYN-ACK */
	TCPS_FIN,         /* a FIN was seen */
	TCPS_RESET        /* a RST ended it */
};

#define FLOW_SYN_FRAMES 4
#define FLOW_IPID_STEP 64 /* an IP ID this far after the previous one continues a counter */
#define FLOW_LABEL_SET 0x40000000u
#define FLOW_LABEL_MIXED 0x80000000u
#define FLOW_LABEL_MASK 0x000fffffu

enum flow_app { APP_NONE = 0, APP_DNS, APP_TLS, APP_HTTP, APP_OTHER, APP_QUIC };

/* The profile of a side is made of its packets other than resets, so that
 * a reset can be scored against what its purported sender sent before. */
struct flow_side {
	u64 bytes;       /* payload bytes */
	u64 last_us;     /* last packet from this side */
	u32 pkts;
	u32 isn;         /* initial sequence number (SYN or first seen) */
	u32 seq_next;    /* highest seq + len seen from this side */
	u32 ack_last;    /* last ack from this side */
	u32 last_frame;
	u32 fin_frame, rst_frame; /* 0 if none */
	u32 adv_off;     /* when seq_next last advanced with data: us after first_us + 1; 0 none */
	u32 label;       /* IPv6 flow label of its packets, | FLOW_LABEL_SET, | FLOW_LABEL_MIXED if they differ */
	u16 win_last;
	u16 ipid_first, ipid_last;
	u16 prof_pkts;   /* packets in the profile (resets excluded; it stops at 65535) */
	u16 ipid_steps;  /* ... whose IP ID followed the previous one by 1..FLOW_IPID_STEP */
	u16 ipid_zero;   /* ... with IP ID 0 */
	u16 df_pkts;     /* ... IPv4 with Don't Fragment */
	u8 ttl_first;    /* TTL/hop limit of the first packet from this side */
	u8 ttl_min, ttl_max;
	u8 ipid_valid;
	u8 seq_valid;
	u8 syn_opts;     /* TOPT_* of its SYN or SYN-ACK */
};

struct flow {
	/* key */
	struct addr cli, srv;
	u16 cport, sport;
	u8 proto;
	/* lifecycle */
	u8 in_use;
	u8 tcp_state;       /* enum tcp_state */
	u8 app;             /* enum flow_app, set by the pipeline */
	u8 app_done;        /* analyzer needs no more payload */
	u8 picked_up;       /* TCP seen without its SYN */
	u8 syn_count;       /* SYNs from the client (1 + retransmissions) */
	u8 reported;        /* the tcp analyzer already emitted its finding */
	u8 icmp_seen;       /* an ICMP error quoted this flow */
	u8 in_closed;       /* on the closed list (private to flow.c) */
	u16 file;
	u64 first_us, last_us;
	/* what every packet touches next to the key, so that it shares their
	 * cache lines (the record is ~7 lines; each packet pays for a few) */
	u64 lru_us;         /* when it last moved to the LRU head (private to flow.c) */
	u32 name_id;        /* services name: SNI, Host or DNS map; 0 unknown */
	void *app_state;    /* owned by the analyzer of 'app'; freed at flow end */
	struct flow_side side[2]; /* indexed by DIR_* */
	u64 syn_us, synack_us; /* first SYN, first SYN-ACK; 0 if none */
	u32 syn_last_off;   /* the client's last SYN (retransmissions included): us after syn_us */
	u32 syn_gap_us;     /* between its last two SYNs; 0 with one */
	u32 cli_rtt_us;     /* SYN-ACK -> the client's ACK of it; 0 if none */
	u32 first_frame;
	u32 syn_frame, synack_frame, ack_frame; /* 0 if none */
	u32 syn_frames[FLOW_SYN_FRAMES]; /* the client's SYNs, retransmissions included */
	u32 rst_count;
	/* the first RST, kept for the tcp analyzer's decision at flow end */
	u8 rst_ttl, rst_dir;
	u8 rst_ipid_valid;
	u16 rst_ipid;
	u32 rst_frame, rst_seq;
	u64 rst_us;
	u32 post_rst_data; /* data segments from the reset's sender after it */
	u8 rst_df, rst_opts, rst_prev_ipid_ok;
	u8 rst_nseq;        /* distinct sequence numbers among the sender's resets (1, 2, 3: more) */
	u16 rst_win;
	u16 rst_prev_ipid;  /* IP ID of the sender's last packet before the reset */
	u16 rst_prev_win;   /* the sender's window before the reset */
	u16 rst_more;       /* resets from the same side after the first (saturating) */
	u32 rst_seq2;       /* a second sequence number among them */
	u32 rst_lag_us;     /* reset - the other side's data it acknowledges; UINT32_MAX if none */
	u32 rst_label;      /* its IPv6 flow label */
	struct pkt_tunnel tun; /* what carried its first packet; tun.depth 0 if nothing */
	/* table links (LRU or closed list), private to flow.c */
	u32 lru_prev, lru_next;
	u64 closed_us;      /* when it closed */
};

/* The client's last SYN, and when a side's data last advanced (0: none). */
static inline u64 flow_syn_last_us(const struct flow *f) { return f->syn_us ? f->syn_us + f->syn_last_off : 0; }
static inline u64 flow_adv_us(const struct flow *f, int dir)
{
	return f->side[dir].adv_off ? f->first_us + f->side[dir].adv_off - 1 : 0;
}

struct flow_table;

/* Called when a flow leaves the table (closed, idle, evicted, flushed). The
 * callee frees f->app_state. */
typedef void (*flow_end_cb)(void *user, struct flow *f, int why);
#define FLOW_END_IDLE 0
#define FLOW_END_EVICT 1
#define FLOW_END_FLUSH 2
#define FLOW_END_CLOSED 3 /* FIN both ways or RST, after a grace period */

/* A table for at most cap flows; idle_us is the idle timeout. */
struct flow_table *flow_table_new(u32 cap, u64 idle_us, flow_end_cb cb, void *user);
void flow_table_free(struct flow_table *ft); /* flushes first */

/* Finds or creates the flow of pk (TCP or UDP with ports; ICMP is not a
 * flow) and updates its state and side profile. *dir gets DIR_C2S/S2C.
 * Returns NULL if pk is not a TCP/UDP packet. May evict the least recently
 * used flow when full. */
struct flow *flow_update(struct flow_table *ft, const struct packet *pk, int *dir);

/* Finds (never creates) the flow a quoted inner header belongs to. */
struct flow *flow_find_inner(struct flow_table *ft, const struct pkt_inner *in, int *dir);

/* Ends flows idle since before now_us - idle, and closed flows past grace. */
void flow_expire(struct flow_table *ft, u64 now_us);
/* Ends every flow (end of input). */
void flow_flush(struct flow_table *ft);

u32 flow_count(const struct flow_table *ft);     /* live now */
u64 flow_total(const struct flow_table *ft);     /* created so far */
u64 flow_evicted(const struct flow_table *ft);   /* ended by eviction */

#endif
