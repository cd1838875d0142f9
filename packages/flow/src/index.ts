// Per-connection TCP state in shared typed arrays: flow table, endpoints, Zeek conn_state/history, flow records.
export {};
