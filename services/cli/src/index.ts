// The rstwatch command line.
export {};
