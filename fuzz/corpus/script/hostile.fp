	[tcp:request]
label = s:unix:$(id)`x`"\:1
sig = *:64:0:*:mss*10,6:mss,sok,ts,nop,ws:df,id+:0
