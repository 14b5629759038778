/* \summary: dropping root after the inputs are open and before the first
 * packet is read (as tcpdump -Z and p0f do). */
#ifndef PANNE_PRIVS_H
#define PANNE_PRIVS_H

#define PRIVS_DEFAULT_USER "panne"   /* created by the administrator; see panne.8 */
#define PRIVS_FALLBACK_USER "nobody" /* when PRIVS_DEFAULT_USER does not exist */

/* Refuses to run setuid/setgid: returns -1 with err if so. */
int privs_check_setuid(char *err, size_t errlen);

/* When running as root: switches to user (NULL: the default user, else
 * nobody) with its primary group only, drops every capability, and checks
 * that root cannot be regained. user "root" keeps root (as tcpdump -Z root).
 * Returns 0, or -1 with a message in err. Not root: does nothing. */
int privs_drop(const char *user, char *err, size_t errlen);

#endif
