/**
 * A test's trust in the loopback servers' certificate (loopback-authority.ts), as NODE_EXTRA_CA_CERTS
 * would give it the whole process (Node reads that only at start, and jest's process.env is not the
 * process's). A jest mock, so `jest.restoreAllMocks()` ends it and no other test file inherits it.
 */
import tls from 'node:tls';
import { trustingLoopback } from './loopback-authority';

export function trustLoopback(certificate: Buffer): void {
  const trusting = trustingLoopback(tls.connect, certificate);
  jest.spyOn(tls, 'connect').mockImplementation(trusting);
}
