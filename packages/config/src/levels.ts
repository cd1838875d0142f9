/** Log levels, in a module of their own so the CLI can offer them without loading the whole schema. */
export const LOG_LEVELS = ['trace', 'debug', 'info', 'warn', 'error'] as const;
