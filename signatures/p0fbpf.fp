; p0fbpf's signature database, in p0f.fp format (p0f 3.09b's grammar).
;
; Two kinds of entries. Those of [tcp:response] and the Linux and tool
; labels of [tcp:request] were measured on the project's own test bed; those
; after the "From public facts" line below were not, and each of their
; signatures names its public source in a "; source:" comment.
;
; Each measured entry was measured on the project's own test bed: two network
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
; tests/measured_signatures_test.cpp sends every measured entry again from the
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
; Scanners, flood tools and scapy, with their default SYNs, run against the
; other namespace's own address only, a few hundred packets at most.

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

; scapy 2.5.0, a script's `send(IP(dst=ADDRESS) / TCP(dport=80))` and the
; same with `IPv6(dst=ADDRESS)`: TCP()'s defaults, flags S, no options,
; window 8192, sequence number 0 (seq-); TTL and hop limit 64; IPv4 ID 1,
; no DF.
label = s:!:scapy:default SYN
sys   = @unix
sig   = *:64:0:0:8192,0::seq-:0

; nmap 7.93, `nmap -O -n -Pn -p OPEN,CLOSED --max-retries 0 ADDRESS`: the SYNs
; of OS detection, one per option layout (six sequence probes, the probe of
; a closed port with window 31337, and the ECN probe with ECE, CWR and an
; urgent pointer). Each probe's acknowledgment number is random, zero about
; half the time: with and without ack+. p0f 3.09b's eight entries, under
; s:!:NMap:OS detection, all have ack+ and no IPv6. The name is spelled as
; in the SYN scan's label above: p0f compares names without case and shows
; the first spelling (`--label '(?i)nmap'` selects either).
label = s:!:nmap:OS detection
sys   = @unix,@win
; IPv4: a random TTL below 64.
sig   = 4:64-:0:1460:1,10:ws,nop,mss,ts,sok::0
sig   = 4:64-:0:1460:1,10:ws,nop,mss,ts,sok:ack+:0
sig   = 4:64-:0:1400:63,0:mss,ws,sok,ts,eol+0::0
sig   = 4:64-:0:1400:63,0:mss,ws,sok,ts,eol+0:ack+:0
sig   = 4:64-:0:640:4,5:ts,nop,nop,ws,nop,mss::0
sig   = 4:64-:0:640:4,5:ts,nop,nop,ws,nop,mss:ack+:0
sig   = 4:64-:0:0:4,10:sok,ts,ws,eol+0::0
sig   = 4:64-:0:0:4,10:sok,ts,ws,eol+0:ack+:0
sig   = 4:64-:0:536:16,10:mss,sok,ts,ws,eol+0::0
sig   = 4:64-:0:536:16,10:mss,sok,ts,ws,eol+0:ack+:0
sig   = 4:64-:0:265:512,0:mss,sok,ts::0
sig   = 4:64-:0:265:512,0:mss,sok,ts:ack+:0
sig   = 4:64-:0:265:31337,10:ws,nop,mss,ts,sok::0
sig   = 4:64-:0:265:31337,10:ws,nop,mss,ts,sok:ack+:0
sig   = 4:64-:0:1460:3,10:ws,nop,mss,sok,nop,nop:ecn,uptr+:0
; IPv6 (`nmap -6 -O`): a random hop limit below 64 and a flow label.
sig   = 6:64-:0:1460:1,10:ws,nop,mss,ts,sok:flow:0
sig   = 6:64-:0:1460:1,10:ws,nop,mss,ts,sok:flow,ack+:0
sig   = 6:64-:0:1400:63,0:mss,ws,sok,ts,eol+0:flow:0
sig   = 6:64-:0:1400:63,0:mss,ws,sok,ts,eol+0:flow,ack+:0
sig   = 6:64-:0:640:4,5:ts,nop,nop,ws,nop,mss:flow:0
sig   = 6:64-:0:640:4,5:ts,nop,nop,ws,nop,mss:flow,ack+:0
sig   = 6:64-:0:0:4,10:sok,ts,ws,eol+0:flow:0
sig   = 6:64-:0:0:4,10:sok,ts,ws,eol+0:flow,ack+:0
sig   = 6:64-:0:536:16,10:mss,sok,ts,ws,eol+0:flow:0
sig   = 6:64-:0:536:16,10:mss,sok,ts,ws,eol+0:flow,ack+:0
sig   = 6:64-:0:265:512,0:mss,sok,ts:flow:0
sig   = 6:64-:0:265:512,0:mss,sok,ts:flow,ack+:0
sig   = 6:64-:0:265:31337,10:ws,nop,mss,ts,sok:flow:0
sig   = 6:64-:0:265:31337,10:ws,nop,mss,ts,sok:flow,ack+:0
sig   = 6:64-:0:1460:3,10:ws,nop,mss,sok,nop,nop:ecn,flow,uptr+:0

