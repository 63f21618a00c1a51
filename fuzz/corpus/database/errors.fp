[tcp:request]
label = s:unix:X:1
sig = 4:64+?:0:*:*,*:::0
[mtu]
label = y
sig = 1500
