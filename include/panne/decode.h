/* \summary: link, network and transport decoding into a struct packet that
 * points into the capture buffer. No allocation; every read bounds-checked. */
#ifndef PANNE_DECODE_H
#define PANNE_DECODE_H

#include "panne/types.h"
#include "panne/capture.h"

enum dec_status {
	DEC_OK = 0,  /* decoded up to the transport header (or as far as it goes) */
	DEC_TRUNC,   /* snaplen cut a header short: bad_field names it */
	DEC_BAD,     /* a header field is invalid: bad_field names it */
	DEC_UNSUPP,  /* not IP, or a link type we do not decode */
	DEC_NSTATUS
};

/* TCP flag bits as in the header. */
#define TH_FIN 0x01
#define TH_SYN 0x02
#define TH_RST 0x04
#define TH_PSH 0x08
#define TH_ACK 0x10
#define TH_URG 0x20

/* packet.frag */
#define FRAG_NONE 0
#define FRAG_FIRST 1 /* offset 0, more fragments follow: L4 header present, payload incomplete */
#define FRAG_LATER 2 /* offset > 0: no L4 header here */

#define IPPROTO_TCP_ 6
#define IPPROTO_UDP_ 17
#define IPPROTO_ICMP_ 1
#define IPPROTO_ICMPV6_ 58

/* The IP header quoted in an ICMP error, and the first bytes of its L4. */
struct pkt_inner {
	u8 valid;      /* 1 if an IP header and ports were read */
	u8 proto;      /* 6, 17, ... */
	struct addr src, dst;
	u16 sport, dport; /* 0 if not TCP/UDP */
	u32 seq;          /* TCP sequence number, if quoted */
};

struct packet {
	const struct cap_pkt *cap; /* the raw record */
	u64 ts_us;
	u32 frame;
	u16 file;
	u16 iface;    /* cap_pkt's */
	u16 side;     /* cap_pkt's: 0 analysed, else a gateway's far side */
	u16 vlan;     /* outermost VLAN id, 0 if none */
	u8 vlan_tags; /* 802.1Q/QinQ tags before the network header */
	u8 ipver;     /* 4 or 6; 0 if not IP */
	u8 proto;     /* transport protocol number */
	u8 ttl;       /* IPv4 TTL or IPv6 hop limit */
	u8 frag;      /* FRAG_* */
	u8 ipid_valid;/* IPv4 only */
	u16 ipid;
	struct addr src, dst;
	u16 sport, dport; /* TCP/UDP ports; 0 otherwise */
	u8 tcp_flags;
	u32 seq, ack;     /* TCP */
	u16 win;
	u8 l4_ok;         /* 1 if the whole TCP/UDP/ICMP header was captured */
	const u8 *pl;     /* transport payload, captured bytes only */
	u32 pl_len;       /* captured payload bytes */
	u32 pl_wire;      /* payload length the headers claim (>= pl_len) */
	u8 icmp_type, icmp_code; /* ICMP or ICMPv6 */
	struct pkt_inner inner;  /* for ICMP errors */
	const char *bad_field;   /* "ip.len", "tcp.doff"...; NULL when DEC_OK */
};

/* Decodes cp into pk (which is fully overwritten). Never reads past
 * cp->caplen. Returns a dec_status; on DEC_OK at least ipver is set and the
 * transport fields are filled when l4_ok. */
int decode_packet(const struct cap_pkt *cp, struct packet *pk);

/* 1 if decode_packet understands this DLT. */
int decode_linktype_supported(int linktype);

#endif
