/* \summary: tunables in one place. Section 1: defaults of options the
 * operator can change. Section 2: fixed limits of the implementation. */
#ifndef PANNE_CONFIG_H
#define PANNE_CONFIG_H

/* ---- 1. Defaults of options (documented in panne.8) ---- */

#define FLOW_CAP_DEFAULT 65536          /* --flows: flow table records */
#define FLOW_IDLE_US_DEFAULT 120000000u /* idle TCP/UDP flow expiry, us */
#define DNS_TIMEOUT_US_DEFAULT 5000000u /* --dns-timeout: query unanswered */
#define SYN_TIMEOUT_US_DEFAULT 10000000u /* --syn-timeout: SYN unanswered */
#define TLS_TIMEOUT_US_DEFAULT 10000000u /* --tls-timeout: handshake stalled */
#define DNS_TXN_CAP_DEFAULT 65536       /* --dns-txns: open DNS transactions */
#define FINDINGS_CAP_DEFAULT 100000     /* --findings: findings kept for the report */
#define SYN_FLOOD_MIN_DEFAULT 200       /* half-open connections to one server */
#define STATUS_INTERVAL_DEFAULT 10      /* -G: seconds between live status reports */
#define KEEP_MAX_MIB_DEFAULT 1024       /* --keep-max: live -w copy per interface, MiB */
#define PROBE_TIMEOUT_DEFAULT 5         /* probe --probe-timeout: seconds per query, connect, handshake, request */
#define PROBE_PARALLEL_DEFAULT 4        /* probe --parallel: names probed at once */
#define PROBE_PARALLEL_MAX 16           /* ... at most */

/* ---- 2. Fixed limits ---- */

#define PANNE_VERSION "0.1.0"
#define SNAPLEN_LIVE 262144   /* live capture: whole certificates */
#define PCAP_BUFSZ (64 << 10) /* stdio buffer for offline reads: fits in L2 */
#define LIVE_BUFSZ (32 << 20) /* kernel capture buffer, live */
#define PCAPNG_CURSORS_MAX 16 /* pcapng interfaces read by cursors of their own */
#define PCAPNG_PRESCAN 20000  /* first packets that tell a gateway's sides apart */
#define FIND_EV_MAX 20        /* evidence frames kept per finding */
#define NAME_MAX_LEN 255      /* DNS name in text form, without the final dot */
#define SERVICE_KEY_LEN 128   /* service key or registrable domain */
#define TLS_BUF_MAX 65536     /* per-direction TLS handshake reassembly */
#define HTTP_PEEK_MAX 2048    /* bytes of a response head examined */
#define DNS_TCP_BUF_MAX 65537 /* one DNS-over-TCP message with its length */
#define NAMES_CAP 65536       /* interned names (SNI, Host, DNS) */
#define ADDRMAP_CAP 131072    /* addresses in the DNS map (index slots) */
#define ADDRMAP_BINDS 65536   /* names given to addresses, each with its client and time (64 B each) */
#define ADDRMAP_WALK 32       /* bindings of one address looked at, newest first */
#define ADDRMAP_PROBE 8       /* index slots probed per address */
#define VOUCH_CAP 8192        /* (address, name) pairs a handshake proved or refused */
#define DNS_HOLD_CAP 1024     /* private or sinkhole answers awaiting a handshake's word (~0.5 KB each) */
#define DNS_RESOLVER_CAP 1024 /* resolvers whose round trip and distance are learnt */
#define DNS_CLIENT_CAP 4096   /* DNS clients whose latest query is kept */
#define DNS_RETRY_GAP_US 500000u  /* the same name asked again this long after: a retry, not a parallel query */
#define DNS_RTT_FACTOR 8      /* unanswered after this many times the resolver's slowest answer... */
#define DNS_RTT_FLOOR_US 1000000u /* ... and at least this long */
#define DNS_RTT_SAMPLES 3     /* answers timed before a resolver's round trip is trusted */
#define CERT_CACHE_CAP 4096   /* certificate verdicts cached by hash */
#define STR_SHOW_MAX 200      /* wire strings printed at most this long */
#define EXCH_LOG_CAP (1u << 20) /* exchanges logged with time and client (16 B each) */
#define CLIENTS_CAP 65536     /* distinct client addresses in the exchange log */
#define TIMELINE_BINS 48      /* text report: bins of a service's timeline line */
#define HTML_MARKS_MAX 1500   /* --html: exchanges drawn one by one per lane, else binned */
#define HTML_FINDINGS_MAX 50  /* --html: findings listed per kind and service */
#define HTML_CLIENT_LANES 8   /* --html: affected clients given a lane of their own */

/* TCP judgement (src/tcp.c) */
#define TCP_SERVERS_CAP 4096  /* server address+port records: TTL, RTT, floods */
#define TCP_CLIENTS_CAP 4096  /* clients that showed two-way traffic: activity, fallbacks */
#define TCP_SOURCES_CAP 4096  /* sources of probe-shaped connections, watched for scans */
#define TCP_HELD_CAP 16384    /* outcomes held until a scan or flood is ruled out */
#define TCP_HOLD_US 10000000u /* ... at most this long (capture time) when nothing else is pending */
#define FLOW_PROFILE_PKTS 64  /* packets per side whose IP ID, DF and flow label profile the sender */
#define RST_FORGED_SCORE 2.5  /* a reset scoring this, from two strong signals, is forged */
#define SYN_RTT_FACTOR 20     /* a SYN that waited this many of its server's round trips ... */
#define SYN_RTT_MIN_US 2000000u /* ... and at least this long is unanswered */
#define SYN_FIRST_RTO_US 3000000u /* a client retransmits a lone SYN before this */
#define SYN_MOVED_US 30000000u /* a fallback connection within this of the SYN replaces it */
#define SYN_FALLBACK_US 2000000u /* ... started this soon after it, in the other family */
#define FLOOD_MIN_SOURCES 20  /* distinct sources before half-open SYNs are a flood ... */
#define FLOOD_SINGLE_SHOT 0.9 /* ... or this share of them never retransmitted (one flooding source) */
#define SCAN_MIN_PORTS 20     /* probes of this many ports from one source are a scan */
#define SCAN_MIN_TARGETS 20   /* ... or of this many addresses no name of the capture led to */
#define QUIC_DGRAM_CAP 64     /* datagrams read per QUIC connection and direction */
#define QUIC_OPEN_CAP 16      /* Initial packets decrypted per QUIC connection and direction */
#define QUIC_PKT_MAX 65536    /* a QUIC packet opened (the UDP payload limit) */
#define QUIC_CRYPTO_MAX 16384 /* CRYPTO bytes reassembled per direction for its hello */
#define QUIC_REASM_MAX 1024   /* QUIC hellos being reassembled at once (18 KiB each) */

#endif
