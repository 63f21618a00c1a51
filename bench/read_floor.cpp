// The floor for any tool that reads a capture: libpcap's pcap_next_ex over
// every packet, touching each packet's first byte, and nothing else.
//
//   build/bench/read_floor FILE   (prints the packet count)
#include <cstdio>

#include <pcap/pcap.h>

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: read_floor FILE\n");
    return 2;
  }
  char error[PCAP_ERRBUF_SIZE];
  pcap_t* capture = pcap_open_offline(argv[1], error);
  if (!capture) {
    std::fprintf(stderr, "read_floor: %s\n", error);
    return 2;
  }
  pcap_pkthdr* header;
  const u_char* data;
  unsigned long packets = 0, sum = 0;
  int status;
  while ((status = pcap_next_ex(capture, &header, &data)) == 1) {
    ++packets;
    if (header->caplen > 0) sum += data[0];
  }
  pcap_close(capture);
  if (status != PCAP_ERROR_BREAK) {
    std::fprintf(stderr, "read_floor: read error\n");
    return 2;
  }
  // The sum keeps the reads from being optimised away.
  return std::printf("%lu packets (%lu)\n", packets, sum) > 0 ? 0 : 2;
}
