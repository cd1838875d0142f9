// ClickHouse schema, migrations and batched writer over @clickhouse/client (server or embedded chdb).
export {
  type ClickHouseConfig,
  ClickHouseStoreError,
  createClickHouse,
  DEFAULT_DATABASE,
  defaultEmbeddedPath,
  ident,
  type StoreClient,
} from './client.js';
export { ROW_WRITER_DEFAULTS } from './config.js';
export {
  createTableDdl,
  createViewDdl,
  type MigrateOptions,
  type MigrateResult,
  migrate,
  planDdl,
  schemaVersion,
} from './migrate.js';
export {
  dataRange,
  getQuery,
  inWindow,
  type NamedQuery,
  QUERIES,
  type QueryParam,
  querySql,
  resolveParams,
  runQuery,
  WINDOW_END,
  WINDOW_START,
} from './queries.js';
export {
  ALERT_LINK_SELECT,
  ALERT_SELECT,
  type AlertRow,
  alertLinkToRow,
  alertToRow,
  EVENT_SELECT,
  eventToRow,
  FLOW_COLUMN_OF,
  FLOW_SELECT,
  flowToRow,
  rowToAlert,
} from './rows.js';
export {
  type AlertLink,
  type ColumnDef,
  type HeaderBatchRow,
  ipText,
  SCHEMA_VERSION,
  type SensorStatsRow,
  TABLE_NAMES,
  TABLES,
  type TableDef,
  type TableName,
  type TtlDays,
  VIEWS,
  type ViewDef,
} from './schema.js';
export {
  type AlertUnit,
  batchToken,
  insertAlerts,
  isPermanentError,
  RowWriter,
  type RowWriterConfig,
  type RowWriterDeps,
  type RowWriterTelemetry,
  type WriterStats,
  type WriteUnit,
} from './writer.js';
