// @rstwatch/sinks: alert formats (ECS JSON, CEF, RFC 5424) and delivery (Kafka, webhook, syslog, file).
export {};
