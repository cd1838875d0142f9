// Per-connection TCP state in shared typed arrays: flow table, endpoints, Zeek conn_state/history, flow records.
export { communityId } from './community-id.js';
export * from './conn-state.js';
export { HostTable, initialTtl } from './hosts.js';
export {
  COLD_BYTES,
  describeFlowLayout,
  type FieldInfo,
  FLOW_FIELDS,
  FLOW_SLACK,
  HOT_BYTES,
} from './layout.js';
export {
  buildFlowRecord,
  concatFlowRows,
  FLOW_ROW_BYTES,
  FlowRowReader,
  type FlowRows,
  FlowRowWriter,
  flowCommunityId,
  flowConnStateCode,
  flowUid,
} from './record.js';
export { formatTs } from './time.js';
export { TimeWaitMemory } from './timewait.js';
export * from './tracker.js';
