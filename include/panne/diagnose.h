/* \summary: per-group verdicts (status, attribution, confidence, reasons,
 * evidence, onset and recovery, clients, names, attack checks) from
 * findings and the exchange log; pure logic, no packets. */
#ifndef PANNE_DIAGNOSE_H
#define PANNE_DIAGNOSE_H

#include <jansson.h>
#include "panne/types.h"
#include "panne/findings.h"

enum status { ST_HEALTHY = 0, ST_DEGRADED, ST_FAILING, ST_UNSEEN };
enum attribution { AT_NONE = 0, AT_UPSTREAM, AT_LOCAL, AT_ATTACK, AT_UNKNOWN };

struct verdict {
	char group[SERVICE_KEY_LEN];
	u8 status, attribution;
	double confidence;
	json_t *reasons;        /* array of strings, owned */
	u32 seen[CAT_N], failed[CAT_N];
	u64 first_failure, last_failure; /* 0 if none */
	u64 onset_us, recovery_us;       /* OUTPUT.md onset/recovery; 0 = null */
	u32 ev[FIND_EV_MAX];
	u8 n_ev;
	u16 ev_file;
	json_t *clients;        /* OUTPUT.md clients object, owned */
	json_t *names;          /* OUTPUT.md names array, owned */
	json_t *attack_checks;  /* OUTPUT.md attack_checks object, owned */
	char attack_text[384];  /* the attack checks in one sentence */
};

const char *status_name(int st);
const char *attribution_name(int at);

/* Verdicts for every group in scope that was seen, and every -s key
 * (unseen). Returns an array of *n verdicts owned by the caller; free
 * with diagnose_free. */
struct verdict *diagnose_run(size_t *n);
void diagnose_free(struct verdict *v, size_t n);

/* 1 when something is wrong: a verdict degraded or failing, or a finding
 * tied to no service (a scan, a reflection aimed at this network). The
 * exit status 1 of panne(8). */
int diagnose_anything_wrong(const struct verdict *v, size_t n);

/* The whole capture's attack checks: a new attack_checks object, and the
 * sentence that says them (into buf). */
json_t *diagnose_attack_checks(char *buf, size_t n);

#endif