; ===========================================================================
; From public facts: stacks this test bed cannot run. Nothing below was
; measured here. Each signature has a comment starting "; source:" that
; names where its fields are published (checked 2026-12-06); a signature is
; a fact, the labels and comments are this project's. Where two sources say
; the same thing both are named; where they differ the comment says which
; is followed and why. Fields the sources leave open are written as p0f's
; database does: the MSS is `*`, the TTL is the initial TTL. IPv4 is given
; for every stack, IPv6 where a source prints it. Over IPv6 a host takes its
; hop limit from the router's advertisements where they give one (RFC 4861),
; so the same stacks are printed at different hop limits: the p0f fork
; ezbik/p0f3 has Windows 10 at 64, and Windows 11 and an iPhone at 255. The
; entries below give 64, as the sources that print one here do; a network
; that advertises another limit sends SYNs they do not match.
; tests/signature_database_test.cpp checks that every signature below has
; such a comment, and tests/measured_signatures_test.cpp leaves these labels
; out of what it measures.
;
; Field translations used in the comments: Satori's tcpsig
; WINDOW:TTL:DF:HDRLEN:OPTIONS:QUIRKS names options M (MSS), N (NOP),
; W (window scale), S (SACK permitted), T (timestamp), E (EOL), and its
; quirk Z is a zero IP ID; MuonFP's WINDOW:KINDS:MSS:SCALE gives option
; kinds (2 MSS, 1 NOP, 3 window scale, 4 SACK permitted, 8 timestamp,
; 0 EOL). p0f's quirk `df` alone is DF with a zero IP ID, `id+` DF with a
; non-zero one.

; ---------------------------------------------------------------------------
; Windows 10 and 11 share the NT 10.0 stack: browsers on both say
; "Windows NT 10.0", so a source that labels from the User-Agent cannot tell
; them apart, and neither can this entry. Options MSS, NOP, scale 8, NOP,
; NOP, SACK permitted; no timestamps; TTL 128; DF with a non-zero IP ID.
label = s:win:Windows:10 or 11

; The window as 44 times the host's MSS (64240 at MSS 1460, 63888 at 1452).
; source: mrheinen/p0f p0f.fp (the entry it takes from Windows 10/11 22H2)
; and biandratti/huginn-net huginn-net-db/config/p0f.fp (its Windows 10
; label; the 2026 entries of huginn-net-db/config/p0f-tcp-syn.fp on its
; branch improve-db-quality print mss*44 with MSS 1460, 1452, 1440, 1420,
; 1380 and others).
sig   = 4:128:0:*:mss*44,8:mss,nop,ws,nop,nop,sok:df,id+:0

