/* \summary: trust anchors for certificate verification, read whole at start
 * (before the privilege drop) and parsed one at a time, when a chain first
 * asks for an issuer of that subject. Reading the system bundle costs well
 * under a millisecond; parsing its ~150 certificates with OpenSSL 3 costs
 * tens, and most captures need a handful of them. Used by cert only. */
#ifndef PANNE_ANCHORS_H
#define PANNE_ANCHORS_H

#include <openssl/x509.h>

/* Reads the system CA bundle (SSL_CERT_FILE or OpenSSL's default file) and
 * ca_file (PEM, may be NULL), and makes store find them by subject through
 * a lookup of its own; the system hashed directory is added behind it, as
 * X509_STORE_set_default_paths() does. 0, or -1 with a message in err (an
 * unreadable ca_file, or one that holds no certificate). */
int anchors_attach(X509_STORE *store, const char *ca_file, char *err, size_t errlen);

/* How many anchors were read, and how many have been parsed so far. */
void anchors_counts(unsigned *read, unsigned *parsed);

#endif
