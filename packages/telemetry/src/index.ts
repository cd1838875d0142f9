// Structured JSON logs (pino), Prometheus metrics (prom-client), health endpoints.
export {};
