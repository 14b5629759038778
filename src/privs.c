/* \summary: privilege drop: setgroups, setgid, setuid, capabilities cleared,
 * then verified; refuses setuid execution. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <unistd.h>

#include "panne/privs.h"

int privs_check_setuid(char *err, size_t errlen)
{
	if (getuid() != geteuid() || getgid() != getegid()) {
		snprintf(err, errlen, "refusing to run setuid or setgid: run panne as root (or with sudo) instead");
		return -1;
	}
	return 0;
}

int privs_drop(const char *user, char *err, size_t errlen)
{
	struct passwd *pw;

	if (geteuid() != 0)
		return 0;
	if (user && strcmp(user, "root") == 0)
		return 0;
	pw = getpwnam(user ? user : PRIVS_DEFAULT_USER);
	if (!pw && !user)
		pw = getpwnam(PRIVS_FALLBACK_USER);
	if (!pw) {
		snprintf(err, errlen, "-Z: no user '%s' on this system: create it or name another with -Z USER",
		         user ? user : PRIVS_FALLBACK_USER);
		return -1;
	}
	if (pw->pw_uid == 0) {
		snprintf(err, errlen, "-Z: user '%s' has uid 0: name an unprivileged user", pw->pw_name);
		return -1;
	}
	/* Confine to an empty directory nobody can reach: made, opened, unlinked,
	 * then entered. Everything panne reads is open already (the CA store is
	 * loaded in memory). Not under the sanitizers, whose leak check reads
	 * /proc at exit. */
#if !defined(__SANITIZE_ADDRESS__)
	char tmpl[] = "/tmp/panne-root.XXXXXX";
	int fd = -1;
	if (mkdtemp(tmpl)) {
		fd = open(tmpl, O_RDONLY | O_DIRECTORY);
		rmdir(tmpl);
	}
	if (fd < 0 || fchdir(fd) < 0 || chroot(".") < 0 || chdir("/") < 0) {
		snprintf(err, errlen, "cannot confine to an empty directory: %s", strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	close(fd);
#endif
	if (setgroups(1, &pw->pw_gid) < 0 || setgid(pw->pw_gid) < 0 || setuid(pw->pw_uid) < 0) {
		snprintf(err, errlen, "cannot switch to user '%s': %s", pw->pw_name, strerror(errno));
		return -1;
	}
	/* The switch must be irreversible: regaining root has to fail. */
	if (setuid(0) == 0 || seteuid(0) == 0 || getuid() == 0 || geteuid() == 0) {
		snprintf(err, errlen, "privilege drop to '%s' did not hold: refusing to go on", pw->pw_name);
		return -1;
	}
	/* setuid() from root to non-root clears permitted and effective
	 * capabilities; clear the bounding set's use by forbidding new privileges. */
	prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0);
#if defined(__SANITIZE_ADDRESS__)
	/* LeakSanitizer needs to ptrace itself at exit; sanitizer builds only. */
	prctl(PR_SET_DUMPABLE, 1, 0, 0, 0);
#endif
	return 0;
}
