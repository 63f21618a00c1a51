#!/usr/bin/env bash
# Prints what a p0fbpf binary makes of every signature of a p0f database, in
# every mode, link, limit and form, and --print-ir's report of every pass, so
# that two builds can be compared with cmp: a move or a refactoring must
# leave this output byte for byte the same.
#   bench/identity.sh BINARY [DATABASE] > out.txt
# DATABASE defaults to /etc/p0f/p0f.fp (Debian's p0f package).
set -euo pipefail
binary=${1:?usage: $0 BINARY [DATABASE]}
database=${2:-/etc/p0f/p0f.fp}
[ -x "$binary" ] || { echo "$0: $binary is not executable" >&2; exit 2; }
[ -r "$database" ] || { echo "$0: cannot read $database" >&2; exit 2; }

# Each signature with its section: request or response.
signatures() {
  awk '/^\[tcp:request\]/ {s = "request"; next} /^\[tcp:response\]/ {s = "response"; next}
       /^\[/ {s = ""; next}
       s != "" && /^sig[ \t]*=/ {sub(/^sig[ \t]*=[ \t]*/, ""); sub(/[ \t]+$/, ""); print s "\t" $0}' "$database"
}

compile() {
  local status=0
  printf '## %s\n' "$*"
  "$binary" "$@" 2>&1 || status=$?
  printf '## exit %s\n' "$status"
}

while IFS=$'\t' read -r section signature; do
  direction=()
  [ "$section" = response ] && direction=(--response)
  for mode in "" --loose; do
    for negate in "" --negate; do
      for link in raw ether sll sll2; do
        compile "${direction[@]}" $mode $negate --link "$link" -f asm -- "$signature"
        compile "${direction[@]}" $mode $negate --link "$link" --max-insns 4096 -- "$signature"
      done
      compile "${direction[@]}" $mode $negate -f xdp -- "$signature"
    done
  done
done < <(signatures)

# What --print-ir reports of every pass, for every signature, where the
# 64-instruction limit makes the compiler try form after form: a change
# that lowers a signature again, or runs a pass twice, shows here.
while IFS=$'\t' read -r section signature; do
  direction=()
  [ "$section" = response ] && direction=(--response)
  compile "${direction[@]}" --print-ir -- "$signature"
done < <(signatures)
