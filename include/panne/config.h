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

#define SNAPLEN_LIVE 262144   /* live capture: whole certificates */
#define PCAP_BUFSZ (64 << 10) /* stdio buffer for offline reads: fits in L2 */
#define LIVE_BUFSZ (32 << 20) /* kernel capture buffer, live */
#define FIND_EV_MAX 20        /* evidence frames kept per finding */
#define NAME_MAX_LEN 255      /* DNS name in text form, without the final dot */
#define SERVICE_KEY_LEN 128   /* service key or registrable domain */
#define TLS_BUF_MAX 65536     /* per-direction TLS handshake reassembly */
#define HTTP_PEEK_MAX 2048    /* bytes of a response head examined */
#define DNS_TCP_BUF_MAX 65537 /* one DNS-over-TCP message with its length */
#define NAMES_CAP 65536       /* interned names (SNI, Host, DNS) */
#define ADDRMAP_CAP 131072    /* address -> name entries learnt from DNS */
#define CERT_CACHE_CAP 4096   /* certificate verdicts cached by hash */
#define STR_SHOW_MAX 200      /* wire strings printed at most this long */
#define EXCH_LOG_CAP (1u << 20) /* exchanges logged with time and client (24 B each) */
#define CLIENTS_CAP 65536     /* distinct client addresses in the exchange log */
#define QUIC_DGRAM_CAP 64     /* datagrams read per QUIC connection and direction */
#define QUIC_OPEN_CAP 16      /* Initial packets decrypted per QUIC connection and direction */
#define QUIC_PKT_MAX 65536    /* a QUIC packet opened (the UDP payload limit) */
#define QUIC_CRYPTO_MAX 16384 /* CRYPTO bytes reassembled per direction for its hello */
#define QUIC_REASM_MAX 1024   /* QUIC hellos being reassembled at once (18 KiB each) */

#endif
