#!/usr/bin/env bash
# Generate the cellbench test PKI: a local root CA, the broker's server
# certificate, per-device X.509 client certificates and JWT key pairs, and a
# set of deliberately broken credentials for negative tests.
#
# See certs/README.md for the layout.  Idempotent: existing output is reused,
# and the CA is never regenerated unless --force is given.
set -euo pipefail

SCRIPT_DIR="$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")" && pwd -P)"
readonly SCRIPT_DIR
readonly PROG="certs/gen.sh"

readonly CA_SUBJ="/O=cellbench/CN=cellbench Root CA"
readonly UNTRUSTED_CA_SUBJ="/O=Untrusted/CN=Untrusted Root CA"
readonly ROTATED_CA_SUBJ="/O=cellbench/CN=cellbench Rotated Root CA"
readonly ROTATED_FILES=(ca.pem ca.key server.pem server.key server-chain.pem)
readonly CA_DAYS=3650          # 10 years
readonly SERVER_DAYS=1825      # ~5 years
readonly DEVICE_DAYS=1825      # ~5 years
readonly BACKDATE="1 day ago"  # notBefore, so small clock skew on a device is harmless
readonly PAST_START="20200101000000Z"
readonly PAST_END="20210101000000Z"
readonly DEFAULT_DEVICES=(bus-1 bus-2 depot-1)
readonly ID_RE='^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$'

readonly DEVICE_FILES=(cert.pem key.pem es256-private.pem es256-public.pem rs256-private.pem rs256-public.pem)
# Negative cases: directory under bad/ and the files it must contain.
readonly BAD_UNITS=(expired-device untrusted-ca fake-ca expired-server es256-other rs256-other)
bad_files() {
    case "$1" in
        expired-device) echo "cert.pem key.pem" ;;
        untrusted-ca|fake-ca) echo "ca.pem ca.key cert.pem key.pem" ;;
        expired-server) echo "server.pem server.key" ;;
        es256-other) echo "es256-private.pem es256-public.pem" ;;
        rs256-other) echo "rs256-private.pem rs256-public.pem" ;;
        *) echo "$PROG: internal error: unknown negative case $1" >&2; return 1 ;;
    esac
}
# Negative cases that are signed by (or copied from) the real CA.
readonly BAD_CA_DEPENDENT=(expired-device fake-ca expired-server)

usage() {
    cat <<USAGE
Usage: $PROG [--out DIR] [--force] [DEVICE_ID...]

Generate the cellbench test CA, broker server certificate, device client
certificates, ES256/RS256 JWT key pairs and negative-test credentials.

  --out DIR   output directory (default: certs/out next to this script)
  --force     delete all generated files in DIR and regenerate everything,
              including the CA
  -h, --help  show this help and exit

DEVICE_ID defaults to: ${DEFAULT_DEVICES[*]}
Device ids must match ${ID_RE}.

Existing output is kept: only missing pieces are generated, new devices are
signed by the existing CA, and nothing is printed when nothing was needed.
USAGE
}

die() { echo "$PROG: error: $*" >&2; exit 1; }
bad_usage() { echo "$PROG: $*" >&2; usage >&2; exit 2; }

# ---------------------------------------------------------------- arguments
OUT=""
FORCE=0
DEVICES=()
while (($#)); do
    case "$1" in
        -h|--help) usage; exit 0 ;;
        --force) FORCE=1 ;;
        --out)
            if (($# < 2)) || [[ -z "$2" ]]; then
                bad_usage "option --out needs a directory"
            fi
            OUT="$2"; shift ;;
        --out=?*) OUT="${1#--out=}" ;;
        --out=) bad_usage "option --out needs a directory" ;;
        --) shift; DEVICES+=("$@"); break ;;
        -*) bad_usage "unknown option: $1" ;;
        *) DEVICES+=("$1") ;;
    esac
    shift
