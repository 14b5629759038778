/* \summary: the capture point learnt from the packets. A client's first
 * packet of each flow votes for the clients' hop distance (its mode is
 * kept, so that a few spoofed or forwarded sources do not move it); a
 * sender is then placed against that and the server's own distance. */
#include <string.h>

#include "panne/findings.h"
#include "panne/hops.h"

#define HOPS_BINS 33 /* distances 0..31, and 32 for "farther" */

static u64 votes[2][HOPS_BINS]; /* [IPv4, IPv6][hops] */

int hops_of(u8 ttl)
{
	if (ttl <= 32)
		return 32 - ttl;
	if (ttl <= 64)
		return 64 - ttl;
	if (ttl <= 128)
		return 128 - ttl;
	return 255 - ttl;
}

void hops_note_client(u8 fam, u8 ttl)
{
	if (fam != 4 && fam != 6)
		return;
	int h = hops_of(ttl);
	votes[fam == 6][h < HOPS_BINS - 1 ? h : HOPS_BINS - 1]++;
}

static int mode_of(const u64 *v)
{
	int best = -1;
	for (int h = 0; h < HOPS_BINS; h++)
		if (v[h] && (best < 0 || v[h] > v[best]))
			best = h;
	return best;
}

int hops_lan(u8 fam)
{
	int h = mode_of(votes[fam == 6]);
	return h >= 0 ? h : mode_of(votes[fam != 6]);
}

int hops_place(u8 fam, u8 ttl, int server_hops, const char **why)
{
	int h = hops_of(ttl), lan = hops_lan(fam);
	if (lan < 0)
		lan = 0;
	if (h <= lan) {
		*why = lan ? "sent from no farther than the clients are from the capture point (which is not on their link: it may also be the next router)"
		           : "sent with an undecremented TTL, like the clients' own packets: a device on the capture point's own network";
		return O_LOCAL;
	}
	if (server_hops < 0) {
		*why = "sent from beyond the local network; the server's own distance is unknown";
		return O_UNKNOWN;
	}
	if (h < server_hops) {
		*why = "sent from between the local network and the server (fewer hops away than the server's own packets)";
		return O_ONPATH;
	}
	*why = "sent from the server's distance";
	return O_SERVER;
}

void hops_reset(void)
{
	memset(votes, 0, sizeof votes);
}
