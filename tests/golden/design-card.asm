(000) ld       [0]                       ; ver, olen, quirk ecn, pclass
(001) and      #0xff03ffff               ; ver, olen, quirk ecn, pclass
(002) jeq      #0x4500003c      jt 3	jf 51 ; ver, olen, quirk ecn, pclass
(003) ldb      [8]                       ; ttl
(004) jgt      #0x40            jt 51	jf 5 ; ttl
(005) jge      #0x1d            jt 6	jf 51 ; ttl
(006) ld       [6]                       ; quirks df, 0+; not a fragment, ip protocol tcp
(007) and      #0xffff00ff               ; quirks df, 0+; not a fragment, ip protocol tcp
(008) jeq      #0x40000006      jt 9	jf 51 ; quirks df, 0+; not a fragment, ip protocol tcp
(009) ldh      [4]                       ; quirk id+
(010) jeq      #0x0             jt 51	jf 11 ; quirk id+
(011) ldh      [32]                      ; tcp flags, olayout length
(012) and      #0xf1ff                   ; tcp flags, olayout length
(013) jeq      #0xa002          jt 14	jf 51 ; tcp flags, olayout length
(014) ld       [24]                      ; quirk seq-
(015) jeq      #0x0             jt 51	jf 16 ; quirk seq-
(016) ldb      [28]                      ; quirk ack+
(017) jset     #0x1             jt 51	jf 18 ; quirk ack+
(018) ld       [38]                      ; quirk uptr+, olayout[0] mss
(019) jeq      #0x204           jt 20	jf 51 ; quirk uptr+, olayout[0] mss
(020) ld       [44]                      ; olayout[1] sok, olayout[2] ts
(021) jeq      #0x402080a       jt 22	jf 51 ; olayout[1] sok, olayout[2] ts
(022) ld       [48]                      ; quirk ts1-
(023) jeq      #0x0             jt 51	jf 24 ; quirk ts1-
(024) ld       [52]                      ; quirk ts2+
(025) jeq      #0x0             jt 26	jf 51 ; quirk ts2+
(026) ld       [56]                      ; olayout[3] nop, olayout[4] ws, scale
(027) jeq      #0x1030306       jt 28	jf 51 ; olayout[3] nop, olayout[4] ws, scale
(028) ldh      [42]                      ; wsize: p0f needs mss >= 100
(029) jge      #0x64            jt 30	jf 51 ; wsize: p0f needs mss >= 100
(030) mul      #10                       ; wsize
(031) tax                                ; wsize
(032) ldh      [34]                      ; wsize
(033) jeq      x                jt 52	jf 34 ; wsize
(034) ldh      [42]                      ; wsize
(035) tax                                ; wsize
(036) ldh      [34]                      ; wsize
(037) mod      x                         ; wsize
(038) jeq      #0x0             jt 51	jf 39 ; wsize
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