done
[[ -n "$OUT" ]] || OUT="$SCRIPT_DIR/out"
((${#DEVICES[@]})) || DEVICES=("${DEFAULT_DEVICES[@]}")
for id in "${DEVICES[@]}"; do
    if [[ ! "$id" =~ $ID_RE ]]; then
        echo "$PROG: invalid device id '$id' (must match $ID_RE)" >&2
        exit 2
    fi
done

# ------------------------------------------------------------ state checks
all_present() { # dir file...
    local d="$1" f; shift
    for f in "$@"; do [[ -f "$d/$f" ]] || return 1; done
}
ca_ok()       { all_present "$OUT" ca.key ca.pem; }
server_ok()   { all_present "$OUT" server.key server.pem server-chain.pem; }
device_ok()   { all_present "$OUT/devices/$1" "${DEVICE_FILES[@]}"; }
# shellcheck disable=SC2046 # word splitting of the file list is intended
bad_ok()      { all_present "$OUT/bad/$1" $(bad_files "$1"); }
manifest_ok() { [[ -f "$OUT/manifest.txt" ]]; }
registries_ok() { all_present "$OUT" registry-aws.json registry-gcp.json; }
rotated_ok()  { all_present "$OUT/rotated" "${ROTATED_FILES[@]}"; }

everything_ok() {
    local x
    ca_ok || return 1
    server_ok || return 1
    manifest_ok || return 1
    registries_ok || return 1
    rotated_ok || return 1
    for x in "${DEVICES[@]}"; do device_ok "$x" || return 1; done
    for x in "${BAD_UNITS[@]}"; do bad_ok "$x" || return 1; done
}

# Fast path: nothing to do, touch nothing, print nothing.
if ((!FORCE)) && everything_ok; then
    exit 0
fi

# ------------------------------------------------------------ set up work
command -v openssl >/dev/null 2>&1 || die "openssl not found"
mkdir -p -- "$OUT"
OUT="$(cd -- "$OUT" && pwd -P)"

# Serialise concurrent runs (e.g. several services starting at once), so two
# runs can never create two different CAs.
if command -v flock >/dev/null 2>&1; then
    exec 9>"$OUT/.gen.lock"
    flock 9
    # Anything left by an earlier run that was killed is stale now.
    rm -rf -- "$OUT"/.gen.tmp.*
    # Another run may have finished the job while we waited for the lock.
    if ((!FORCE)) && everything_ok; then
        exit 0
    fi
fi

# The work dir lives inside OUT so the final mv is a same-filesystem rename.
TMP="$(mktemp -d "$OUT/.gen.tmp.XXXXXX")"
trap 'rm -rf -- "$TMP"' EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
umask 077

LOG="$TMP/openssl.log"
# Run a command quietly; show its output only when it fails.
run() {
    if ! "$@" >"$LOG" 2>&1; then
        cat "$LOG" >&2
        die "command failed: $*"
    fi
}

say() { echo "certs: $*"; }

# From here on the output is being changed: drop the manifest first so that a
# run killed half-way leaves none, and the next run rewrites it.
rm -f -- "$OUT/manifest.txt"

if ((FORCE)); then
    # Only remove what this script owns; never rm -rf the directory itself.
    rm -rf -- "$OUT/ca.pem" "$OUT/ca.key" "$OUT/server.pem" "$OUT/server.key" \
        "$OUT/server-chain.pem" "$OUT/manifest.txt" "$OUT/devices" "$OUT/bad" "$OUT/rotated"
    say "removed previous output in $OUT (--force)"
fi

# Minimal OpenSSL config: used for every req/ca call so the result does not
# depend on the system openssl.cnf.  CERTS_CA_DIR is set per `openssl ca` call
# (see sign); it needs some value whenever the file is parsed.
CNF="$TMP/openssl.cnf"
export CERTS_CA_DIR="$TMP"
cat >"$CNF" <<'CONF'
[ req ]
distinguished_name = req_dn
prompt             = no
[ req_dn ]
CN = placeholder

[ ca ]
default_ca = cellbench_ca
[ cellbench_ca ]
dir              = $ENV::CERTS_CA_DIR
database         = $dir/index.txt
serial           = $dir/serial
new_certs_dir    = $dir/new
default_md       = sha256
policy           = policy_any
unique_subject   = no
copy_extensions  = none
preserve         = yes
[ policy_any ]
organizationName = optional
commonName       = supplied

[ v3_ca ]
basicConstraints       = critical, CA:TRUE
keyUsage               = critical, keyCertSign, cRLSign
subjectKeyIdentifier   = hash

[ v3_server ]
basicConstraints       = critical, CA:FALSE
keyUsage               = critical, digitalSignature
extendedKeyUsage       = serverAuth
subjectAltName         = DNS:localhost, IP:127.0.0.1, IP:::1
subjectKeyIdentifier   = hash
authorityKeyIdentifier = keyid

[ v3_client ]
basicConstraints       = critical, CA:FALSE
keyUsage               = critical, digitalSignature
extendedKeyUsage       = clientAuth
subjectKeyIdentifier   = hash
authorityKeyIdentifier = keyid
CONF

# ------------------------------------------------------------ primitives
gen_ec()  { run openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1"; }
gen_rsa() { run openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$1"; }
pubout()  { run openssl pkey -in "$1" -pubout -out "$2"; }

utc_time() { date -u -d "$1" +%Y%m%d%H%M%SZ; }

# sign SUBJ KEY OUT_CERT ISSUER_CERT ISSUER_KEY EXT_SECTION START END
# Issues a certificate with explicit dates via `openssl ca` (OpenSSL 3.0's
# `x509 -req` cannot set notBefore/notAfter) and a throwaway database.
sign() {
    local subj="$1" key="$2" out="$3" icert="$4" ikey="$5" ext="$6" start="$7" end="$8"
    local cadir
    cadir="$(mktemp -d "$TMP/ca.XXXXXX")"
    mkdir "$cadir/new"
    : >"$cadir/index.txt"
    run openssl req -new -config "$CNF" -key "$key" -subj "$subj" -out "$cadir/req.csr"
    CERTS_CA_DIR="$cadir" run openssl ca -config "$CNF" -batch -notext -rand_serial \
        -preserveDN -cert "$icert" -keyfile "$ikey" -extensions "$ext" \
        -startdate "$start" -enddate "$end" -in "$cadir/req.csr" -out "$out"
    rm -rf -- "$cadir"
}
sign_days() { # SUBJ KEY OUT ICERT IKEY EXT DAYS
    sign "$1" "$2" "$3" "$4" "$5" "$6" "$(utc_time "$BACKDATE")" "$(utc_time "$BACKDATE + $7 days")"
}
sign_past() { # SUBJ KEY OUT ICERT IKEY EXT
    sign "$1" "$2" "$3" "$4" "$5" "$6" "$PAST_START" "$PAST_END"
}

make_ca() { # SUBJ KEY OUT_CERT
    run openssl req -new -x509 -config "$CNF" -extensions v3_ca -key "$2" \
        -subj "$1" -sha256 -days "$CA_DAYS" -out "$3"
}

# Fix modes on a staged tree: keys 600, everything else 644, dirs 755.
fix_modes() {
    find "$1" -type d -exec chmod 755 {} +
    find "$1" -type f -name '*.pem' -exec chmod 644 {} +
    find "$1" -type f \( -name '*.key' -o -name 'key.pem' -o -name '*-private.pem' \) -exec chmod 600 {} +
}

# install_dir STAGED DEST: atomically put a complete unit directory in place.
install_dir() {
    fix_modes "$1"
    mkdir -p -- "$(dirname -- "$2")"
    chmod 755 -- "$(dirname -- "$2")"
    rm -rf -- "$2"
    mv -T -- "$1" "$2"
}

# install_files STAGED_DIR FILE...: move top-level files into OUT.  Any old
# copies are removed last-file-first and new ones moved in first-file-first,
# so an interrupted run always leaves the last file missing and the unit is
# regenerated on the next run.
install_files() {
    local src="$1" i; shift
    local files=("$@")
    fix_modes "$src"
    for ((i = ${#files[@]} - 1; i >= 0; i--)); do rm -f -- "$OUT/${files[i]}"; done
    for i in "${files[@]}"; do mv -f -- "$src/$i" "$OUT/$i"; done
    rm -rf -- "$src"
}

# ------------------------------------------------------------ root CA
anything_signed_exists() {
    local x
    [[ -e "$OUT/server.pem" || -e "$OUT/server.key" || -e "$OUT/server-chain.pem" ]] && return 0
    compgen -G "$OUT/devices/*" >/dev/null && return 0
    for x in "${BAD_CA_DEPENDENT[@]}"; do [[ -e "$OUT/bad/$x" ]] && return 0; done
    return 1
}

if ca_ok; then
    # Refuse to sign with a key that does not belong to the certificate.
    [[ "$(openssl x509 -in "$OUT/ca.pem" -noout -pubkey)" == \
       "$(openssl pkey -in "$OUT/ca.key" -pubout)" ]] ||
        die "$OUT/ca.key does not match $OUT/ca.pem; rerun with --force to regenerate everything"
else
    if anything_signed_exists; then
        die "ca.pem/ca.key missing in $OUT but certificates signed by it exist; rerun with --force to regenerate everything"
    fi
    s="$TMP/ca"; mkdir "$s"
    gen_ec "$s/ca.key"
    make_ca "$CA_SUBJ" "$s/ca.key" "$s/ca.pem"
    install_files "$s" ca.key ca.pem
    say "made CA ca.pem"
fi
CA="$OUT/ca.pem"
CAKEY="$OUT/ca.key"

# ------------------------------------------------------------ server
if ! server_ok; then
    s="$TMP/server"; mkdir "$s"
    gen_ec "$s/server.key"
    sign_days "/O=cellbench/CN=localhost" "$s/server.key" "$s/server.pem" \
        "$CA" "$CAKEY" v3_server "$SERVER_DAYS"
    cat "$s/server.pem" "$CA" >"$s/server-chain.pem"
    install_files "$s" server.key server.pem server-chain.pem
    say "made server certificate server.pem"
fi

# ------------------------------------------------------------ devices
for id in "${DEVICES[@]}"; do
    device_ok "$id" && continue
    s="$TMP/dev-$id"; mkdir "$s"
    gen_ec "$s/key.pem"
    sign_days "/O=cellbench/CN=$id" "$s/key.pem" "$s/cert.pem" \
        "$CA" "$CAKEY" v3_client "$DEVICE_DAYS"
    gen_ec "$s/es256-private.pem"
    pubout "$s/es256-private.pem" "$s/es256-public.pem"
    gen_rsa "$s/rs256-private.pem"
    pubout "$s/rs256-private.pem" "$s/rs256-public.pem"
    install_dir "$s" "$OUT/devices/$id"
    say "made device $id"
done

# ------------------------------------------------------------ negatives
make_bad() { # NAME STAGED_DIR
    local s="$2"
    case "$1" in
        expired-device)
            gen_ec "$s/key.pem"
            sign_past "/O=cellbench/CN=expired-device" "$s/key.pem" "$s/cert.pem" \
                "$CA" "$CAKEY" v3_client ;;
        untrusted-ca)
            gen_ec "$s/ca.key"
            make_ca "$UNTRUSTED_CA_SUBJ" "$s/ca.key" "$s/ca.pem"
            gen_ec "$s/key.pem"
            sign_days "/O=cellbench/CN=bus-1" "$s/key.pem" "$s/cert.pem" \
                "$s/ca.pem" "$s/ca.key" v3_client "$DEVICE_DAYS" ;;
        fake-ca)
            # Re-sign a copy of the real CA certificate with a new key: the
            # subject, issuer, serial and subject key identifier stay
            # byte-identical, only the key (and validity) differ.
            gen_ec "$s/ca.key"
            run openssl x509 -in "$CA" -signkey "$s/ca.key" -sha256 -days "$CA_DAYS" -out "$s/ca.pem"
            gen_ec "$s/key.pem"
            sign_days "/O=cellbench/CN=bus-1" "$s/key.pem" "$s/cert.pem" \
                "$s/ca.pem" "$s/ca.key" v3_client "$DEVICE_DAYS" ;;
        expired-server)
            gen_ec "$s/server.key"
            sign_past "/O=cellbench/CN=localhost" "$s/server.key" "$s/server.pem" \
                "$CA" "$CAKEY" v3_server ;;
        es256-other)
            gen_ec "$s/es256-private.pem"
            pubout "$s/es256-private.pem" "$s/es256-public.pem" ;;
        rs256-other)
            gen_rsa "$s/rs256-private.pem"
            pubout "$s/rs256-private.pem" "$s/rs256-public.pem" ;;
        *) die "internal error: unknown negative case $1" ;;
    esac
}

for b in "${BAD_UNITS[@]}"; do
    bad_ok "$b" && continue
    s="$TMP/bad-$b"; mkdir "$s"
    make_bad "$b" "$s"
    install_dir "$s" "$OUT/bad/$b"
    say "made bad/$b"
done

# ------------------------------------------------------------ rotation
# A second, unrelated root CA and a broker certificate from it for the same
# host names as server.pem: what the broker serves after `broker rotate-cert`
# (a CA replaced in the field). Device certificates stay with the first CA.
if ! rotated_ok; then
    s="$TMP/rotated"; mkdir "$s"
    gen_ec "$s/ca.key"
    make_ca "$ROTATED_CA_SUBJ" "$s/ca.key" "$s/ca.pem"
    gen_ec "$s/server.key"
    sign_days "/O=cellbench/CN=localhost" "$s/server.key" "$s/server.pem" \
        "$s/ca.pem" "$s/ca.key" v3_server "$SERVER_DAYS"
    cat "$s/server.pem" "$s/ca.pem" >"$s/server-chain.pem"
    install_dir "$s" "$OUT/rotated"
    say "made rotated/ (new CA and server certificate)"
fi

# ------------------------------------------------------------ registries
# Broker registries (harness/broker/README.md) for every device in OUT:
# project bench-project, region europe-west1, registry buses for gcp; for aws
# one policy that lets each thing use exactly DESIGN.md's topics for its id.
json_list() { # ITEM... -> "a", "b"
    local first=1 x
    for x in "$@"; do ((first)) || printf ', '; printf '%s' "$x"; first=0; done
}
write_registries() {
    local ids=() id gcp_devs=() aws_things=() t='${iot:Connection.Thing.ThingName}'
    local arn='arn:aws:iot:us-east-1:123456789012'
    for id in "$OUT"/devices/*/; do ids+=("$(basename -- "$id")"); done
    for id in "${ids[@]}"; do
        gcp_devs+=("$(printf '\n    {"id": "%s", "keys": [\n      {"algorithm": "ES256", "file": "devices/%s/es256-public.pem"},\n      {"algorithm": "RS256", "file": "devices/%s/rs256-public.pem"}]}' "$id" "$id" "$id")")
        aws_things+=("$(printf '\n    {"name": "%s", "certificate": "devices/%s/cert.pem", "policies": ["cellbench-device"]}' "$id" "$id")")
    done
    cat >"$TMP/registry-gcp.json" <<JSON
{
  "project": "bench-project",
  "region": "europe-west1",
  "registry": "buses",
  "devices": [$(json_list "${gcp_devs[@]}")
  ],
  "event_notification_configs": [
    {"subfolder": "depot-arrived", "topic": "depot-arrivals"},
    {"topic": "bus-events"}
  ],
  "state_notification_topic": "bus-state"
}
JSON
    cat >"$TMP/registry-aws.json" <<JSON
{
  "region": "us-east-1",
  "account": "123456789012",
  "things": [$(json_list "${aws_things[@]}")
  ],
  "policies": {
    "cellbench-device": {"Statement": [
      {"Effect": "Allow", "Action": "iot:Connect", "Resource": "$arn:client/$t"},
      {"Effect": "Allow", "Action": "iot:Publish", "Resource": [
        "$arn:topic//bus/events", "$arn:topic//depot/*/bus-arrived",
        "$arn:topic/\$aws/things/$t/shadow/*"]},
      {"Effect": "Allow", "Action": "iot:Subscribe", "Resource": [
        "$arn:topicfilter//bus/$t/configuration", "$arn:topicfilter//bus/$t/commands",
        "$arn:topicfilter//depot/$t/bus-arrived", "$arn:topicfilter/\$aws/things/$t/shadow/*"]},
      {"Effect": "Allow", "Action": "iot:Receive", "Resource": [
        "$arn:topic//bus/$t/configuration", "$arn:topic//bus/$t/commands",
        "$arn:topic//depot/$t/bus-arrived", "$arn:topic/\$aws/things/$t/shadow/*"]}
    ]}
  }
}
JSON
    chmod 644 "$TMP/registry-gcp.json" "$TMP/registry-aws.json"
    mv -f -- "$TMP/registry-gcp.json" "$OUT/registry-gcp.json"
    mv -f -- "$TMP/registry-aws.json" "$OUT/registry-aws.json"
    say "wrote registry-aws.json and registry-gcp.json (${#ids[@]} devices)"
}
write_registries

# ------------------------------------------------------------ manifest
(
    cd -- "$OUT"
    find ca.pem ca.key server.pem server.key server-chain.pem devices bad rotated \
        -type f 2>/dev/null | LC_ALL=C sort
) >"$TMP/manifest.txt" || true
chmod 644 "$TMP/manifest.txt"
mv -f -- "$TMP/manifest.txt" "$OUT/manifest.txt"
say "wrote manifest.txt ($(wc -l <"$OUT/manifest.txt") files)"
