/* \summary: the process-wide options and their defaults. */
#include <stdlib.h>
#include <string.h>

#include "panne/config.h"
#include "panne/opts.h"
#include "panne/util.h"

struct opts g_opts = {
	.flow_cap = FLOW_CAP_DEFAULT,
	.dns_txn_cap = DNS_TXN_CAP_DEFAULT,
	.findings_cap = FINDINGS_CAP_DEFAULT,
	.keep_max_mib = KEEP_MAX_MIB_DEFAULT,
	.dns_timeout_us = DNS_TIMEOUT_US_DEFAULT,
	.syn_timeout_us = SYN_TIMEOUT_US_DEFAULT,
	.tls_timeout_us = TLS_TIMEOUT_US_DEFAULT,
	.flow_idle_us = FLOW_IDLE_US_DEFAULT,
	.syn_flood_min = SYN_FLOOD_MIN_DEFAULT,
};

void opts_defaults(struct opts *o)
{
	memset(o, 0, sizeof *o);
	o->flow_cap = FLOW_CAP_DEFAULT;
	o->dns_txn_cap = DNS_TXN_CAP_DEFAULT;
	o->findings_cap = FINDINGS_CAP_DEFAULT;
	o->keep_max_mib = KEEP_MAX_MIB_DEFAULT;
	o->dns_timeout_us = DNS_TIMEOUT_US_DEFAULT;
	o->syn_timeout_us = SYN_TIMEOUT_US_DEFAULT;
	o->tls_timeout_us = TLS_TIMEOUT_US_DEFAULT;
	o->flow_idle_us = FLOW_IDLE_US_DEFAULT;
	o->syn_flood_min = SYN_FLOOD_MIN_DEFAULT;
}

unsigned long opts_number(const char *name, const char *s, unsigned long max)
{
	char *end;
	unsigned long v = strtoul(s, &end, 10);
	if (!*s || *end || v == 0 || v > max)
		die(EXIT_USAGE, "%s: '%s' is not a number from 1 to %lu", name, s, max);
	return v;
}

void opts_format(const char *s)
{
	if (strcmp(s, "json") == 0)
		g_opts.format = OUT_JSON;
	else if (strcmp(s, "text") == 0)
		g_opts.format = OUT_TEXT;
	else
		die(EXIT_USAGE, "-T: unknown format '%s' (use text or json)", s);
}
