; p0fbpf's signature database, in p0f.fp format (p0f 3.09b's grammar).
;
; Every entry here was measured on the project's own test bed: two network
; namespaces joined by a veth pair (MTU 1500 unless an entry says otherwise),
; the sender in one, tcpdump in the other, and the capture read with
; `p0fbpf fingerprint -r` (with `--response` for SYN+ACKs). Each entry is
; preceded by a comment saying what was sent and how. All were measured on
; 2026-12-06 under Linux 6.18.44-fc-v1272 (`uname -r`).
;
; How the measured values were generalised, as p0f's own database does:
; - the TTL is written as the initial TTL (64, 128, 255) without the distance,
;   which p0f allows to be up to 35 hops;
; - the MSS follows the path's MTU or the route's advmss, so it is `*`; the
;   window Linux chooses is the largest multiple of the MSS that fits in
;   65535, written `mss*N`. N depends on the MSS, so each MSS measured gets a
;   signature of its own;
; - what the stack fixes (option layout, window scale, quirks) is exact.
;
; tests/measured_signatures_test.cpp sends all of this again from the
; running kernel and tools, and fails when the stack sends anything else.
; Use it with:  p0fbpf -F signatures/p0fbpf.fp --label 'Linux:6.x \(ECN\)'

classes = win,unix,other

[tcp:request]

; ---------------------------------------------------------------------------
; The Linux kernel's SYNs: curl 7.88.1 connecting from one namespace to a
; listener in the other (the test sends them again with a plain connect()).
; Default settings first.
; The window scale, 10, follows from the largest receive buffer the stack may
; use (net.ipv4.tcp_rmem's third value, 33554432 here as a new namespace
; inherits it); see the 6 MiB entry below for a smaller one.

label = s:unix:Linux:6.x

; IPv4, MTU 1500 (MSS 1460, window 64240), all sysctls at their defaults.
sig   = 4:64:0:*:mss*44,10:mss,sok,ts,nop,ws:df,id+:0
; IPv6, MTU 1500 (MSS 1440, window 64800), all sysctls at their defaults.
sig   = 6:64:0:*:mss*45,10:mss,sok,ts,nop,ws:flow:0
; IPv4, route with `advmss 1200` (MSS 1200, window 64800).
sig   = 4:64:0:*:mss*54,10:mss,sok,ts,nop,ws:df,id+:0
; IPv6, route with `advmss 1200` (MSS 1200, window 64800).
sig   = 6:64:0:*:mss*54,10:mss,sok,ts,nop,ws:flow:0
; IPv4, both veth ends at MTU 9000 (MSS 8960, window 62720).
sig   = 4:64:0:*:mss*7,10:mss,sok,ts,nop,ws:df,id+:0
; IPv6, both veth ends at MTU 9000 (MSS 8940, window 62580).
sig   = 6:64:0:*:mss*7,10:mss,sok,ts,nop,ws:flow:0

; A connect() with net.ipv4.tcp_rmem = "4096 131072 6291456": a largest
; receive buffer of 6 MiB gives window scale 7.
label = s:unix:Linux:6.x (tcp_rmem max 6 MiB)
; IPv4, MTU 1500.
sig   = 4:64:0:*:mss*44,7:mss,sok,ts,nop,ws:df,id+:0
; IPv6, MTU 1500.
sig   = 6:64:0:*:mss*45,7:mss,sok,ts,nop,ws:flow:0

; A connect() with net.ipv4.tcp_timestamps=0 (applies to IPv6 too): the
; timestamp option's place is taken by two NOPs.
label = s:unix:Linux:6.x (timestamps off)
; IPv4, MTU 1500.
sig   = 4:64:0:*:mss*44,10:mss,nop,nop,sok,nop,ws:df,id+:0
; IPv6, MTU 1500.
sig   = 6:64:0:*:mss*45,10:mss,nop,nop,sok,nop,ws:flow:0