; The window 64240 whatever the MSS, seen when a router on the way lowers
; the MSS option (MSS clamping) but not the window the host computed.
; source: xnih/satori fingerprints/tcp.xml ("Windows 10 - 1703" to "1909":
; 64240:128:1:52:M1460,N,W8,N,N,S and 64240:128:1:52:M1380,N,W8,N,N,S),
; MuonFP's published Windows 10 example 64240:2-1-3-1-1-4:1460:8
; (ELLIO-Technology/tcp-fingerprint-firewall
; fingerprint-format.md), and the same as JA4T for Windows 11 in
; FoxIO-LLC/ja4 README.md (64240_2-1-3-1-1-4_1460_8) and for Windows 10 in
; FoxIO's post "JA4T: TCP Fingerprinting" (2024-04-23,
; blog.foxio.io/ja4t-tcp-fingerprinting). The p0f forks above write only
; mss*44, which says the same at MSS 1460 but misses the clamped case; both
; are kept.
sig   = 4:128:0:*:64240,8:mss,nop,ws,nop,nop,sok:df,id+:0

; The window 65535.
; source: xnih/satori fingerprints/tcp.xml ("Windows 10 - 1703", "1709",
; "1803": 65535:128:1:52:M1460,N,W8,N,N,S), mrheinen/p0f p0f.fp (its
; Windows 10 entry for a fresh install) and biandratti/huginn-net
; huginn-net-db/config/p0f.fp (Windows 10). Satori also lists this string
; once under "Windows 8"; three sources put it under Windows 10, so it is
; labelled so here.
sig   = 4:128:0:*:65535,8:mss,nop,ws,nop,nop,sok:df,id+:0

