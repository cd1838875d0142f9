/**
 * Zeek's endpoint states and `conn_state` as a pure function of the two endpoints and the history
 * (scripts/base/protocols/conn/main.zeek, `conn_state`). A responder RST wins over an originator RST.
 */
import { CONN_STATES, type ConnState } from '@rstwatch/core';

/** TCP endpoint states, same numbering as Zeek's `TCP_ENDPOINT_*`. */
export const EP_INACTIVE = 0;
export const EP_SYN_SENT = 1;
export const EP_SYN_ACK_SENT = 2;
export const EP_PARTIAL = 3;
export const EP_ESTABLISHED = 4;
export const EP_CLOSED = 5;
export const EP_RESET = 6;

/** Index of each conn_state in CONN_STATES (core) order. */
export const CS_S0 = 0;
export const CS_S1 = 1;
export const CS_SF = 2;
export const CS_REJ = 3;
export const CS_S2 = 4;
export const CS_S3 = 5;
export const CS_RSTO = 6;
export const CS_RSTR = 7;
export const CS_RSTOS0 = 8;
export const CS_RSTRH = 9;
export const CS_SH = 10;
export const CS_SHR = 11;
export const CS_OTH = 12;

const RSTOS0_HISTORY = /^\^?S[^HAFGIQ]*R.*$/;

/**
 * conn_state from the originator's and responder's endpoint states, their sizes (payload bytes from
 * sequence numbers) and the history string. Returns an index into CONN_STATES.
 */
export function connStateCode(
  os: number,
  rs: number,
  origSize: number,
  respSize: number,
  history: string,
): number {
  const oInactive = os === EP_INACTIVE || os === EP_PARTIAL;
  const rInactive = rs === EP_INACTIVE || rs === EP_PARTIAL;
  if (rs === EP_RESET) {
    if (os === EP_SYN_SENT || os === EP_SYN_ACK_SENT || (os === EP_RESET && origSize === 0 && respSize === 0))
      return CS_REJ;
    return oInactive ? CS_RSTRH : CS_RSTR;
  }
  if (os === EP_RESET) {
    if (rInactive) return RSTOS0_HISTORY.test(history) ? CS_RSTOS0 : CS_OTH;
    return CS_RSTO;
  }
  if (rs === EP_CLOSED && os === EP_CLOSED) return CS_SF;
  if (os === EP_CLOSED) return rInactive ? CS_SH : CS_S2;
  if (rs === EP_CLOSED) return oInactive ? CS_SHR : CS_S3;
  if (os === EP_SYN_SENT && rs === EP_INACTIVE) return CS_S0;
  if (os === EP_ESTABLISHED && rs === EP_ESTABLISHED) return CS_S1;
  return CS_OTH;
}

/** conn_state string (see {@link connStateCode}). */
export function connState(
  os: number,
  rs: number,
  origSize: number,
  respSize: number,
  history: string,
): ConnState {
  return CONN_STATE_NAMES[connStateCode(os, rs, origSize, respSize, history)]!;
}

/** Names by code: the contract's order (`CONN_STATES` of @rstwatch/core), so codes index it directly. */
export const CONN_STATE_NAMES: readonly ConnState[] = CONN_STATES;
