export * from './columns.js';
export * from './component.js';
export * from './flowkey.js';
export * from './ip.js';
export * from './taxonomy.js';
