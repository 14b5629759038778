/* \summary: the capture point learnt from the packets. A client's first
 * packet of each flow votes for the clients' hop distance, and so again
 * once the client completed an exchange; the mode of the confirmed votes
 * is kept (of all votes only when it is a majority), so that spoofed,
 * forwarded or randomized sources do not move it. A sender is then placed
 * against that and the server's own distance. */
#include <string.h>

#include "panne/findings.h"
#include "panne/hops.h"

#define HOPS_BINS 33 /* distances 0..31, and 32 for "farther" */

static u64 votes[2][HOPS_BINS];     /* [IPv4, IPv6][hops]: every flow's opening */
static u64 confirmed[2][HOPS_BINS]; /* ... of clients that completed an exchange */

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

void hops_note_confirmed(u8 fam, u8 ttl)
{
	if (fam != 4 && fam != 6)
		return;
	int h = hops_of(ttl);
	confirmed[fam == 6][h < HOPS_BINS - 1 ? h : HOPS_BINS - 1]++;
}

/* The mode of v, or -1 when empty or, with majority set, when the mode
 * holds less than half of the votes (TTLs a tool randomizes, a flood's
 * spoofed sources: no distance to learn from them). */
static int mode_of(const u64 *v, int majority)
{
	int best = -1;
	u64 total = 0;
	for (int h = 0; h < HOPS_BINS; h++) {
		total += v[h];
		if (v[h] && (best < 0 || v[h] > v[best]))
			best = h;
	}
	if (best >= 0 && majority && v[best] * 2 < total)
		return -1;
	return best;
}

static int lan_of(int v6)
{
	int h = mode_of(confirmed[v6], 0);
	return h >= 0 ? h : mode_of(votes[v6], 1);
}

int hops_lan(u8 fam)
{
	int h = lan_of(fam == 6);
	return h >= 0 ? h : lan_of(fam != 6);
}

int hops_place(u8 fam, u8 ttl, int server_hops, const char **why)
{
	int h = hops_of(ttl), lan = hops_lan(fam);
	int learnt = lan >= 0;
	if (!learnt)
		lan = 0;
	/* At the server's distance: its own. A hop of slack covers a route that
	 * changed, unless that slack would reach the clients' own distance (a
	 * server one router beyond a gateway capture, the gateway at hop 0). */
	if (server_hops >= 0) {
		int slack = server_hops - 1 > lan ? 1 : 0;
		if (h >= server_hops - slack) {
			*why = h == server_hops ? "sent from the server's distance, as its own packets"
			       : h > server_hops ? "sent from as far as the server or farther"
			                         : "sent from within a hop of the server's distance";
			return O_SERVER;
		}
	}
	if (h <= lan) {
		if (!learnt)
			*why = "sent with an undecremented TTL, from the capture point's own network (no client opened a flow here, so the capture point's place is assumed, not learnt)";
		else if (lan)
			*why = "sent from no farther than the clients are from the capture point (which is not on their link: it may also be the next router)";
		else
			*why = "sent with an undecremented TTL, like the clients' own packets: a device on the capture point's own network";
		return O_LOCAL;
	}
	if (server_hops < 0) {
		*why = "sent from beyond the local network; the server's own distance is unknown";
		return O_UNKNOWN;
	}
	*why = "sent from between the local network and the server (fewer hops away than the server's own packets)";
	return O_ONPATH;
}

void hops_reset(void)
{
	memset(votes, 0, sizeof votes);
	memset(confirmed, 0, sizeof confirmed);
}
