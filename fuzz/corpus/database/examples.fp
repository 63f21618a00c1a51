; p0fbpf example signatures, in p0f.fp format.
;
; Signatures seen in SYN floods and scans, with the label p0f 3.09b gives
; them. Compile one with:  p0fbpf "$(grep -m1 '^sig' signatures/examples.fp | cut -d= -f2)"
; The test suite compiles every one of them (tests/kernel_test.cpp).

classes = win,unix,other

[tcp:request]

; The design-card example: Linux 3.11 and newer, window 10 x MSS, scale 6.
label = s:unix:Linux:3.11 and newer
sig   = 4:64:0:*:mss*10,6:mss,sok,ts,nop,ws:df,id+:0
sig   = *:64:0:*:mss*20,7:mss,sok,ts,nop,ws:df,id+:0

; Windows 7 or 8.
label = s:win:Windows:7 or 8
sig   = *:128:0:*:8192,8:mss,nop,ws,nop,nop,sok:df,id+:0

; NMap's SYN scan: random TTL, no DF, the ack+ quirk.
label = s:unix:NMap:SYN scan
sig   = *:64-:0:1460:1024,0:mss::0

; A stack with IP options and an EOL-padded option list (p0fbpf example).
label = s:other:Example:padded
sig   = 4:255:4:536:%512,0:mss,nop,eol+2:id-:0

[tcp:response]

label = s:unix:Linux:3.x
sig   = *:64:0:*:mss*10,4:mss,sok,ts,nop,ws:df:0
