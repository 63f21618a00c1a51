(000) ldh      [0]                       ; ver, olen, quirk ecn
(001) and      #0xff03                   ; ver, olen, quirk ecn
(002) jeq      #0x4500          jt 3	jf 62 ; ver, olen, quirk ecn
(003) ldh      [2]                       ; pclass
(004) jeq      #0x3c            jt 5	jf 62 ; pclass
(005) ld       #pktlen                   ; ip length
(006) jge      #0x3c            jt 7	jf 62 ; ip length
(007) ldh      [6]                       ; quirks df, 0+; not a fragment
(008) jeq      #0x4000          jt 9	jf 62 ; quirks df, 0+; not a fragment
(009) ldh      [4]                       ; quirk id+
(010) jeq      #0x0             jt 62	jf 11 ; quirk id+
(011) ldb      [8]                       ; ttl
(012) jgt      #0x40            jt 62	jf 13 ; ttl
(013) jge      #0x1d            jt 14	jf 62 ; ttl
(014) ldb      [9]                       ; ip protocol tcp
(015) jeq      #0x6             jt 16	jf 62 ; ip protocol tcp
(016) ldh      [32]                      ; tcp flags, olayout length
(017) and      #0xf1ff                   ; tcp flags, olayout length
(018) jeq      #0xa002          jt 19	jf 62 ; tcp flags, olayout length
(019) ld       [24]                      ; quirk seq-
(020) jeq      #0x0             jt 62	jf 21 ; quirk seq-
(021) ldb      [28]                      ; quirk ack+
(022) jset     #0x1             jt 62	jf 23 ; quirk ack+
(023) ldh      [38]                      ; quirk uptr+
(024) jeq      #0x0             jt 25	jf 62 ; quirk uptr+
(025) ldh      [40]                      ; olayout[0] mss
(026) jeq      #0x204           jt 27	jf 62 ; olayout[0] mss
(027) ldh      [44]                      ; olayout[1] sok
(028) jeq      #0x402           jt 29	jf 62 ; olayout[1] sok
(029) ldh      [46]                      ; olayout[2] ts
(030) jeq      #0x80a           jt 31	jf 62 ; olayout[2] ts
(031) ldb      [56]                      ; olayout[3] nop
(032) jeq      #0x1             jt 33	jf 62 ; olayout[3] nop
(033) ldh      [57]                      ; olayout[4] ws
(034) jeq      #0x303           jt 35	jf 62 ; olayout[4] ws
(035) ld       [48]                      ; quirk ts1-
(036) jeq      #0x0             jt 62	jf 37 ; quirk ts1-
(037) ld       [52]                      ; quirk ts2+
(038) jeq      #0x0             jt 39	jf 62 ; quirk ts2+
(039) ldb      [59]                      ; scale
(040) jeq      #0x6             jt 41	jf 62 ; scale
(041) ldh      [42]                      ; wsize: p0f needs mss >= 100
(042) jge      #0x64            jt 43	jf 62 ; wsize: p0f needs mss >= 100
(043) tax                                ; wsize
(044) ldh      [34]                      ; wsize
(045) mod      x                         ; wsize
(046) jeq      #0x0             jt 47	jf 50 ; wsize
(047) ldh      [34]                      ; wsize
(048) div      x                         ; wsize
(049) jeq      #0xa             jt 63	jf 62 ; wsize
(050) ldh      [42]                      ; wsize
(051) sub      #12                       ; wsize
(052) tax                                ; wsize
(053) ldh      [34]                      ; wsize
(054) mod      x                         ; wsize
(055) jeq      #0x0             jt 56	jf 59 ; wsize
(056) ldh      [34]                      ; wsize
(057) div      x                         ; wsize
(058) jeq      #0xa             jt 63	jf 62 ; wsize
(059) ldh      [34]                      ; wsize
(060) jeq      #0x3908          jt 63	jf 61 ; wsize
(061) jeq      #0x3890          jt 63	jf 62 ; wsize
(062) ret      #0                        ; reject
(063) ret      #262144                   ; accept
