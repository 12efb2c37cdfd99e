// The contract's shapes (../shared/API.md), as the server sends them.

export type Role = 'requester' | 'designer' | 'admin';

export interface User {
  id: number;
  email: string;
  displayName: string;
  role: Role;
  disabled?: boolean;
}

export interface LoginResponse {
  token: string;
  expiresAt: string;
  user: User;
}

export type Weekday =
  | 'monday'
  | 'tuesday'
  | 'wednesday'
  | 'thursday'
  | 'friday'
  | 'saturday'
  | 'sunday';

export const WEEKDAYS: Weekday[] = [
  'sunday',
  'monday',
  'tuesday',
  'wednesday',
  'thursday',
  'friday',
  'saturday',
];

export interface Settings {
  dailyCapacity: number;
  limitedThresholdPercent: number;
  bookingWindowDays: number;
  closedWeekdays: Weekday[];
  timezone: string;
  today: string;
  minDate: string;
  maxDate: string;
  defaultDesignerId: number | null;
}

export type SettingsInput = Pick<
  Settings,
  | 'dailyCapacity'
  | 'limitedThresholdPercent'
  | 'bookingWindowDays'
  | 'closedWeekdays'
  | 'timezone'
  | 'defaultDesignerId'
>;

export type DayStatus = 'available' | 'limited' | 'full' | 'closed';

/** Why a day is closed (`null` unless `status` is `closed`). */
export type ClosedReason = 'past' | 'not_open_yet' | 'closed_weekday' | 'no_capacity';
export const CLOSED_REASONS: ClosedReason[] = ['past', 'not_open_yet', 'closed_weekday', 'no_capacity'];

export interface Day {
  date: string;
  capacity: number;
  used: number;
  /** Live holds on the day (0 from a server that predates holds). */
  held: number;
  remaining: number;
  percent: number;
  status: DayStatus;
  reason: ClosedReason | null;
  /** The override's note, if any. */
  note: string | null;
  version: number;
}

export interface Availability {
  version: number;
  days: Day[];
}

export interface CapacityChanges {
  version: number;
  resync: boolean;
  days: Day[];
}

/** The hub's `CapacityUpdated` argument: a Day plus when it happened. */
export interface CapacityUpdatedEvent extends Day {
  timestamp: string;
}

export interface CapacitySettingsChangedEvent {
  timestamp: string;
  version: number;
}

export type Priority = 'low' | 'normal' | 'high' | 'urgent';
export const PRIORITIES: Priority[] = ['low', 'normal', 'high', 'urgent'];

export type RequestStatus = 'pending' | 'in_progress' | 'completed' | 'rejected' | 'cancelled';
export const REQUEST_STATUSES: RequestStatus[] = [
  'pending',
  'in_progress',
  'completed',
  'rejected',
  'cancelled',
];

export interface WorkRequest {
  id: number;
  title: string;
  description: string | null;
  priority: Priority;
  dueDate: string;
  status: RequestStatus;
  requesterId: number;
  assigneeId: number | null;
  createdAt: string;
  updatedAt: string;
}

export interface RequestInput {
  title: string;
  description?: string;
  priority?: Priority;
  dueDate: string;
  /** A live hold of the caller on `dueDate`: the booking then cannot fail for capacity. */
  holdId?: number;
}

/** A slot kept for the caller while they fill in the form (`POST /api/holds`). */
export interface Hold {
  id: number;
  date: string;
  /** RFC 3339, by the database's clock. */
  expiresAt: string;
}

export interface Page<T> {
  items: T[];
  total: number;
  page: number;
  pageSize: number;
}

/** What a client needs to word a notification in its own language. */
export interface NotificationParams {
  title: string;
  dueDate: string;
  status?: RequestStatus;
  reason?: string;
}

export interface Notification {
  id: number;
  requestId: number | null;
  kind: 'NewRequest' | 'StatusChanged' | string;
  /** Absent from a server that predates it: the client then shows `message`. */
  params?: NotificationParams | null;
  message: string;
  read: boolean;
  createdAt: string;
}

export interface Inbox {
  items: Notification[];
  unreadCount: number;
}

export type ErrorCode =
  | 'bad_request'
  | 'validation_failed'
  | 'unauthorized'
  | 'forbidden'
  | 'not_found'
  | 'conflict'
  | 'capacity_full'
  | 'hold_expired'
  | 'date_closed'
  | 'date_out_of_window'
  | 'invalid_transition'
  | 'payload_too_large'
  | 'service_unavailable'
  | 'internal'
  | 'network';

export interface ErrorBody {
  error: ErrorCode;
  message: string;
  details?: Record<string, unknown>;
}
