/**
 * Which reservation the MDE calls of the running request spend. The worker and the tracker run a
 * request's MDE work inside `withReservation`; the throttle's scheduling hook, which the MDE client
 * calls once per HTTP request, spends the reservation found here, and outside any (a CLI lookup) waits
 * for a free slot instead.
 *
 * The reservation travels with the async context rather than as an argument because the calls are
 * made several layers down (the resolver's lookups, the check for actions under way, the POST), all
 * through the MdeApi interface; each `withReservation` call site says which calls spend it.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import type { Reservation } from './reservation';

const current = new AsyncLocalStorage<Reservation>();

/** Runs `work` so that every MDE call it makes, however deep, spends `reservation`. */
export function withReservation<T>(reservation: Reservation, work: () => Promise<T>): Promise<T> {
  return current.run(reservation, work);
}

/** The reservation of the request whose work is running, if any. */
export function currentReservation(): Reservation | undefined {
  return current.getStore();
}
