#!/bin/sh
# mkcerts.sh: makes the test certificates of tests/unit/data/tls with the
# openssl command line (run once; the PEM and DER files are kept, the keys
# are not). Fixed validity dates, so that the tests' capture times stay
# inside or outside them whenever this runs:
#   ca.pem                  test root CA ("panne test root CA"), 2020-2099: the --ca-file
#   inter.{pem,der}         intermediate CA signed by the root, 2020-2099
#   inter-expired.{pem,der} the same intermediate (same name and key), until 2021-01-01 noon
#   good.{pem,der}          www.example.com, example.com, IP 192.0.2.7, by the intermediate, 2020-2099
#   wrongname.{pem,der}     other.example.net, by the intermediate, 2020-2099
#   expired.{pem,der}       www.example.com, by the intermediate, until 2021-01-01 noon
#   selfsigned.{pem,der}    www.example.com, self-signed, 2020-2099
#   selfsigned-expired.{pem,der} www.example.com, self-signed, until 2021-01-01 noon
# Usage: sh tests/unit/data/tls/mkcerts.sh   (from anywhere)
set -eu
out=$(cd "$(dirname "$0")" && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$work"
mkdir new
: >index.txt
echo "unique_subject = no" >index.txt.attr
echo 1000 >serial

cat >ca.cnf <<'CNF'
[ ca ]
default_ca = test_ca
[ test_ca ]
dir = .
database = ./index.txt
new_certs_dir = ./new
serial = ./serial
default_md = sha256
policy = policy_any
unique_subject = no
copy_extensions = none
email_in_dn = no
[ policy_any ]
commonName = supplied
[ req ]
distinguished_name = dn
prompt = no
[ dn ]
CN = unused
[ v3_ca ]
basicConstraints = critical,CA:true
keyUsage = critical,keyCertSign,cRLSign
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid:always
[ v3_leaf ]
basicConstraints = critical,CA:false
keyUsage = critical,digitalSignature
extendedKeyUsage = serverAuth
subjectAltName = $ENV::SAN
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
[ v3_self ]
basicConstraints = critical,CA:false
extendedKeyUsage = serverAuth
subjectAltName = $ENV::SAN
subjectKeyIdentifier = hash
CNF

key() { openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1.key" 2>/dev/null; }
csr() { openssl req -new -config ca.cnf -key "$1.key" -subj "$2" -out "$1.csr"; }
# sign NAME SIGNER(self|CERT) EXT START END
sign() {
	if [ "$2" = self ]; then
		signer="-selfsign -keyfile $1.key"
	else
		signer="-cert $2.crt -keyfile $2.key"
	fi
	# shellcheck disable=SC2086
	openssl ca -batch -config ca.cnf $signer -extensions "$3" -startdate "$4" -enddate "$5" \
		-notext -in "$1.csr" -out "$1.crt" 2>/dev/null
}
LONG_FROM=20200101000000Z LONG_TO=20991231235959Z
SHORT_FROM=20200101000000Z SHORT_TO=20210101120000Z
export SAN="DNS:www.example.com,DNS:example.com"

key root; csr root "/CN=panne test root CA"
sign root self v3_ca $LONG_FROM $LONG_TO
key inter; csr inter "/CN=panne test intermediate CA"
sign inter root v3_ca $LONG_FROM $LONG_TO
cp inter.csr inter-expired.csr
sign inter-expired root v3_ca $SHORT_FROM $SHORT_TO
key leaf; csr leaf "/CN=www.example.com"
SAN="$SAN,IP:192.0.2.7"
cp leaf.csr good.csr; sign good inter v3_leaf $LONG_FROM $LONG_TO
SAN="DNS:www.example.com,DNS:example.com"
cp leaf.csr expired.csr; sign expired inter v3_leaf $SHORT_FROM $SHORT_TO
SAN="DNS:other.example.net"
key wrongname; csr wrongname "/CN=other.example.net"
sign wrongname inter v3_leaf $LONG_FROM $LONG_TO
SAN="DNS:www.example.com,DNS:example.com"
key selfsigned; csr selfsigned "/CN=www.example.com"
sign selfsigned self v3_self $LONG_FROM $LONG_TO
cp selfsigned.csr selfsigned-expired.csr; cp selfsigned.key selfsigned-expired.key
sign selfsigned-expired self v3_self $SHORT_FROM $SHORT_TO

cp root.crt "$out/ca.pem"
for c in inter inter-expired good wrongname expired selfsigned selfsigned-expired; do
	cp $c.crt "$out/$c.pem"
	openssl x509 -in $c.crt -outform DER -out "$out/$c.der"
done
echo "mkcerts: certificates written to $out"
