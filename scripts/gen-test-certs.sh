#!/usr/bin/env bash
# Generates the TLS test PKI into OUTDIR with the openssl CLI (3.0+):
#   ca.pem/ca.key             test root CA (RSA)
#   server.pem/server.key     localhost, 127.0.0.1, ::1 (RSA key, PKCS#8), signed by ca
#   server-rsa.key            the same key in PKCS#1 ("BEGIN RSA PRIVATE KEY")
#   ec.pem/ec.key             localhost, 127.0.0.1 (P-256 key, SEC1 "BEGIN EC PRIVATE KEY")
#   sni-a.pem/sni-a.key       a.sni.test;  sni-b.pem/sni-b.key  b.sni.test
#   expired.pem/expired.key   localhost, valid 2020-01-01 .. 2020-01-02 only
#   other-ca.pem, other.pem/other.key   localhost, signed by an unrelated CA
#   client.pem/client.key     client certificate (CN=iocrate-test-client), signed by ca
# Usage: scripts/gen-test-certs.sh OUTDIR
set -euo pipefail
out="${1:?usage: gen-test-certs.sh OUTDIR}"
mkdir -p "$out"
cd "$out"
q() { "$@" >/dev/null 2>&1 || { echo "gen-test-certs: failed: $*" >&2; "$@"; exit 1; }; }

ca() { # name subject
  q openssl req -x509 -newkey rsa:2048 -nodes -keyout "$1.key" -out "$1.pem" -days 3650 -subj "$2" \
    -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign"
}
leaf() { # name keyfile cafile cakey subject san [eku]
  local name=$1 key=$2 cacert=$3 cakey=$4 subj=$5 san=$6 eku=${7:-serverAuth}
  q openssl req -new -key "$key" -out "$name.csr" -subj "$subj"
  printf 'basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature,keyEncipherment\nextendedKeyUsage=%s\n%s\n' \
    "$eku" "${san:+subjectAltName=$san}" > "$name.ext"
  q openssl x509 -req -in "$name.csr" -CA "$cacert" -CAkey "$cakey" -CAcreateserial -out "$name.pem" -days 825 -extfile "$name.ext"
  rm -f "$name.csr" "$name.ext"
}

ca ca "/C=US/O=iocrate test/CN=iocrate test CA"
ca other-ca "/O=someone else/CN=unrelated CA"

q openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out server.key          # PKCS#8
q openssl rsa -in server.key -out server-rsa.key -traditional                            # PKCS#1
leaf server server.key ca.pem ca.key "/C=US/O=iocrate test/CN=localhost" "DNS:localhost,IP:127.0.0.1,IP:::1"

q openssl ecparam -name prime256v1 -genkey -noout -out ec.key                            # SEC1
leaf ec ec.key ca.pem ca.key "/O=iocrate test/CN=localhost" "DNS:localhost,IP:127.0.0.1"

for n in a b; do
  q openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "sni-$n.key"   # PKCS#8 EC
  leaf "sni-$n" "sni-$n.key" ca.pem ca.key "/O=iocrate test/CN=$n.sni.test" "DNS:$n.sni.test"
done

q openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out other.key
leaf other other.key other-ca.pem other-ca.key "/CN=localhost" "DNS:localhost,IP:127.0.0.1"

q openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out client.key
leaf client client.key ca.pem ca.key "/O=iocrate test/CN=iocrate-test-client" "" clientAuth

# Expired: `openssl x509 -req` in 3.0 cannot set dates in the past, `openssl ca` can.
q openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out expired.key
q openssl req -new -key expired.key -out expired.csr -subj "/CN=localhost"
mkdir -p ca-db && : > ca-db/index.txt && echo 1000 > ca-db/serial
cat > ca-db/ca.cnf <<CNF
[ ca ]
default_ca = test
[ test ]
dir = ca-db
database = ca-db/index.txt
serial = ca-db/serial
new_certs_dir = ca-db
default_md = sha256
policy = any
copy_extensions = none
x509_extensions = ext
unique_subject = no
[ any ]
commonName = supplied
[ ext ]
basicConstraints = CA:FALSE
extendedKeyUsage = serverAuth
subjectAltName = DNS:localhost,IP:127.0.0.1
CNF
q openssl ca -batch -config ca-db/ca.cnf -cert ca.pem -keyfile ca.key -in expired.csr -out expired.pem \
  -startdate 20200101000000Z -enddate 20200102000000Z -notext
rm -rf ca-db expired.csr ./*.srl
echo "gen-test-certs: wrote $(ls | wc -l) files to $out"