; Over IPv6: the same options, a flow label (quirk flow), and the window as
; 45 times the MSS (64800 at MSS 1440, a 1,500-byte link's over IPv6): as
; over IPv4, the largest multiple of the MSS within 65535. Hop limit 64 (see
; the section's head); one source only, which no other contradicts.
; source: ezbik/p0f3 p0f.fp (its "Windows:10 pro" entry over IPv6, this
; signature).
sig   = 6:64:0:*:mss*45,8:mss,nop,ws,nop,nop,sok:flow:0

; Windows Server 2019 and 2022: Windows 10's stack, but the client SYN asks
; for ECN (ECE and CWR set). Three windows, each from one source: 65535 and
; 64240 seen from Server 2019, 46 times the MSS from Server 2022. At an MSS
; of 1395 to 1424, 46 times it is the largest multiple of the MSS within
; 65535 (65320 at 1420), a window Windows sends besides 44 times the MSS:
; huginn-net prints both mss*44 and mss*46 at MSS 1420 for plain "Windows",
; and Satori 47 times MSS 1366 (64202) for Windows 10 and Server 2016. So
; mss*46 was likely seen at such an MSS, and matches only there. No source
; tells the two versions' SYNs apart, and no second one names Server 2022.
label = s:win:Windows:Server 2019 or 2022
; source: mrheinen/p0f p0f.fp (its "Server 2019 Datacenter" entry; its
; Server 2016 and 2022 entries carry ecn too). Satori's "Windows Server
; 2019" has SYN+ACK tests only.
sig   = 4:128:0:*:65535,8:mss,nop,ws,nop,nop,sok:df,id+,ecn:0
; Two sources, each a tcpdump line of a Server 2019 host connecting out:
; flags SYN, ECE and CWR, window 64240 with a lowered MSS (the window stays
; 64240, as Windows 10's clamped SYNs above), nop, scale 8, nop, nop,
; sackOK. Neither prints TTL, DF or IP ID: those are the stack's, as in the
; entries above.
; source: 0xdf's "RoguePotato on Remote" (0xdf.gitlab.io/2020/09/08/
; roguepotato-on-remote.html: HTB's Remote, mss 1357 on the VPN) and
; fabferri/az-pattern service-tag-udr/README.md (its vm100, "Windows Server
; 2019", an Azure 2019-Datacenter image: mss 1418).
sig   = 4:128:0:*:64240,8:mss,nop,ws,nop,nop,sok:df,id+,ecn:0
; source: mrheinen/p0f p0f.fp (its "Server 2022 Datacenter" entry), over
; IPv4 only: over IPv6 the entry's `*` would mean no flow label, and no IPv6
; SYN backs that.
sig   = 4:128:0:*:mss*46,8:mss,nop,ws,nop,nop,sok:df,id+,ecn:0
; A second source for Server 2022 agrees on the options and the scale, at
; another window: 62727, seven times the MSS of AWS's 9,001-byte MTU (8961)
; while the MSS option says 1460, lowered on the way (the same largest
; multiple of the host's MSS within 65535). JA4T prints no flags, TTL, DF or
; IP ID: they are mrheinen's for Server 2022, as above.
; source: FoxIO's post "JA4T: TCP Fingerprinting" (2024-04-23,
; blog.foxio.io/ja4t-tcp-fingerprinting: "AWS Windows Server 2022",
; 62727_2-1-3-1-1-4_1460_8).
sig   = 4:128:0:*:62727,8:mss,nop,ws,nop,nop,sok:df,id+,ecn:0

; ---------------------------------------------------------------------------
; Apple's stack (macOS and iOS send the same SYN): window 65535, scale 6 or 5,
; options MSS, NOP, scale, NOP, NOP, timestamp, SACK permitted, EOL and one
; byte of padding; TTL 64; DF with a zero IP ID (since macOS 10.13 and
; iOS 13; before that the ID was not zero, see p0f's Mac OS X labels below).
; No source found names macOS 13+ or iOS 16+ by version: the sources below
; name macOS 10.13 to 10.15 and iOS 13 (Satori), "macOS/iOS" with no version
; (MuonFP), "OSX/iOS (all versions)" in 2024, when macOS 14 and iOS 17 were
; current (FoxIO), and entries added in 2026 with no version (huginn-net).
label = s:unix:Apple:macOS or iOS

; source: xnih/satori fingerprints/tcp.xml ("Mac OS X 10.15.x" and
; "iOS 13.x": 65535:64:1:64:M1460,N,W6,N,N,T,S,E,E:PZ), MuonFP's published
; macOS/iOS example 65535:2-1-3-1-1-8-4-0-0:1460:6
; (ELLIO-Technology/tcp-fingerprint-firewall fingerprint-format.md), the
; same as JA4T for "OSX/iOS (all versions)" in FoxIO's post "JA4T: TCP
; Fingerprinting" (2024-04-23, blog.foxio.io/ja4t-tcp-fingerprinting:
; 65535_2-1-3-1-1-8-4-0-0_1460_6)
; and biandratti/huginn-net huginn-net-db/config/p0f-tcp-syn.fp (branch
; improve-db-quality, its iOS and Mac OS X entries added in 2026: 65535,6
; with this layout and quirk df).
sig   = 4:64:0:*:65535,6:mss,nop,ws,nop,nop,ts,sok,eol+1:df:0

; Scale 5 (MuonFP's example has 6; scale 7, in a few of Satori's iOS 13 and
; huginn-net's iOS entries, is left out).
; source: xnih/satori fingerprints/tcp.xml ("Mac OS X 10.13.x", "10.14.x"
; and "iOS 13.x": 65535:64:1:64:M1460,N,W5,N,N,T,S,E,E:PZ) and
; biandratti/huginn-net huginn-net-db/config/p0f-tcp-syn.fp (branch
; improve-db-quality, its OS X entries: 65535,5 with this layout and quirk
; df).
sig   = 4:64:0:*:65535,5:mss,nop,ws,nop,nop,ts,sok,eol+1:df:0

; The same SYN asking for ECN.
; source: biandratti/huginn-net huginn-net-db/config/p0f-tcp-syn.fp (branch
; improve-db-quality: most of its iOS entries added in 2026 carry quirk
; ecn) and FoxIO-LLC/ja4 pcap/macos_tcp_flags.pcap (a macOS SYN with ECE
; and CWR: TTL 64, DF, IP ID 0, scale 6, this layout). Satori's tests are of
; plain SYNs (flag S) and MuonFP has no flags, so neither confirms nor
; contradicts it.
sig   = 4:64:0:*:65535,6:mss,nop,ws,nop,nop,ts,sok,eol+1:df,ecn:0

; Over IPv6: the same options (MSS 1440 on a 1,500-byte link), a flow label
; (quirk flow), hop limit 64. A host takes its hop limit from the router's
; advertisements (RFC 4861), so a network that advertises another one
; (255 in one fork's entry) sends SYNs this does not match.
; source: FoxIO-LLC/ja4 pcap/chrome-cloudflare-quic-with-secrets.pcapng
; (hop limit 64, a flow label, window 65535, mss 1440,nop,wscale 6,nop,nop,
; TS,sackOK,eol; the capture names no OS, and this layout ending in EOL is
; Apple's), FoxIO-LLC/ja4 pcap/ipv6.pcapng (the same at mss 1346) and
; ezbik/p0f3 p0f.fp ("iPhone 16 pro max", a phone that runs iOS 18 or
; later: this signature).
sig   = 6:64:0:*:65535,6:mss,nop,ws,nop,nop,ts,sok,eol+1:flow:0

; ---------------------------------------------------------------------------
; Android (a Linux kernel, but not Linux's window): mostly window 65535
; whatever the MSS, options in Linux's order (MSS, SACK permitted,
; timestamp, NOP, scale), TTL 64, DF with a non-zero IP ID. The window and
; scale follow the receive buffer the device configures.
label = s:unix:Android:10 or newer

; Scales 8 and 9 are in both sources below; 10 is in huginn-net alone and
; is left out. Android 13 is named with scale 9 (FoxIO, below).
; source: xnih/satori fingerprints/tcp.xml ("Android 10.x":
; 65535:64:1:60:M1460,S,T,N,W8) and biandratti/huginn-net
; huginn-net-db/config/p0f-tcp-syn.fp (branch improve-db-quality, its
; Android entries added in 2026: 65535 with scales 7 to 12, 8, 9 and 10 the
; most common).
sig   = 4:64:0:*:65535,8:mss,sok,ts,nop,ws:df,id+:0
; source: xnih/satori fingerprints/tcp.xml ("Android 10.x":
; 65535:64:1:60:M1460,S,T,N,W9), biandratti/huginn-net
; huginn-net-db/config/p0f-tcp-syn.fp (branch improve-db-quality, its
; Android entries with scale 9) and FoxIO's post "JA4T: TCP Fingerprinting"
; (2024-04-23, blog.foxio.io/ja4t-tcp-fingerprinting: "Android 13",
; 65535_2-4-8-1-3_1460_9).
sig   = 4:64:0:*:65535,9:mss,sok,ts,nop,ws:df,id+:0
; Android 12, one source only, with another buffer: window 42600 and scale
; 12, the options in the same order. JA4T prints no TTL, DF or IP ID: they
; are written as in the entries above (the same kernel's).
; source: FoxIO's post "JA4T: TCP Fingerprinting" (2024-04-23,
; blog.foxio.io/ja4t-tcp-fingerprinting: "Android 12",
; 42600_2-4-8-1-3_1460_12).
sig   = 4:64:0:*:42600,12:mss,sok,ts,nop,ws:df,id+:0

; ---------------------------------------------------------------------------
; FreeBSD 11 and later: window 65535, scale 6, options MSS, NOP, scale,
; SACK permitted, timestamp; TTL 64; DF with a zero IP ID.
label = s:unix:FreeBSD:11 or newer

; source: mrheinen/p0f p0f.fp (its FreeBSD 11 to 14 entry, with quirk df
; alone), chenshuo/tcpip-study docs/slowstart.md (a FreeBSD 14 host's SYN:
; win 65535, mss 1460, nop, wscale 6, sackOK, TS; its FreeBSD 13 host's has
; wscale 10, from a larger socket buffer there, not followed) and
; freebsd/freebsd-src sys/netinet/ip_id.c (net.inet.ip.rfc6864,
; default 1: a datagram with DF gets IP ID 0). Window, scale and layout are
; those of p0f 3.09b's "FreeBSD:9.x or newer", whose quirk id+ (a non-zero
; ID) no longer holds; that label is not kept here.
sig   = 4:64:0:*:65535,6:mss,nop,ws,sok,ts:df:0

; Over IPv6: the same TCP options and window, hop limit 64, and a flow label
; (quirk flow). The two sources disagree on the flow label, and this entry
; follows the kernel's code: mrheinen's entry is written for both versions
; (`*`), which over IPv6 means no flow label, but it cites no IPv6 SYN and
; keeps p0f 3.09b's `*` form, while the kernel labels every connection.
; source: mrheinen/p0f p0f.fp (its FreeBSD 11 to 14 entry, `*`: the options,
; window, scale and 64) and freebsd/freebsd-src sys/netinet6/in6_proto.c
; (ip6_auto_flowlabel 1, the default; the hop limit IPV6_DEFHLIM, 64, from
; netinet/ip6.h) with sys/netinet6/in6_pcb.c (in6_pcbconnect gives a socket
; with IN6P_AUTOFLOWLABEL a random flow label). A host takes its hop limit
; from the router's advertisements where they give one (RFC 4861).
sig   = 6:64:0:*:65535,6:mss,nop,ws,sok,ts:flow:0

; ---------------------------------------------------------------------------
; OpenBSD 6.1 and later, 7 included: window 16384, scale 6, options MSS,
; NOP, NOP, SACK permitted, NOP, scale, NOP, NOP, timestamp; TTL 64; DF (path
; MTU discovery, on by default) with a random IP ID.
label = s:unix:OpenBSD:6.1 or newer

; source: OpenBSD's own pf.os, rev 1.27 of 2016-09-03 ("16384:64:1:64:M*,N,
; N,S,N,W6,N,N,T: OpenBSD:6.1"), as copied in freebsd/freebsd-src
; sbin/pfctl/pf.os; and openbsd/src as of 7.2 (2022): tcp_output.c writes
; MSS, NOP NOP SACK permitted, NOP scale, NOP NOP timestamp; tcp_usrreq.c's
; receive space of 16 KB is the window; an SB_MAX of 2 MB gives scale 6;
; ip_output sets a random IP ID. pf.os's earlier "OpenBSD:4.9" has scale 3,
; with the SB_MAX of 256 KB of those releases. p0f 3.09b's OpenBSD labels
; are not kept: Satori's "OpenBSD 4.x" (16384:64:1:64:M1460,N,N,S,N,W0,N,N,
; T) gives scale 0 where p0f's "OpenBSD:4.x-5.x" says 3.
sig   = 4:64:0:*:16384,6:mss,nop,nop,sok,nop,ws,nop,nop,ts:df,id+:0

; ===========================================================================
; Kept from p0f 3.09b's database (LGPL-2.1; the signature strings are facts):
; entries still right for the stacks they name, under p0f's labels, so that
; --label patterns written for p0f's database select them here too. An entry
; is kept when a second, independent source prints the same SYN for the same
; stack. Not kept: p0f's generic labels (g:...), which overlap the specific
; ones; its Linux labels, which name kernels before 3.11 or overlap the Linux
; 6.x entries measured here; "FreeBSD:9.x or newer" (see above); its nmap
; entry, replaced by the one measured here (1024 is the same, no other
; window was seen); and entries no second source confirms. The kept strings
; are p0f's as written, IP version `*` included: their df and id+ quirks are
; IPv4 fields, which p0f (and p0fbpf, checked by signature_database_test's
; p0f differential) leave out when reading an IPv6 packet.

; Windows XP. Not kept: p0f's 65535,0 and 65535,2 with a window scale
; option, which Satori's Windows XP tests do not show.
label = s:win:Windows:XP
; source: p0f 3.09b p0f.fp and xnih/satori fingerprints/tcp.xml
; ("Windows XP": 16384:128:1:48:M1460,N,N,S).
sig   = *:128:0:*:16384,0:mss,nop,nop,sok:df,id+:0
; source: p0f 3.09b p0f.fp and xnih/satori fingerprints/tcp.xml
; ("Windows XP": 65535:128:1:48:M1460,N,N,S).
sig   = *:128:0:*:65535,0:mss,nop,nop,sok:df,id+:0
; source: p0f 3.09b p0f.fp and xnih/satori fingerprints/tcp.xml
; ("Windows XP": 65535:128:1:52:M1460,N,W1,N,N,S).
sig   = *:128:0:*:65535,1:mss,nop,ws,nop,nop,sok:df,id+:0

; Windows 7 and 8 (the window 8192). Satori lists some of the same strings
; under Vista, Server 2008 R2, 2012 R2 and 2016 and Windows 10 1607 too, so
; a packet under this label may come from those as well.
label = s:win:Windows:7 or 8
; source: p0f 3.09b p0f.fp and xnih/satori fingerprints/tcp.xml
; ("Windows 7": 8192:128:1:48:M1460,N,N,S).
sig   = *:128:0:*:8192,0:mss,nop,nop,sok:df,id+:0
; source: p0f 3.09b p0f.fp and xnih/satori fingerprints/tcp.xml
; ("Windows 7": 8192:128:1:52:M1460,N,W2,N,N,S).
sig   = *:128:0:*:8192,2:mss,nop,ws,nop,nop,sok:df,id+:0
; source: p0f 3.09b p0f.fp and xnih/satori fingerprints/tcp.xml
; ("Windows 7": 8192:128:1:52:M1460,N,W8,N,N,S).
sig   = *:128:0:*:8192,8:mss,nop,ws,nop,nop,sok:df,id+:0
; source: p0f 3.09b p0f.fp and xnih/satori fingerprints/tcp.xml
; ("Windows 7": 8192:128:1:60:M1460,N,W2,S,T).
sig   = *:128:0:*:8192,2:mss,nop,ws,sok,ts:df,id+:0

; Mac OS X before 10.13 (a non-zero IP ID).
label = s:unix:Mac OS X:10.x
; source: p0f 3.09b p0f.fp and xnih/satori fingerprints/tcp.xml
; ("Mac OS X 10.5": 65535:64:1:64:M1460,N,W1,N,N,T,S,E:P, no Z quirk).
sig   = *:64:0:*:65535,1:mss,nop,ws,nop,nop,ts,sok,eol+1:df,id+:0
; source: p0f 3.09b p0f.fp and xnih/satori fingerprints/tcp.xml
; ("Mac OS X 10.5": 65535:64:1:64:M1460,N,W3,N,N,T,S,E:P).
sig   = *:64:0:*:65535,3:mss,nop,ws,nop,nop,ts,sok,eol+1:df,id+:0

; Holds for Mac OS X 10.9 to 10.12; the "or newer" of p0f's label no longer
; does (10.13 and later send a zero IP ID: s:unix:Apple:macOS or iOS).
label = s:unix:MacOS X:10.9 or newer (sometimes iPhone or iPad)
; source: p0f 3.09b p0f.fp and xnih/satori fingerprints/tcp.xml
; ("Mac OS X 10.9.x" and "10.12.x": 65535:60:1:64:M1460,N,W4,N,N,T,S,E,E:P,
; Satori's TTL being the one seen, here 64 less 4 hops; no Z quirk).
sig   = *:64:0:*:65535,4:mss,nop,ws,nop,nop,ts,sok,eol+1:df,id+:0

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
