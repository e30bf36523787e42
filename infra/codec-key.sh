#!/usr/bin/env bash
# Payload encryption keys for Fineflow's Temporal codec (src/security/payload-codec.ts): a file of
# `id:base64key` lines, newest first; the first encrypts, every listed key decrypts.
#
# Usage: infra/codec-key.sh ensure FILE   create FILE (mode 600) with one fresh key unless it exists
#        infra/codec-key.sh rotate FILE   put a fresh key first: new payloads use it, older ones still decrypt
#        infra/codec-key.sh new           print one fresh entry (for FINEFLOW_CODEC_KEYS or a secret store)
set -euo pipefail

new_entry() {
  local suffix
  suffix="$(head -c 3 /dev/urandom | od -An -tx1 | tr -d ' \n')"
  printf 'key-%s-%s:%s\n' "$(date -u +%Y%m%dT%H%M%S)" "$suffix" "$(head -c 32 /dev/urandom | base64 -w0)"
}

case "${1:-}" in
  new) new_entry ;;
  ensure)
    file="${2:?usage: infra/codec-key.sh ensure FILE}"
    [[ -s "$file" ]] && exit 0
    mkdir -p "$(dirname "$file")"
    (umask 077; new_entry >"$file.tmp.$$"; mv "$file.tmp.$$" "$file")
    echo "codec: wrote a new payload encryption key to $file" >&2 ;;
  rotate)
    file="${2:?usage: infra/codec-key.sh rotate FILE}"
    [[ -f "$file" ]] || { echo "codec-key: $file does not exist (use ensure)" >&2; exit 1; }
    (umask 077; { new_entry; cat "$file"; } >"$file.tmp.$$"; mv "$file.tmp.$$" "$file")
    echo "codec: $file now encrypts with $(head -n1 "$file" | cut -d: -f1); restart workers and clients to pick it up" >&2 ;;
  *) echo "usage: infra/codec-key.sh ensure FILE | rotate FILE | new" >&2; exit 2 ;;
esac
