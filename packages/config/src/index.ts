// Configuration: YAML file + env overrides, validated with zod, documented from the schema.
export {};
