// The contract's shapes, from the server's OpenAPI document: openapi.d.ts is
// generated from openapi.json (`npm run openapi:types`; a Vitest test fails
// when it is stale). Only what the document leaves looser than the contract
// is narrowed here: the error codes, and the two fields of
// a day that a client fills in itself (`toDay`).
import type { components } from './openapi';

type Schemas = components['schemas'];

/** Every member of the union `T` exactly once: the compiler checks the list against the document. */
function allOf<T extends string>() {
  return <const L extends readonly T[]>(list: L & ([T] extends [L[number]] ? unknown : never)): readonly T[] => list;
}

export type Role = Schemas['Role'];
export type User = Schemas['User'];
export type LoginResponse = Schemas['LoginResponse'];

/** Lower-case English weekday names. */
export type Weekday = Schemas['SettingsView']['closedWeekdays'][number];

export const WEEKDAYS: Weekday[] = [
  'sunday',
  'monday',
  'tuesday',
  'wednesday',
  'thursday',
  'friday',
  'saturday',
];

/** `GET /api/settings/public` (`SettingsView`). */
export type Settings = Schemas['SettingsView'];

/** `PUT /api/settings` (`SettingsBody`). */
export type SettingsInput = Schemas['SettingsBody'];

export type DayStatus = Schemas['DayStatus'];

/** Why a day is closed (`null` unless `status` is `closed`). */
export type ClosedReason = Schemas['ClosedReason'];
export const CLOSED_REASONS = allOf<ClosedReason>()(['past', 'not_open_yet', 'closed_weekday', 'no_capacity']);

/** A day as the server sends it. */
export type WireDay = Schemas['Day'];

/** A day as the client keeps it: `toDay` sets `reason` and `note` (and `held`) when a server leaves them out. */
export interface Day extends Omit<WireDay, 'reason' | 'note'> {
  reason: ClosedReason | null;
  /** The override's note, if any. */
  note: string | null;
}

/** `GET /api/availability` as sent. */
export type WireAvailability = Schemas['Availability'];
/** `GET /api/availability/changes` and the hub's `GetCapacityChangesSince`, as sent. */
export type WireChanges = Schemas['Changes'];

/** An availability range with its days as the client keeps them. */
export interface Availability extends Omit<WireAvailability, 'days'> {
  days: Day[];
}

export interface CapacityChanges extends Omit<WireChanges, 'days'> {
  days: Day[];
}

// ----- the hub's events (components of the same document) ---------------------

/** `CapacityUpdated`'s argument: a day plus when it happened. */
export type CapacityUpdatedEvent = Schemas['CapacityUpdated'];
/** `CapacitySettingsChanged`'s argument. */
export type CapacitySettingsChangedEvent = Schemas['CapacitySettingsChanged'];
/** `InboxUpdated`'s argument. */
export type InboxUpdatedEvent = Schemas['InboxUpdated'];
// `NotificationReceived`'s argument is a `Notification` (below).

export type Priority = Schemas['Priority'];
export const PRIORITIES = allOf<Priority>()(['low', 'normal', 'high', 'urgent']);

export type RequestStatus = Schemas['RequestStatus'];
export const REQUEST_STATUSES = allOf<RequestStatus>()(['pending', 'in_progress', 'completed', 'rejected', 'cancelled']);

/** The contract's `Request` (a name that does not shadow the DOM's). */
export type WorkRequest = Schemas['Request'];

/** `POST /api/requests` and `PUT /api/requests/{id}`. */
export type RequestInput = Schemas['RequestBody'];

/** A slot kept for the caller while they fill in the form (`POST /api/holds`). */
export type Hold = Schemas['Hold'];

/** One page of a listing. */
export interface Page<T> extends Omit<Schemas['RequestPage'], 'items'> {
  items: T[];
}

/** What a client needs to word a notification in its own language. */
export type NotificationParams = Schemas['NotificationParams'];
export type NotificationKind = Schemas['NotificationKind'];
export type Notification = Schemas['Notification'];
export type Inbox = Schemas['Inbox'];

/** The contract's error codes (the document lists them in prose), and the client's own `network`. */
export type ErrorCode =
  | 'bad_request'
  | 'validation_failed'
  | 'unauthorized'
  | 'forbidden'
  | 'not_found'
  | 'method_not_allowed'
  | 'conflict'
  | 'capacity_full'
  | 'hold_expired'
  | 'date_closed'
  | 'date_out_of_window'
  | 'invalid_transition'
  | 'payload_too_large'
  | 'rate_limited'
  | 'service_unavailable'
  | 'internal'
  | 'network';

export interface ErrorBody extends Omit<Schemas['ErrorBody'], 'error' | 'details'> {
  error: ErrorCode;
  /** Machine-readable context, e.g. `{"field": "dueDate"}`. */
  details?: Record<string, unknown> | null;
}
