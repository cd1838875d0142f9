// Deterministic, seeded TCP traffic generator writing pcap files with a realistic mix.
export {};
