/* \summary: the process-wide options and their defaults. */
#include <string.h>

#include "panne/config.h"
#include "panne/opts.h"

struct opts g_opts = {
	.flow_cap = FLOW_CAP_DEFAULT,
	.dns_txn_cap = DNS_TXN_CAP_DEFAULT,
	.findings_cap = FINDINGS_CAP_DEFAULT,
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
	o->dns_timeout_us = DNS_TIMEOUT_US_DEFAULT;
	o->syn_timeout_us = SYN_TIMEOUT_US_DEFAULT;
	o->tls_timeout_us = TLS_TIMEOUT_US_DEFAULT;
	o->flow_idle_us = FLOW_IDLE_US_DEFAULT;
	o->syn_flood_min = SYN_FLOOD_MIN_DEFAULT;
}
