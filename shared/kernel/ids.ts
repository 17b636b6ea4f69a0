/**
 * The shapes of the identifiers every layer checks (alert parsers, settings, the MDE client, the
 * policy schema). Written without flags, hex digits in both cases, so that a JSON Schema `pattern`
 * (which has no flags) can be built from `.source` and accept exactly what the code accepts.
 */

/** An MDE machine id: 40 hex characters (docs/mde-api.md). A file SHA1 has the same shape. */
export const MDE_DEVICE_ID = /^[0-9a-fA-F]{40}$/;

/** A GUID: a MachineAction id, an Entra device id, a managed identity's client id. */
export const GUID = /^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/;
