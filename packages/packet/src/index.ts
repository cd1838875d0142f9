// Packet parsing: streaming pcap/pcapng readers, link layers, tunnels, IPv4/IPv6/TCP headers into HeaderColumns.
export {};
