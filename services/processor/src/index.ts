// Processor: Kafka to Piscina workers (flow state + classification) to ClickHouse; also `analyze` and `run`.

export { AlertForwarder, type AlertForwarderConfig, type AlertForwarderDeps } from './alert-forwarder.js';
export { type AlertLink, type AlertOutput, LocalAlerts } from './alerting.js';
export {
  type AnalyzeOptions,
  analyze,
  EXIT_FAILURE,
  EXIT_INPUT,
  EXIT_OK,
  EXIT_USAGE,
  errorChain,
  InputError,
} from './analyze.js';
export {
  ALERT_FORWARDER_DEFAULTS,
  CONSUMER_LOOP_DEFAULTS,
  DETECT_STAGE_DEFAULTS,
  ENGINE_POOL_DEFAULTS,
  UNIT_WRITER_DEFAULTS,
} from './config.js';
export { DetectStage, type DetectStageDeps, parseEvent } from './detect-stage.js';
export { ENTITY_KIND_HEADER, EventPublisher, eventMessages } from './event-publisher.js';
export {
  compareEvents,
  LocalPipeline,
  type LocalPipelineConfig,
  type LocalPipelineDeps,
} from './local.js';
export { ProcessorMetrics } from './metrics.js';
export { type EngineHandle, EnginePool, type EnginePoolConfig, type EnginePoolDeps } from './pool.js';
export {
  ConsumerLoop,
  type ConsumerLoopDeps,
  type ConsumerLoopTelemetry,
  sensorStatsRow,
} from './processor.js';
export {
  clickhouseFromConfig,
  deadLetterProducer,
  migrateFromConfig,
  type RunDetectOptions,
  type RunEmbeddedOptions,
  type RunProcessorOptions,
  runDetect,
  runEmbedded,
  runProcessor,
  StartupError,
} from './run.js';
export { CAUSE_EXPLANATIONS, Summary } from './summary.js';
export {
  type Unit,
  UnitWriter,
  type UnitWriterConfig,
  type UnitWriterDeps,
  type UnitWriterTelemetry,
} from './unit-writer.js';
