#!/usr/bin/env bash
# Makes a development CA and a server certificate for 127.0.0.1 and localhost, with the openssl CLI.
# Usage: Scripts/gen-certs.sh [DIR]   (default: certs). Existing files are kept unless FORCE=1.
# Files: DIR/ca.pem (trust this in clients), DIR/ca-key.pem, DIR/server.pem, DIR/server-key.pem.
set -euo pipefail
dir="${1:-certs}"
mkdir -p "$dir"
if [ -f "$dir/server.pem" ] && [ "${FORCE:-0}" != 1 ]; then
    echo "certificates already in $dir (FORCE=1 to remake them)"
    exit 0
fi
command -v openssl >/dev/null || { echo "openssl missing: apt-get install -y openssl" >&2; exit 2; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

openssl req -x509 -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 825 \
    -subj "/CN=enrich development CA" -keyout "$dir/ca-key.pem" -out "$dir/ca.pem" \
    -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" 2>/dev/null

openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj "/CN=enrichd" \
    -keyout "$dir/server-key.pem" -out "$tmp/server.csr" 2>/dev/null
cat > "$tmp/ext.cnf" <<EXT
basicConstraints=CA:FALSE
keyUsage=critical,digitalSignature,keyEncipherment
extendedKeyUsage=serverAuth
subjectAltName=IP:127.0.0.1,IP:::1,DNS:localhost
EXT
openssl x509 -req -in "$tmp/server.csr" -CA "$dir/ca.pem" -CAkey "$dir/ca-key.pem" -CAcreateserial \
    -days 825 -sha256 -extfile "$tmp/ext.cnf" -out "$dir/server.pem" 2>/dev/null
rm -f "$dir/ca.srl"
chmod 600 "$dir/ca-key.pem" "$dir/server-key.pem"
echo "wrote $dir/ca.pem, $dir/server.pem, $dir/server-key.pem"
