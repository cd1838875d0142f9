/**
 * Deterministic, seeded TCP traffic generator writing pcap files with a realistic mix: thousands of
 * interleaved connections, handshakes, bulk transfers with loss and retransmission, FIN closes, and RST
 * closes of every cause in the rstwatch taxonomy, over IPv4/IPv6 with optional 802.1Q tags.
 */
export { generateTrace, type TraceOptions, type TraceSummary } from './internal/generate.js';
export { isMixName, MIX_NAMES, type MixName } from './internal/mix.js';