; A connect() with net.ipv4.tcp_sack=0 (applies to IPv6 too).
label = s:unix:Linux:6.x (SACK off)
; IPv4, MTU 1500.
sig   = 4:64:0:*:mss*44,10:mss,nop,nop,ts,nop,ws:df,id+:0
; IPv6, MTU 1500.
sig   = 6:64:0:*:mss*45,10:mss,nop,nop,ts,nop,ws:flow:0

; A connect() with net.ipv4.tcp_window_scaling=0 (applies to IPv6 too):
; no window scale option, and the options end after the timestamp.
label = s:unix:Linux:6.x (window scaling off)
; IPv4, MTU 1500.
sig   = 4:64:0:*:mss*44,0:mss,sok,ts:df,id+:0
; IPv6, MTU 1500.
sig   = 6:64:0:*:mss*45,0:mss,sok,ts:flow:0

; A connect() with net.ipv4.tcp_timestamps=0, tcp_sack=0 and
; tcp_window_scaling=0 together: the MSS option alone.
label = s:unix:Linux:6.x (timestamps, SACK and window scaling off)
; IPv4, MTU 1500.
sig   = 4:64:0:*:mss*44,0:mss:df,id+:0
; IPv6, MTU 1500.
sig   = 6:64:0:*:mss*45,0:mss:flow:0

; A connect() with net.ipv4.tcp_ecn=1 (the client asks for ECN; applies
; to IPv6 too): the SYN carries ECE and CWR.
label = s:unix:Linux:6.x (ECN)
; IPv4, MTU 1500.
sig   = 4:64:0:*:mss*44,10:mss,sok,ts,nop,ws:df,id+,ecn:0
; IPv6, MTU 1500.
sig   = 6:64:0:*:mss*45,10:mss,sok,ts,nop,ws:ecn,flow:0

; A connect() with net.ipv4.ip_default_ttl=128 and
; net.ipv6.conf.{all,default,va}.hop_limit=128.
label = s:unix:Linux:6.x (initial TTL 128)
; IPv4, MTU 1500.
sig   = 4:128:0:*:mss*44,10:mss,sok,ts,nop,ws:df,id+:0
; IPv6, MTU 1500.
sig   = 6:128:0:*:mss*45,10:mss,sok,ts,nop,ws:flow:0

; A connect() with net.ipv4.ip_default_ttl=255 and
; net.ipv6.conf.{all,default,va}.hop_limit=255.
label = s:unix:Linux:6.x (initial TTL 255)
; IPv4, MTU 1500.
sig   = 4:255:0:*:mss*44,10:mss,sok,ts,nop,ws:df,id+:0
; IPv6, MTU 1500.
sig   = 6:255:0:*:mss*45,10:mss,sok,ts,nop,ws:flow:0

; ---------------------------------------------------------------------------
; Scanners and flood tools, with their default SYNs, run against the other
; namespace's own address only, a few hundred packets at most.

; hping3 3.0.0-alpha-2, `hping3 -S -p 80 -c 100 -i u2000 ADDRESS` (IPv4; this
; hping3 has no IPv6): no options, window 512, TTL 64, no DF. The
; acknowledgment number is random, so about half the SYNs have ack+.
label = s:!:hping3:SYN flood
sys   = @unix
sig   = 4:64:0:0:512,0:::0
sig   = 4:64:0:0:512,0::ack+:0

; nmap 7.93, `nmap -sS -n -Pn -p 1-300 --max-retries 0 -T4 ADDRESS`: MSS 1460
; alone, window 1024, no DF.
label = s:!:nmap:SYN scan
sys   = @unix
; IPv4: nmap picks a random TTL below 64 (37 to 59 seen), hence 64-.
sig   = 4:64-:0:1460:1024,0:mss::0
; IPv6 (`nmap -6`): hop limit 255 on every probe.
sig   = 6:255:0:1460:1024,0:mss::0

; masscan 1.3.2, `masscan ADDRESS -p1-50 --rate 1000 --wait 1 --adapter va
; --adapter-ip OWN --router-mac MAC` (IPv4; this masscan takes no IPv6
; target): no options, window 1024, TTL 255, no DF.
label = s:!:masscan:SYN scan
sys   = @unix
sig   = 4:255:0:0:1024,0:::0

