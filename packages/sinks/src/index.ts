// @rstwatch/sinks: alert formats (ECS JSON, CEF, RFC 5424) and delivery (Kafka, webhook, syslog, file).

export { type AlertSinksConfig, type AlertSinksDeps, DELIVERY_DEFAULTS, sinksFromConfig } from './config.js';
export {
  type BackoffOptions,
  backoffDelay,
  Delivery,
  type DeliveryConfig,
  type DeliveryDeps,
  type DeliveryLog,
  type DeliverySinkOptions,
  type DeliveryTelemetry,
  type SinkStats,
} from './delivery.js';
export { CEF_SEVERITY, cefHeader, cefValue, PRODUCT_VERSION, toCef } from './format/cef.js';
export {
  ECS_FIELDS,
  ECS_VERSION,
  type EcsField,
  type EcsOptions,
  entityHost,
  fromEcs,
  RULE_DESCRIPTIONS,
  toEcs,
} from './format/ecs.js';
export { type Rfc5424Options, rfc5424, SD_ID, SYSLOG_SEVERITY, sdParam } from './format/rfc5424.js';
export type { UndeliveredReason, UndeliveredRecord } from './internal/undelivered.js';
export { type AlertSink, errorText, SinkError } from './sink.js';
export { FileSink, type FileSinkOptions } from './sinks/file.js';
export { ALERT_VERSION_HEADER, KafkaAlertSink, type KafkaAlertSinkOptions } from './sinks/kafka.js';
export {
  octetFrame,
  parseSyslogUrl,
  SyslogSink,
  type SyslogSinkOptions,
  type SyslogTarget,
} from './sinks/syslog.js';
export {
  SIGNATURE_HEADER,
  signBody,
  verifySignature,
  WebhookSink,
  type WebhookSinkOptions,
} from './sinks/webhook.js';
