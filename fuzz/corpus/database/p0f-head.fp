
classes = win,unix,other


[mtu]


label = Ethernet or modem
sig   = 576
sig   = 1500


label = DSL
sig   = 1452
sig   = 1454
sig   = 1492


label = GIF
sig   = 1240
sig   = 1280

label = generic tunnel or VPN
sig   = 1300
sig   = 1400
sig   = 1420
sig   = 1440
sig   = 1450
sig   = 1460

label = IPSec or GRE
sig   = 1476

label = IPIP or SIT
sig   = 1480

label = PPTP
sig   = 1490


label = AX.25 radio modem
