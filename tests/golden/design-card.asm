(000) ld       [0]                       ; ver, olen, quirk ecn, pclass
(001) and      #0xff03ffff               ; ver, olen, quirk ecn, pclass
(002) jeq      #0x4500003c      jt 3	jf 51 ; ver, olen, quirk ecn, pclass
(003) ld       #pktlen                   ; ip length
(004) jge      #0x3c            jt 5	jf 51 ; ip length
(005) ldh      [4]                       ; quirk id+
(006) jeq      #0x0             jt 51	jf 7 ; quirk id+
(007) ldb      [8]                       ; ttl
(008) jgt      #0x40            jt 51	jf 9 ; ttl
(009) jge      #0x1d            jt 10	jf 51 ; ttl
(010) ld       [6]                       ; quirks df, 0+; not a fragment, ip protocol tcp
(011) and      #0xffff00ff               ; quirks df, 0+; not a fragment, ip protocol tcp
(012) jeq      #0x40000006      jt 13	jf 51 ; quirks df, 0+; not a fragment, ip protocol tcp
(013) ldh      [32]                      ; tcp flags, olayout length
(014) and      #0xf1ff                   ; tcp flags, olayout length
(015) jeq      #0xa002          jt 16	jf 51 ; tcp flags, olayout length
(016) ld       [24]                      ; quirk seq-
(017) jeq      #0x0             jt 51	jf 18 ; quirk seq-
(018) ldb      [28]                      ; quirk ack+
(019) jset     #0x1             jt 51	jf 20 ; quirk ack+
(020) ld       [38]                      ; quirk uptr+, olayout[0] mss
(021) jeq      #0x204           jt 22	jf 51 ; quirk uptr+, olayout[0] mss
(022) ld       [44]                      ; olayout[1] sok, olayout[2] ts
(023) jeq      #0x402080a       jt 24	jf 51 ; olayout[1] sok, olayout[2] ts
(024) ld       [48]                      ; quirk ts1-
(025) jeq      #0x0             jt 51	jf 26 ; quirk ts1-
(026) ld       [52]                      ; quirk ts2+
(027) jeq      #0x0             jt 28	jf 51 ; quirk ts2+
(028) ld       [56]                      ; olayout[3] nop, olayout[4] ws, scale
(029) jeq      #0x1030306       jt 30	jf 51 ; olayout[3] nop, olayout[4] ws, scale
(030) ldh      [42]                      ; wsize: p0f needs mss >= 100
(031) jge      #0x64            jt 32	jf 51 ; wsize: p0f needs mss >= 100
(032) tax                                ; wsize
(033) ldh      [34]                      ; wsize
(034) mod      x                         ; wsize
(035) jeq      #0x0             jt 36	jf 39 ; wsize
(036) ldh      [34]                      ; wsize
(037) div      x                         ; wsize
(038) jeq      #0xa             jt 52	jf 51 ; wsize
(039) ldh      [42]                      ; wsize
(040) sub      #12                       ; wsize
(041) tax                                ; wsize
(042) ldh      [34]                      ; wsize
(043) mod      x                         ; wsize
(044) jeq      #0x0             jt 45	jf 48 ; wsize
(045) ldh      [34]                      ; wsize
(046) div      x                         ; wsize
(047) jeq      #0xa             jt 52	jf 51 ; wsize
(048) ldh      [34]                      ; wsize
(049) jeq      #0x3908          jt 52	jf 50 ; wsize
(050) jeq      #0x3890          jt 52	jf 51 ; wsize
(051) ret      #0                        ; reject
(052) ret      #262144                   ; accept
