#!/usr/bin/env bash
# Real captures for capture_bench: hping3, nmap -sS, masscan and zmap flood
# namespace b from namespace a over a veth pair, and tcpdump records what
# comes in on b's side, one capture per tool, plus a mixed one: all the tools
# at once, IPv6 too, beside curl's connections to an HTTP server in b (both
# directions recorded, as a server would see them). Root only; about a minute.
#
#   bench/real_captures.sh [--bench BUILD_DIR] [--runs N] [DIR]
#
# DIR (default: a new temporary directory) receives the captures. With a
# build directory (--bench, or P0FBPF_BENCH_BUILD) it then runs
# BUILD_DIR/bench/capture_bench on them; otherwise it prints that command.
# Every SYN goes to an address of b: b answers for all of 10.99.0.0/16.
set -euo pipefail

usage() {
  echo "usage: $0 [--bench BUILD_DIR] [--runs N] [DIR]" >&2
  exit 2
}

build_dir=${P0FBPF_BENCH_BUILD:-}
runs=3
out_dir=
while [ $# -gt 0 ]; do
  case $1 in
    --bench) [ $# -ge 2 ] || usage; build_dir=$2; shift 2 ;;
    --runs) [ $# -ge 2 ] || usage; runs=$2; shift 2 ;;
    -h | --help) usage ;;
    -*) usage ;;
    *) [ -z "$out_dir" ] || usage; out_dir=$1; shift ;;
  esac
done

[ "$(id -u)" -eq 0 ] || { echo "$0: needs root (network namespaces, raw sockets)" >&2; exit 1; }
for tool in ip tcpdump perl; do
  command -v "$tool" >/dev/null || { echo "$0: $tool is not installed" >&2; exit 1; }
done
if [ -n "$build_dir" ] && [ ! -x "$build_dir/bench/capture_bench" ]; then
  echo "$0: no $build_dir/bench/capture_bench (cmake --build $build_dir --target capture_bench)" >&2
  exit 1
fi
if [ -z "$out_dir" ]; then
  out_dir=$(mktemp -d /tmp/p0fbpf-real.XXXXXX)
fi
mkdir -p "$out_dir"
out_dir=$(cd "$out_dir" && pwd)

# Fixed names: a second run first removes what a killed run left behind.
ns_a=p0fbpf-real-a
ns_b=p0fbpf-real-b
address_a=10.98.0.1
address_b=10.98.0.2
address6_a=fd98::1
address6_b=fd98::2
anyip=10.99.0.0/16
http_port=8080

