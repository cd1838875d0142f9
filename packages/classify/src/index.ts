// RST classification: cause, origin, phase, confidence, evidence and tampering signature.
export {};