; zmap 2.1.1, `zmap -p 80 -P 50 -r 1000 -c 1 -i va -S OWN -G MAC ADDRESS/32`
; (IPv4 only): no options, window 65535, TTL 255, no DF.
label = s:!:zmap:SYN scan
sys   = @unix
sig   = 4:255:0:0:65535,0:::0

[tcp:response]

; ---------------------------------------------------------------------------
; The Linux kernel's SYN+ACKs: a listening socket in one namespace answering
; curl 7.88.1 from the other, both ends at their defaults unless the entry
; says otherwise. Linux answers only with the options the SYN offered, so
; these are its answers to a Linux client.

label = s:unix:Linux:6.x

; IPv4, MTU 1500 (window 65160), all sysctls at their defaults.
sig   = 4:64:0:*:mss*45,10:mss,sok,ts,nop,ws:df:0
; IPv6, MTU 1500 (window 64260), all sysctls at their defaults.
sig   = 6:64:0:*:mss*45,10:mss,sok,ts,nop,ws:flow:0
; IPv4, routes on both ends with `advmss 1200` (window 65340).
sig   = 4:64:0:*:mss*55,10:mss,sok,ts,nop,ws:df:0
; IPv6, routes on both ends with `advmss 1200` (window 65340).
sig   = 6:64:0:*:mss*55,10:mss,sok,ts,nop,ws:flow:0
; IPv4, both veth ends at MTU 9000 (window 62636).
sig   = 4:64:0:*:mss*7,10:mss,sok,ts,nop,ws:df:0
; IPv6, both veth ends at MTU 9000 (window 62496).
sig   = 6:64:0:*:mss*7,10:mss,sok,ts,nop,ws:flow:0

; Both ends with net.ipv4.tcp_timestamps=0.
label = s:unix:Linux:6.x (timestamps off)
; IPv4, MTU 1500 (window 64240).
sig   = 4:64:0:*:mss*44,10:mss,nop,nop,sok,nop,ws:df:0
; IPv6, MTU 1500 (window 64800).
sig   = 6:64:0:*:mss*45,10:mss,nop,nop,sok,nop,ws:flow:0

; Both ends with net.ipv4.tcp_sack=0.
label = s:unix:Linux:6.x (SACK off)
; IPv4, MTU 1500.
sig   = 4:64:0:*:mss*45,10:mss,nop,nop,ts,nop,ws:df:0
; IPv6, MTU 1500.
sig   = 6:64:0:*:mss*45,10:mss,nop,nop,ts,nop,ws:flow:0

; Both ends with net.ipv4.tcp_window_scaling=0.
label = s:unix:Linux:6.x (window scaling off)
; IPv4, MTU 1500.
sig   = 4:64:0:*:mss*45,0:mss,sok,ts:df:0
; IPv6, MTU 1500.
sig   = 6:64:0:*:mss*45,0:mss,sok,ts:flow:0

; The server at its default (net.ipv4.tcp_ecn=2) answering a client with
; net.ipv4.tcp_ecn=1: the SYN+ACK accepts ECN with ECE.
label = s:unix:Linux:6.x (ECN)
; IPv4, MTU 1500.
sig   = 4:64:0:*:mss*45,10:mss,sok,ts,nop,ws:df,ecn:0
; IPv6, MTU 1500.
sig   = 6:64:0:*:mss*45,10:mss,sok,ts,nop,ws:ecn,flow:0

; The server with net.ipv4.ip_default_ttl=128 and
; net.ipv6.conf.{all,vb}.hop_limit=128.
label = s:unix:Linux:6.x (initial TTL 128)
; IPv4, MTU 1500.
sig   = 4:128:0:*:mss*45,10:mss,sok,ts,nop,ws:df:0
; IPv6, MTU 1500.
sig   = 6:128:0:*:mss*45,10:mss,sok,ts,nop,ws:flow:0