# Ends whatever still runs in the namespaces (only this script starts
# processes there), then deletes them and, with them, the veth pair.
cleanup() {
  local ns pids
  for ns in "$ns_a" "$ns_b"; do
    pids=$(ip netns pids "$ns" 2>/dev/null || true)
    # shellcheck disable=SC2086 # one word per process id
    [ -z "$pids" ] || kill $pids 2>/dev/null || true
  done
  { wait; } 2>/dev/null || true
  ip netns del "$ns_a" 2>/dev/null || true
  ip netns del "$ns_b" 2>/dev/null || true
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
cleanup

in_a() { ip netns exec "$ns_a" "$@"; }
in_b() { ip netns exec "$ns_b" "$@"; }

ip netns add "$ns_a"
ip netns add "$ns_b"
ip link add va netns "$ns_a" type veth peer name vb netns "$ns_b"
ip -n "$ns_a" addr add "$address_a/24" dev va
ip -n "$ns_b" addr add "$address_b/24" dev vb
ip -n "$ns_a" addr add "$address6_a/64" dev va nodad
ip -n "$ns_b" addr add "$address6_b/64" dev vb nodad
for ns in "$ns_a" "$ns_b"; do
  ip -n "$ns" link set lo up
done
ip -n "$ns_a" link set va up
ip -n "$ns_b" link set vb up
# b takes the whole /16 as its own (as with AnyIP), so scanners have many
# targets that all answer; a routes it to b.
ip -n "$ns_b" route add local "$anyip" dev lo
ip -n "$ns_a" route add "$anyip" via "$address_b"
mac_a=$(in_a cat /sys/class/net/va/address)
mac_b=$(in_b cat /sys/class/net/vb/address)
# Fixed neighbours: no tool waits for ARP or neighbour discovery.
ip -n "$ns_a" neigh replace "$address_b" lladdr "$mac_b" dev va nud permanent
ip -n "$ns_a" neigh replace "$address6_b" lladdr "$mac_b" dev va nud permanent
ip -n "$ns_b" neigh replace "$address_a" lladdr "$mac_a" dev vb nud permanent
ip -n "$ns_b" neigh replace "$address6_a" lladdr "$mac_a" dev vb nud permanent

# tcpdump on vb in b, until stop_capture; the arguments after the file are
# tcpdump's (direction, filter). A 64 MiB buffer keeps floods from dropping.
capture_pid=
start_capture() {
  local file=$1
  shift
  rm -f "$file" "$file.log"
  # Not through in_b: $! must be tcpdump itself (ip netns exec execs it).
  ip netns exec "$ns_b" tcpdump -i vb -n -B 65536 -w "$file" "$@" 2>"$file.log" &
  capture_pid=$!
  local i
  for ((i = 0; i < 100; i++)); do
    grep -q 'listening on' "$file.log" && return 0
    sleep 0.05
  done
  echo "$0: tcpdump did not start: $(cat "$file.log")" >&2
  exit 1
}

# Lets the last answers arrive, then stops tcpdump with SIGINT so that it
# flushes the file, and waits for it.
stop_capture() {
  sleep 0.5
  kill -INT "$capture_pid"
  wait "$capture_pid" || true
}

has() { command -v "$1" >/dev/null; }

hping3_flood() { in_a timeout 60 hping3 -q -S -p 80 -i u1 -c "$1" "$address_b" >/dev/null 2>&1 || true; }
nmap_scan() { in_a timeout 60 nmap -sS -n -Pn --max-retries 0 --min-rate "$2" -T5 -p "$1" "${@:3}" >/dev/null; }
# masscan may linger for many seconds after its last packet (waiting for its
# receive thread, longer on a busy machine): it is ended $4 seconds in, twice
# what sending takes at the rate given, and more. SIGTERM, as SIGINT makes it
# write a paused.conf.
masscan_scan() {
  in_a timeout "$4" masscan "$1" -p"$2" --rate "$3" --wait 1 --adapter va --adapter-ip "$address_a" \
    --router-mac "$mac_b" >/dev/null 2>&1 || true
}
zmap_scan() {
  in_a timeout 60 zmap -p 80 -r "$2" -c 1 -i va -S "$address_a" -G "$mac_b" -b /dev/null -q -o /dev/null "$1" \
    >/dev/null 2>&1
}

# curl from a under several stack settings, over IPv4 and IPv6, each
# connection its own: $1 connections per setting and IP version.
curl_clients() {
  local settings url urls i
  for settings in "" "net.ipv4.tcp_timestamps=0" "net.ipv4.tcp_window_scaling=0" "net.ipv4.tcp_sack=0" \
    "net.ipv4.ip_default_ttl=128 net.ipv6.conf.va.hop_limit=128"; do
    # shellcheck disable=SC2086 # one word per setting
    [ -z "$settings" ] || in_a sysctl -qw $settings
    for url in "http://$address_b:$http_port/" "http://[$address6_b]:$http_port/"; do
      urls=()
      for ((i = 0; i < $1; i++)); do urls+=("$url"); done
      in_a curl -g -s -m 5 "${urls[@]}" >/dev/null || true
    done
    in_a sysctl -qw net.ipv4.tcp_timestamps=1 net.ipv4.tcp_window_scaling=1 net.ipv4.tcp_sack=1 \
      net.ipv4.ip_default_ttl=64 net.ipv6.conf.va.hop_limit=64
  done
}

captures=()
record() {
  local name=$1 file="$out_dir/$1.pcap" start=$SECONDS
  shift
  echo "== $name" >&2
  start_capture "$file" -Q in tcp
  "$@"
  stop_capture
  captures+=("$file")
  echo "   $((SECONDS - start)) s; $(grep -E 'captured|dropped by kernel' "$file.log" | paste -sd ';')" >&2
}

if has hping3; then record hping3 hping3_flood 100000; fi
if has nmap; then record nmap nmap_scan 1-65535 40000 "$address_b"; fi
if has masscan; then record masscan masscan_scan 10.99.0.1-10.99.0.2 1-50000 100000 8; fi
if has zmap; then record zmap zmap_scan "$anyip" 50000; fi

# The mixed capture: the server's view, both directions, every protocol.
if has curl; then
  # shellcheck disable=SC2016 # the variables are perl's
  ip netns exec "$ns_b" perl -MIO::Socket::IP -e '
    my $server = IO::Socket::IP->new(LocalHost => "::", LocalPort => $ARGV[0], Listen => 128,
                                     ReuseAddr => 1, V6Only => 0) or die "listen: $@";
    while (my $client = $server->accept) {
      sysread($client, my $request, 4096);
      print $client "HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\nok";
      close $client;
    }' "$http_port" &
  for ((i = 0; i < 100; i++)); do
    in_b ss -ltn | grep -q ":$http_port " && break
    sleep 0.05
  done
fi
mixed="$out_dir/mixed.pcap"
start=$SECONDS
echo "== mixed" >&2
start_capture "$mixed"
tools=()
if has hping3; then hping3_flood 20000 & tools+=("$!"); fi
if has nmap; then
  nmap_scan 1-10000 5000 "$address_b" & tools+=("$!")
  nmap_scan 1-5000 5000 -6 "$address6_b" & tools+=("$!")
fi
if has masscan; then masscan_scan 10.99.1.0/24 1-40 10000 5 & tools+=("$!"); fi
if has zmap; then zmap_scan 10.99.64.0/18 10000 & tools+=("$!"); fi
if has curl; then curl_clients 100; fi
for pid in "${tools[@]}"; do wait "$pid" || true; done
stop_capture
captures+=("$mixed")
echo "   $((SECONDS - start)) s; $(grep -E 'captured|dropped by kernel' "$mixed.log" | paste -sd ';')" >&2

# SYNs without ACK, IPv4 and IPv6 (without extension headers): what p0f
# fingerprints.
syn_filter='(tcp and (tcp[13] & 0x12) == 2) or (ip6 and ip6[6] == 6 and (ip6[53] & 0x12) == 2)'
echo
printf '%-40s %10s %10s\n' capture packets SYNs
bench_args=()
for file in "${captures[@]}"; do
  printf '%-40s %10s %10s\n' "$file" "$(tcpdump -r "$file" -n 2>/dev/null | wc -l)" \
    "$(tcpdump -r "$file" -n "$syn_filter" 2>/dev/null | wc -l)"
  bench_args+=(--capture "$file")
done
echo

if [ -n "$build_dir" ]; then
  "$build_dir/bench/capture_bench" --runs "$runs" "${bench_args[@]}"
else
  echo "to time them: BUILD_DIR/bench/capture_bench --runs $runs$(printf ' %q' "${bench_args[@]}")"
fi
