/* \summary: the operator's choices, filled by main from the command line and
 * read (never written) by every other module. */
#ifndef PANNE_OPTS_H
#define PANNE_OPTS_H

#include "panne/types.h"

enum scope_mode {
	SCOPE_CATALOG, /* default: the streaming services of the catalog */
	SCOPE_LIST,    /* -s a,b,c */
	SCOPE_ALL      /* -A: every destination by registrable domain */
};

enum out_format { OUT_TEXT, OUT_JSON };

struct opts {
	enum scope_mode scope;
	char **scope_list; /* -s keys, NULL-terminated */
	enum out_format format;
	const char *services_file; /* -S */
	const char *ca_file;       /* --ca-file */
	u32 flow_cap;              /* --flows */
	u32 dns_txn_cap;           /* --dns-txns */
	u32 findings_cap;          /* --findings */
	u32 keep_max_mib;          /* --keep-max: live -w copy per interface */
	u64 dns_timeout_us;        /* --dns-timeout */
	u64 syn_timeout_us;        /* --syn-timeout */
	u64 tls_timeout_us;        /* --tls-timeout */
	u64 flow_idle_us;          /* idle flow expiry */
	u32 syn_flood_min;         /* --syn-flood */
	int verbose;               /* -v */
	const char *inside;        /* --inside: a pcapng gateway's LAN interface (name or index) */
	int probe;                 /* panne probe: findings come from the probe's own traffic */
};

/* Fills o with the defaults of config.h. */
void opts_defaults(struct opts *o);

/* Option values shared by panne and panne probe: a whole number from 1 to
 * max, and -T; both exit with EXIT_USAGE and a message naming the option. */
unsigned long opts_number(const char *name, const char *s, unsigned long max);
void opts_format(const char *s);

/* The process-wide options; set once by main before any module's init. */
extern struct opts g_opts;

#endif
