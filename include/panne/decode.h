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

/* packet.tcp_opts: TCP options present (SYN, SYN-ACK and RST only). */
#define TOPT_MSS 0x01
#define TOPT_WSCALE 0x02
#define TOPT_SACKOK 0x04
#define TOPT_TS 0x08
#define TOPT_OTHER 0x10

/* packet.frag */
#define FRAG_NONE 0
#define FRAG_FIRST 1 /* offset 0, more fragments follow: L4 header present, payload incomplete */
#define FRAG_LATER 2 /* offset > 0: no L4 header here */

#define IPPROTO_TCP_ 6
#define IPPROTO_UDP_ 17
#define IPPROTO_ICMP_ 1
#define IPPROTO_ICMPV6_ 58

#define IPPROTO_IPIP_ 4
#define IPPROTO_IPV6_ 41
#define IPPROTO_GRE_ 47

/* Encapsulations peeled to reach the innermost IP packet (man panne.8,
 * ENCAPSULATIONS). PPP as a capture's own link type is counted but is no
 * tunnel: it leaves packet.tun.depth at 0. */
enum tun_kind {
	TUN_NONE = 0,
	TUN_PPPOE_DISC, /* PPPoE discovery (0x8863): counted, not decoded */
	TUN_PPPOE,      /* PPPoE session (0x8864, RFC 2516) */
	TUN_PPP,        /* a PPP header, wherever it is */
	TUN_MPLS,       /* an MPLS label stack (RFC 3032) */
	TUN_IPIP,       /* IPv4 in IPv4 (protocol 4) */
	TUN_6IN4,       /* IPv6 in IPv4 (protocol 41: 6in4, 6rd, ISATAP) */
	TUN_4IN6,       /* IPv4 in IPv6 */
	TUN_6IN6,       /* IPv6 in IPv6 */
	TUN_GRE,        /* GRE (RFC 2784/2890, PPTP's RFC 2637), in IP or in UDP 4754 */
	TUN_VXLAN,      /* VXLAN, UDP 4789 (RFC 7348) */
	TUN_GENEVE,     /* Geneve, UDP 6081 (RFC 8926) */
	TUN_TEREDO,     /* Teredo, UDP 3544 (RFC 4380) */
	TUN_GTPU,       /* GTP-U, UDP 2152 (3GPP TS 29.281): a mobile core's user plane */
	TUN_N
};

/* What a packet was carried in. kind, id and the outer endpoints are those
 * of the outermost encapsulation; kinds[] lists every one, outermost first.
 * Only seen, depth, inner_ip and has_addr are zeroed for every packet: the
 * fields from kind on are written when an encapsulation is entered and mean
 * nothing while depth is 0 (kinds[] past depth, src/dst without has_addr). */
struct pkt_tunnel {
	u16 seen;         /* bit (1 << TUN_*) of every encapsulation met */
	u8 depth;         /* encapsulations peeled (PPPoE, MPLS, tunnels) */
	u8 inner_ip;      /* the IP header decoded lies inside one of them */
	u8 has_addr;      /* src and dst are set */
	u8 kind;          /* kinds[0], when depth > 0 */
	u8 has_id;        /* id is meaningful */
	u8 kinds[4];      /* TUN_DEPTH_MAX, outermost first */
	u32 id;           /* PPPoE session, MPLS label, GRE key, VXLAN/Geneve VNI, GTP TEID */
	struct addr src, dst; /* outer IP endpoints of the outermost IP tunnel */
};

#define TUN_DEPTH_MAX 4 /* encapsulations decoded inside one another */

/* packet.unsupp: what could not be decoded, for the summary's undecoded */
enum unsupp_class {
	UNS_NONE = 0,
	UNS_LINKTYPE,  /* val: DLT */
	UNS_ETHERTYPE, /* val: ethertype (Ethernet, SLL, VLAN, Geneve) */
	UNS_LLC,       /* 802.3 length field with LLC, val: DSAP */
	UNS_NULLFAM,   /* BSD loopback address family */
	UNS_PPP,       /* val: PPP protocol */
	UNS_GRE,       /* val: GRE protocol type */
	UNS_MPLS,      /* payload of an MPLS stack: val, its first byte */
	UNS_DEPTH,     /* encapsulations nested deeper than TUN_DEPTH_MAX */
	UNS_NFLOG,     /* NFLOG record without a payload */
	UNS_NCLASS
};

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
	u8 df;        /* IPv4 Don't Fragment bit */
	u32 flowlabel;/* IPv6 flow label (20 bits) */
	struct addr src, dst;
	u16 sport, dport; /* TCP/UDP ports; 0 otherwise */
	u8 tcp_flags;
	u32 seq, ack;     /* TCP */
	u16 win;
	u8 tcp_opts;      /* TOPT_* seen, read on SYN and RST segments only */
	u8 l4_ok;         /* 1 if the whole TCP/UDP/ICMP header was captured */
	const u8 *pl;     /* transport payload, captured bytes only */
	u32 pl_len;       /* captured payload bytes */
	u32 pl_wire;      /* payload length the headers claim (>= pl_len) */
	u8 icmp_type, icmp_code; /* ICMP or ICMPv6 */
	struct pkt_inner inner;  /* for ICMP errors */
	const char *bad_field;   /* "ip.len", "tcp.doff"...; NULL when DEC_OK */
	u8 ip6_seen;             /* an IPv6 header was read, outer or inner */
	u8 unsupp;               /* enum unsupp_class when DEC_UNSUPP */
	u32 unsupp_val;          /* its value (ethertype, DLT, ...) */
	struct pkt_tunnel tun;   /* what carried it; tun.depth 0 if nothing (last: see decode_packet) */
};

/* Decodes cp into pk (which is fully overwritten). Never reads past
 * cp->caplen. Returns a dec_status; on DEC_OK at least ipver is set and the
 * transport fields are filled when l4_ok. */
int decode_packet(const struct cap_pkt *cp, struct packet *pk);

/* 1 if decode_packet understands this DLT. */
int decode_linktype_supported(int linktype);

/* "gre", "pppoe", "6in4"...; "none" for TUN_NONE. */
const char *decode_tunnel_name(int kind);

/* Writes the name of an undecoded class and value as tcpdump names it,
 * e.g. "ethertype 0x88cc (LLDP)", "gre 0x88be (ERSPAN)", "linktype 147". */
void decode_unsupp_name(int cls, u32 val, char *buf, size_t len);

#endif
